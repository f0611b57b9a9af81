/**
 * The internal representation every pass and runtime shares: Model → Graph → Node / Value / Tensor.
 *
 * Fidelity: each IR object remembers the proto it came from; export (src/onnx/export.ts) reuses those
 * protos and only rewrites what the IR changed, so a model that passes through the IR untouched encodes
 * to the same bytes. Indexes (producer / consumers) are derived: call `graph.reindex()` after edits.
 */
import type {
  AttributeProto,
  GraphProto,
  ModelProto,
  NodeProto,
  TypeProto,
  ValueInfoProto,
} from '../onnx/proto/proto.js';
import { toNum } from '../onnx/proto/proto.js';
import { AmpError, InvalidModelError } from '../core/errors.js';
import type { Tensor } from './tensor.js';

/** A dimension: a size, a symbolic name, or unknown (null). */
export type Dim = number | string | null;
/** Element type (ONNX DataType code) and shape (numbers, symbolic names, or null for unknown). */
export interface TensorType {
  elemType: number;
  shape?: Dim[];
}

/** A named value of a graph: its type, its producer and its consumers. */
export class Value {
  /** Element type and shape when the value is a tensor and they are known (declared or inferred). */
  type?: TensorType;
  /** Full declared type when it is not a plain tensor (sequence, optional, map...). */
  typeProto?: TypeProto;
  /** The ValueInfoProto this value was declared with (graph input/output/value_info), if any. */
  declared?: ValueInfoProto;
  producer?: Node;
  consumers: Node[] = [];
  constructor(
    public name: string,
    public graph: Graph,
  ) {}
  get initializer(): Tensor | undefined {
    return this.graph.initializers.get(this.name);
  }
  get isGraphInput(): boolean {
    return this.graph.inputs.includes(this.name);
  }
  get isGraphOutput(): boolean {
    return this.graph.outputs.includes(this.name);
  }
}

/** AttributeProto.AttributeType names, for messages. */
const ATTR_TYPE_NAMES: Record<number, string> = {
  1: 'FLOAT',
  2: 'INT',
  3: 'STRING',
  4: 'TENSOR',
  5: 'GRAPH',
  6: 'FLOATS',
  7: 'INTS',
  8: 'STRINGS',
  9: 'TENSORS',
  10: 'GRAPHS',
  11: 'SPARSE_TENSOR',
  12: 'SPARSE_TENSORS',
  13: 'TYPE_PROTO',
  14: 'TYPE_PROTOS',
};

/** Registry key of an op: `type` in the default domain ('' or 'ai.onnx'), `domain.type` in any other. */
export const opKey = (opType: string, domain = ''): string =>
  domain && domain !== 'ai.onnx' ? `${domain}.${opType}` : opType;
