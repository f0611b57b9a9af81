/**
 * IR → ModelProto. Reuses the protos the IR was read from and rewrites only what changed, so an
 * untouched model re-encodes to its original bytes. Tensor payloads are not copied here: the writer
 * (write.ts) streams them, and `tensorOf` lets it find the IR tensor behind each TensorProto.
 */
import {
  T,
  UNKNOWN,
  make,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type TypeProto,
  type ValueInfoProto,
} from './proto/proto.js';
import type { Graph, Model, Node, TensorType, Value } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import { tensorTypeOf } from './import.js';

/** The IR tensor each exported TensorProto stands for (so the writer can read payloads lazily). */
export const tensorOf = new WeakMap<TensorProto, Tensor>();

/** Shallow copy of a protobufjs message keeping its own-property set (= field presence) and unknowns. */
export function cloneMessage<M extends object>(m: M): M {
  const c = Object.assign(Object.create(Object.getPrototypeOf(m)), m) as M;
  const unk = (m as Record<string, unknown>)[UNKNOWN];
  if (unk) Object.defineProperty(c, UNKNOWN, { value: unk, enumerable: false, writable: true, configurable: true });
  return c;
}
/** Sets a field only when it differs from what the message already reads (keeps presence of defaults). */
function setField<M extends object, K extends keyof M>(m: M, k: K, v: M[K]): void {
  if (m[k] !== v) m[k] = v;
}

const TENSOR_DATA_FIELDS = [
  'floatData',
  'int32Data',
  'stringData',
  'int64Data',
  'doubleData',
  'uint64Data',
  'rawData',
  'externalData',
  'dataLocation',
  'segment',
] as const;

/** A TensorProto for a tensor; the unchanged original when possible. Payload goes in rawData. */
export function tensorToProto(t: Tensor): TensorProto {
  if (t.proto && !t.modified && t.name === (t.proto.name ?? '')) {
    tensorOf.set(t.proto, t);
    return t.proto;
  }
  const p: TensorProto = t.proto ? cloneMessage(t.proto) : make(T.Tensor, {});
  for (const k of TENSOR_DATA_FIELDS) delete (p as Record<string, unknown>)[k];
  p.dims = [...t.dims];
  p.dataType = t.dataType;
  if (t.name || p.name) p.name = t.name;
  if (t.strings) p.stringData = t.strings;
  else if (t.external && !t.modified) {
    p.dataLocation = 1;
    p.externalData = t.proto?.externalData ?? [];
  } else if (!(t.derived && !t.loaded)) p.rawData = t.raw();
  // (A derived payload not computed yet is left to the writer, which streams it: src/onnx/io.ts.)
  tensorOf.set(p, t);
  return p;
}

const sameType = (a: TensorType | undefined, b: TensorType | undefined): boolean =>
  !!a && !!b && a.elemType === b.elemType && JSON.stringify(a.shape ?? null) === JSON.stringify(b.shape ?? null);

export function typeProtoOf(t: TensorType): TypeProto {
  const tensorType: Record<string, unknown> = { elemType: t.elemType };
  if (t.shape) {
    tensorType.shape = {
      dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
    };
  }
  return make(T.Type, { tensorType }) as TypeProto;
}

function valueInfoToProto(v: Value | undefined, name: string): ValueInfoProto {
  const decl = v?.declared;
  if (decl && (!v?.type || sameType(v.type, tensorTypeOf(decl.type)))) return decl;
  const p: ValueInfoProto = decl ? cloneMessage(decl) : make(T.ValueInfo, { name });
  p.name = name;
  if (v?.type) p.type = typeProtoOf(v.type);
  else if (v?.typeProto) p.type = v.typeProto;
  return p;
}

function attributeToProto(n: Node, a: AttributeProto): AttributeProto {
  const gs = n.subgraphs.get(a.name ?? '');
  if (!gs) return a;
  const c = cloneMessage(a);
  if (a.type === 5) c.g = graphToProto(gs[0]);
  else c.graphs = gs.map(graphToProto);
  return c;
}

export function nodeToProto(n: Node): NodeProto {
  const p: NodeProto = n.proto ? cloneMessage(n.proto) : make(T.Node, {});
  p.input = n.inputs;
  p.output = n.outputs;
  setField(p, 'opType', n.opType);
  if (n.name || p.name) setField(p, 'name', n.name);
  if (n.domain || p.domain) setField(p, 'domain', n.domain);
  p.attribute = n.attributes.map((a) => attributeToProto(n, a));
  return p;
}

export function graphToProto(g: Graph): GraphProto {
  const p: GraphProto = g.proto ? cloneMessage(g.proto) : make(T.Graph, {});
  if (g.name || p.name) setField(p, 'name', g.name);
  // A graph stored out of topological order is written back in its stored order while no pass changed its node set.
  const same =
    g.storedOrder?.length === g.nodes.length && ((s) => g.nodes.every((n) => s.has(n)))(new Set(g.storedOrder));
  const stored = same ? g.storedOrder! : g.nodes;
  p.node = stored.map(nodeToProto);
  p.initializer = [...g.initializers.values()].map(tensorToProto);
  p.input = g.inputs.map((n) => valueInfoToProto(g.values.get(n), n));
  p.output = g.outputs.map((n) => valueInfoToProto(g.values.get(n), n));
  p.valueInfo = g.valueInfo.filter((n) => g.values.has(n)).map((n) => valueInfoToProto(g.values.get(n), n));
  return p;
}

export function modelToProto(m: Model): ModelProto {
  const p = cloneMessage(m.proto);
  p.graph = graphToProto(m.graph);
  return p;
}
