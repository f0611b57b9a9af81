/** Appends nodes, constants, inputs and outputs to a graph under fresh names: what autodiff and the step graph write with. */
import type { Graph } from '../../src/ir/graph.js';
import { Node } from '../../src/ir/graph.js';
import { makeAttr, type AttrValue } from '../../src/onnx/builder.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DataType } from '../../src/core/dtype.js';

export class GraphWriter {
  private counter = 0;
  /** `prefix`: put before every fresh name (the step graph's `opt/`, which keeps its nodes fp32 by name). */
  constructor(
    readonly g: Graph,
    private readonly prefix = '',
  ) {}
  /** `${prefix}${p}_${k}` for the first k (counting across calls) that names no value yet. */
  fresh(p: string): string {
    let n;
    do n = `${this.prefix}${p}_${this.counter++}`;
    while (this.g.values.has(n));
    return n;
  }
  /** A node at the end of the graph. */
  node(op: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, AttrValue> = {}): void {
    const attributes = Object.entries(attrs).map(([k, v]) => makeAttr(k, v));
    this.g.nodes.push(new Node(op, inputs, outputs, this.g, name, '', attributes));
  }
  /** A float initializer (a scalar unless `dims` say otherwise). */
  constant(v: number, data = Float32Array.from([v]), dims: number[] = []): string {
    const n = this.fresh('c');
    this.g.initializers.set(n, Tensor.fromArray(n, DataType.FLOAT, dims, data));
    this.g.value(n).type = { elemType: DataType.FLOAT, shape: dims };
    return n;
  }
  /** An int64 vector initializer (axes, shapes). */
  ints(v: number[]): string {
    const n = this.fresh('axes');
    this.g.initializers.set(n, Tensor.fromArray(n, DataType.INT64, [v.length], BigInt64Array.from(v.map(BigInt))));
    this.g.value(n).type = { elemType: DataType.INT64, shape: [v.length] };
    return n;
  }
  input(name: string, shape: (number | string)[], elemType: number = DataType.FLOAT): string {
    this.g.inputs.push(name);
    this.g.value(name).type = { elemType, shape };
    return name;
  }
  output(name: string, shape: number[] | undefined, elemType: number = DataType.FLOAT): void {
    this.g.outputs.push(name);
    this.g.value(name).type = { elemType, shape };
  }
}
