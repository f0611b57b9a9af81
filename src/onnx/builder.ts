/**
 * Building models in code — for build pipelines that make a graph without writing ONNX first, and for
 * fixtures, training graphs and tests: a thin layer over the IR constructors. The built Model goes through
 * convert / run / diff / saveModel like a loaded one.
 *   const b = new ModelBuilder({ opset: 17 });
 *   const x = b.input('x', DataType.FLOAT, ['N', 4]);
 *   const w = b.init('w', DataType.FLOAT, [4, 3], new Float32Array(12));
 *   const y = b.node('MatMul', [x, w])[0];
 *   b.output(y, DataType.FLOAT, ['N', 3]);
 *   const model = b.build();
 */
import { Graph, Model, Node, type Dim } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';
import { T, make, type AttributeProto, type ModelProto, type TensorProto } from './proto/proto.js';
import type { TypedArray } from '../core/dtype.js';
import { tensorToProto } from './export.js';
import { validateGraph } from './import.js';

/** An attribute value: integers → INT(S), other numbers or {float} → FLOAT(S), strings, a Tensor, a Graph (subgraph). */
export type AttrValue =
  number | number[] | string | string[] | Tensor | Graph | { float: number } | { floats: number[] };

const enc = new TextEncoder();
/** An AttributeProto from a JS value: integers → INT(S), non-integers or {float} → FLOAT(S), Tensor → TENSOR. */
export function makeAttr(name: string, v: AttrValue): AttributeProto {
  if (v instanceof Tensor) return make(T.Attribute, { name, type: 4, t: tensorToProto(v) as TensorProto });
  if (v instanceof Graph) return make(T.Attribute, { name, type: 5 }); // g is filled from node.subgraphs on export
  if (typeof v === 'string') return make(T.Attribute, { name, type: 3, s: enc.encode(v) });
  if (typeof v === 'number')
    return Number.isInteger(v)
      ? make(T.Attribute, { name, type: 2, i: v })
      : make(T.Attribute, { name, type: 1, f: v });
  if (Array.isArray(v)) {
    if (v.length && typeof v[0] === 'string')
      return make(T.Attribute, { name, type: 8, strings: (v as string[]).map((s) => enc.encode(s)) });
    const nums = v as number[];
    return nums.every(Number.isInteger)
      ? make(T.Attribute, { name, type: 7, ints: nums })
      : make(T.Attribute, { name, type: 6, floats: nums });
  }
  if ('float' in v) return make(T.Attribute, { name, type: 1, f: v.float });
  return make(T.Attribute, { name, type: 6, floats: v.floats });
}

/** Builds one graph: inputs, initializers, nodes and outputs (names are ONNX value names). */
export class GraphBuilder {
  readonly graph: Graph;
  private counter = 0;
  constructor(name = 'main', parent?: Graph) {
    this.graph = new Graph(name);
    this.graph.parent = parent;
  }
  /** A fresh value name with a prefix (subgraph names carry the graph's name: names are global in ONNX). */
  fresh(prefix = 't'): string {
    const scope = this.graph.parent ? `${this.graph.name}.` : '';
    let n: string;
    do n = `${scope}${prefix}_${this.counter++}`;
    while (this.graph.lookup(n) || this.graph.values.has(n));
    return n;
  }
  /** Declares a graph input of an element type (DataType) and shape (numbers, symbolic names, null); returns its name. */
  input(name: string, elemType: number, shape?: Dim[]): string {
    this.graph.inputs.push(name);
    this.graph.value(name).type = { elemType, shape };
    return name;
  }
  /** Adds an initializer (fp16/bf16 data as uint16 bits); returns its name. */
  init(name: string, dataType: number, dims: number[], data: TypedArray): string {
    const t = Tensor.fromArray(name, dataType, dims, data);
    this.graph.initializers.set(name, t);
    this.graph.value(name).type = { elemType: dataType, shape: [...dims] };
    return name;
  }
  /** Adds a node; returns its output names (fresh unless given). */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    opts: { outputs?: string[] | number; name?: string; domain?: string } = {},
  ): string[] {
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(opType.toLowerCase()));
    for (const o of outs) this.graph.value(o);
    const n = new Node(
      opType,
      inputs,
      outs,
      this.graph,
      opts.name ?? '',
      opts.domain ?? '',
      Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
    );
    for (const [k, v] of Object.entries(attrs))
      if (v instanceof Graph) {
        v.parent = this.graph;
        v.owner = n;
        n.subgraphs.set(k, [v]);
      }
    this.graph.nodes.push(n);
    return outs;
  }
  /** Declares a graph output (a value some node writes), optionally with its type. */
  output(name: string, elemType?: number, shape?: Dim[]): void {
    this.graph.outputs.push(name);
    if (elemType !== undefined) this.graph.value(name).type = { elemType, shape };
  }
}

/** Builds a model: the main graph plus the opset imports and IR version (defaults: opset 17, IR 8). */
export class ModelBuilder extends GraphBuilder {
  constructor(
    private opts: { opset?: number; irVersion?: number; producer?: string; extraOpsets?: Record<string, number> } = {},
  ) {
    super('main');
  }
  /** The model, checked as a loaded one would be (one source per value, defined reads, no cycles) and sorted. */
  build(): Model {
    const opsetImport = [
      make(T.OperatorSetId, { domain: '', version: this.opts.opset ?? 17 }),
      ...Object.entries(this.opts.extraOpsets ?? {}).map(([domain, version]) =>
        make(T.OperatorSetId, { domain, version }),
      ),
    ];
    const proto: ModelProto = make(T.Model, {
      irVersion: this.opts.irVersion ?? 8,
      producerName: this.opts.producer ?? 'amp-convert',
      opsetImport,
    });
    this.graph.reindex();
    validateGraph(this.graph);
    return new Model(proto, this.graph);
  }
}