/** A registry's own entry for a key (never an Object.prototype member: op types come from model files). */
export const lookupOwn = <T>(table: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;

/** An operator instance: op type, inputs/outputs by value name, attributes and subgraphs. */
export class Node {
  /** Subgraph-valued attributes (If then/else, Loop/Scan body), by attribute name. */
  subgraphs = new Map<string, Graph[]>();
  constructor(
    public opType: string,
    public inputs: string[],
    public outputs: string[],
    public graph: Graph,
    public name = '',
    public domain = '',
    public attributes: AttributeProto[] = [],
    public proto?: NodeProto,
  ) {}

  /**
   * A label for messages and for addressing unnamed nodes (keepFp32): the name, else op type and first output
   * (output names are unique in a graph, and stay put when other nodes are inserted), else the position.
   */
  get label(): string {
    return (
      this.name ||
      (this.outputs[0] ? `${this.opType}(${this.outputs[0]})` : `${this.opType}#${this.graph.nodes.indexOf(this)}`)
    );
  }
  /** The op's registry key: its type in the default domain, `domain.type` in any other (`com.microsoft.Attention`). */
  get key(): string {
    return opKey(this.opType, this.domain);
  }
  attr(name: string): AttributeProto | undefined {
    return this.attributes.find((a) => a.name === name);
  }
  /**
   * The attribute `name` when it has one of the `types` (AttributeProto.type; an untyped one from an old producer
   * passes), else InvalidModelError naming the node — as onnxruntime refuses the model, a kernel never falls back
   * to a default for it (Softmax axis as FLOAT, Transpose perm as STRING, Gemm alpha as a GRAPH).
   */
  private typed(name: string, ...types: number[]): AttributeProto | undefined {
    const a = this.attr(name);
    if (a && a.type && !types.includes(a.type)) {
      throw new InvalidModelError(
        `node '${this.label}' (${this.opType}): attribute '${name}' is ${ATTR_TYPE_NAMES[a.type] ?? `type ${a.type}`}, expected ${types.map((t) => ATTR_TYPE_NAMES[t]).join(' or ')}`,
      );
    }
    return a;
  }
  attrInt(name: string, dflt: number): number {
    const a = this.typed(name, 2);
    return a && a.i != null ? this.int(name, a.i) : dflt;
  }
  /** An int64 attribute value as a number; beyond 2^53 it is bad input naming the node. */
  private int(name: string, v: Parameters<typeof toNum>[0]): number {
    try {
      return toNum(v);
    } catch {
      throw new AmpError(`node '${this.label}' attribute '${name}' is beyond 2^53 (${String(v)})`);
    }
  }
  attrFloat(name: string, dflt: number): number {
    const a = this.typed(name, 1);
    return a && a.f != null ? a.f : dflt;
  }
  attrInts(name: string): number[] | undefined {
    const a = this.typed(name, 7);
    return a ? (a.ints ?? []).map((v) => this.int(name, v)) : undefined;
  }
  attrFloats(name: string): number[] | undefined {
    const a = this.typed(name, 6);
    return a ? [...(a.floats ?? [])] : undefined;
  }
  attrString(name: string, dflt: string): string {
    const a = this.typed(name, 3);
    // protobufjs leaves `s` an empty array on attributes of other types: only bytes decode.
    return a && a.s instanceof Uint8Array ? new TextDecoder().decode(a.s) : dflt;
  }
  /** Sets (or replaces) an attribute, keeping the others' order. */
  setAttr(a: AttributeProto): void {
    const i = this.attributes.findIndex((x) => x.name === a.name);
    if (i >= 0) this.attributes[i] = a;
    else this.attributes.push(a);
  }
  /** Values this node's subgraphs read from enclosing scopes (implicit inputs). */
  outerInputs(): string[] {
    const out = new Set<string>();
    for (const gs of this.subgraphs.values()) for (const g of gs) for (const n of g.freeNames()) out.add(n);
    return [...out];
  }
  /** All names this node reads: explicit inputs (non-empty) and implicit outer-scope ones. */
  reads(): string[] {
    const r = this.inputs.filter((x) => x !== '');
    return this.subgraphs.size ? [...new Set([...r, ...this.outerInputs()])] : r;
  }
}

/**
 * A graph of the IR: nodes in topological order, values, initializers, inputs and outputs; subgraphs have a
 * parent.
 */
export class Graph {
  nodes: Node[] = [];
  /** Graph input / output names, in declaration order. */
  inputs: string[] = [];
  outputs: string[] = [];
  /** Initializers in file order. */
  initializers = new Map<string, Tensor>();
  /** Names that had (or should get) a value_info entry, in order. */
  valueInfo: string[] = [];
  values = new Map<string, Value>();
  /** Enclosing graph and the node owning this subgraph. */
  parent?: Graph;
  owner?: Node;
  proto?: GraphProto;
  /** The file's node order when it was not topological (the IR keeps nodes sorted); export restores it while the node set is unchanged. */
  storedOrder?: Node[];
  constructor(public name = '') {}

  /** The value for a name in this scope, creating it if needed. */
  value(name: string): Value {
    let v = this.values.get(name);
    if (!v) this.values.set(name, (v = new Value(name, this)));
    return v;
  }
  /** Resolves a name through enclosing scopes (outer-scope references of subgraphs). */
  lookup(name: string): Value | undefined {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- walks up the scope chain from this graph
    for (let g: Graph | undefined = this; g; g = g.parent) {
      const v = g.values.get(name);
      if (v && (v.producer || g.inputs.includes(name) || g.initializers.has(name))) return v;
    }
    return undefined;
  }
  /** Names defined in this graph (inputs, initializers, node outputs). */
  defined(): Set<string> {
    const s = new Set<string>([...this.inputs, ...this.initializers.keys()]);
    for (const n of this.nodes) for (const o of n.outputs) if (o) s.add(o);
    return s;
  }
  /** Names read in this graph or its subgraphs but not defined in it: its outer-scope references. */
  freeNames(): string[] {
    const def = this.defined();
    const free = new Set<string>();
    for (const n of this.nodes) for (const r of n.reads()) if (!def.has(r)) free.add(r);
    for (const o of this.outputs) if (!def.has(o)) free.add(o);
    return [...free];
  }
  /** Recomputes producer/consumer indexes from the node list (subgraphs too). */
  reindex(): void {
    for (const v of this.values.values()) {
      v.producer = undefined;
      v.consumers = [];
    }
    for (const n of this.nodes) {
      n.graph = this;
      for (const o of n.outputs) if (o) this.value(o).producer = n;
      for (const i of n.reads()) (this.lookup(i) ?? this.value(i)).consumers.push(n);
      for (const gs of n.subgraphs.values())
        for (const g of gs) {
          g.parent = this;
          g.owner = n;
          g.reindex();
        }
    }
  }
  /** This graph and all nested subgraphs, depth first. */
  *allGraphs(): Generator<Graph> {
    yield this;
    for (const n of this.nodes) for (const gs of n.subgraphs.values()) for (const g of gs) yield* g.allGraphs();
  }
  /** Every node of this graph and its subgraphs. */
  *allNodes(): Generator<Node> {
    for (const g of this.allGraphs()) yield* g.nodes;
  }
}

/** A loaded or built ONNX model: the top-level proto fields and the main graph in the IR. */
export class Model {
  /** Top-level proto fields (graph excluded; it is rebuilt from `graph` on export). */
  proto: ModelProto;
  /** Directory external data locations are relative to (the model file's directory). */
  baseDir?: string;
  /** The file it was loaded from, for messages about it. */
  file?: string;
  constructor(
    proto: ModelProto,
    public graph: Graph,
  ) {
    this.proto = proto;
  }
  get irVersion(): number {
    return toNum(this.proto.irVersion);
  }
  /** Opset version imported for a domain ('' and 'ai.onnx' are the default domain). */
  opset(domain = ''): number | undefined {
    const d = domain === 'ai.onnx' ? '' : domain;
    const e = (this.proto.opsetImport ?? []).find(
      (o) => ((o.domain ?? '') === 'ai.onnx' ? '' : (o.domain ?? '')) === d,
    );
    return e ? toNum(e.version) : undefined;
  }
}
