/** ModelProto → IR. Types come from declarations here; inference (src/ir/infer.ts) fills the rest. */
import { isAbsolute, resolve, sep, relative } from 'node:path';
import { realpathSync, existsSync, statSync } from 'node:fs';
import { Graph, Model, Node, type TensorType, type Dim } from '../ir/graph.js';
import { Tensor, checkTensorProto, type ExternalRef } from '../ir/tensor.js';
import {
  toNum,
  type GraphProto,
  type ModelProto,
  type TensorProto,
  type TypeProto,
  type ValueInfoProto,
  type Long,
} from './proto/proto.js';
import { sortGraph } from '../ir/topo.js';
import { AmpError } from '../core/errors.js';

export interface ImportOptions {
  /** Directory that external data locations are relative to. */
  baseDir?: string;
  /** File name used in error messages. */
  file?: string;
  /** Main-graph initializers whose raw_data was left in the model file (src/onnx/proto/skeleton.ts): where it lies. */
  backed?: Map<TensorProto, ExternalRef>;
}

const GRAPH = 5,
  GRAPHS = 10;

export function tensorTypeOf(tp: TypeProto | null | undefined): TensorType | undefined {
  const tt = tp?.tensorType;
  if (!tt) return undefined;
  const shape: Dim[] | undefined = tt.shape
    ? (tt.shape.dim ?? []).map((d) =>
        d.dimValue != null && Object.prototype.hasOwnProperty.call(d, 'dimValue')
          ? toNum(d.dimValue as number | Long)
          : d.dimParam
            ? d.dimParam
            : null,
      )
    : undefined;
  return { elemType: tt.elemType ?? 0, shape };
}

/** Resolves an external-data location safely inside the model directory. */
export function resolveExternal(p: TensorProto, opts: ImportOptions): ExternalRef {
  const kv = new Map((p.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location');
  const where = `tensor '${p.name ?? ''}'`;
  if (!location) throw new AmpError(`${where} is marked external but has no location`, opts.file);
  if (isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location)) {
    throw new AmpError(
      `${where}: external data location '${location}' is absolute; only paths inside the model directory are allowed`,
      opts.file,
    );
  }
  const base = resolve(opts.baseDir ?? '.');
  const path = resolve(base, location);
  const rel = relative(base, path);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new AmpError(`${where}: external data location '${location}' escapes the model directory`, opts.file);
  }
  if (!existsSync(path)) throw new AmpError(`${where}: external data file '${location}' is missing`, opts.file);
  {
    const realBase = realpathSync(base);
    const real = realpathSync(path);
    if (!(real + sep).startsWith(realBase + sep) || real === realBase) {
      throw new AmpError(
        `${where}: external data location '${location}' is a link leading outside the model directory`,
        opts.file,
      );
    }
  }
  const num = (k: string, d: number) => {
    const s = kv.get(k);
    if (s === undefined || s === '') return d;
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new AmpError(`${where}: external data ${k} '${s}' is not a valid byte count`, opts.file);
    return n;
  };
  if (!statSync(path).isFile())
    throw new AmpError(`${where}: external data location '${location}' is not a regular file`, opts.file);
  return { location, path, offset: num('offset', 0), length: num('length', -1) };
}

function importTensor(p: TensorProto, opts: ImportOptions): Tensor {
  const ext = p.dataLocation === 1 ? resolveExternal(p, opts) : undefined;
  let t: Tensor;
  try {
    t = Tensor.fromProto(p, ext, opts.backed?.get(p));
  } catch (e) {
    throw e instanceof AmpError && !e.file ? e.reissue(e.message, opts.file) : e;
  }
  if (ext) {
    // Checked at load (a stat, no read) so a short file is reported before any work is done.
    const size = statSync(ext.path).size;
    if (ext.offset + ext.length > size) {
      throw new AmpError(
        `tensor '${p.name ?? ''}': external data file '${ext.location}' is short: needs bytes ${ext.offset}..${ext.offset + ext.length}, has ${size}`,
        opts.file,
      );
    }
  }
  return t;
}

/** Runs a check, prefixing its AmpError with `where` and naming the file. */
function checked(fn: () => unknown, where: string, file?: string): void {
  try {
    fn();
  } catch (e) {
    throw e instanceof AmpError ? new AmpError(`${where}: ${e.message}`, file) : e;
  }
}

function declare(g: Graph, vi: ValueInfoProto): void {
  const v = g.value(vi.name ?? '');
  v.declared = vi;
  const tt = tensorTypeOf(vi.type);
  if (tt) v.type = tt;
  else if (vi.type) v.typeProto = vi.type;
}

/**
 * Subgraph nesting deeper than this is refused (real models nest a few levels; recursion needs bounds). The
 * protobuf decoder already stops at 100 nested messages (protoc's default), about 33 levels of If.
 */
export const MAX_NESTING = 24;

export function graphFromProto(gp: GraphProto, opts: ImportOptions, parent?: Graph, depth = 0): Graph {
  if (depth > MAX_NESTING) throw new AmpError(`subgraphs nest deeper than ${MAX_NESTING} levels`, opts.file);
  const g = new Graph(gp.name ?? '');
  g.proto = gp;
  g.parent = parent;
  for (const vi of gp.input ?? []) {
    g.inputs.push(vi.name ?? '');
    declare(g, vi);
  }
  for (const t of gp.initializer ?? []) {
    const tensor = importTensor(t, opts);
    g.initializers.set(tensor.name, tensor);
    const v = g.value(tensor.name);
    v.type ??= { elemType: tensor.dataType, shape: [...tensor.dims] };
  }
  for (const vi of gp.valueInfo ?? []) {
    g.valueInfo.push(vi.name ?? '');
    declare(g, vi);
  }
  for (const vi of gp.output ?? []) {
    g.outputs.push(vi.name ?? '');
    declare(g, vi);
  }
  for (const np of gp.node ?? []) {
    const n = new Node(
      np.opType ?? '',
      [...(np.input ?? [])],
      [...(np.output ?? [])],
      g,
      np.name ?? '',
      np.domain ?? '',
      [...(np.attribute ?? [])],
      np,
    );
    for (const a of n.attributes)
      for (const t of [a.t, ...(a.tensors ?? [])])
        if (t) checked(() => checkTensorProto(t), `node '${n.label}' attribute '${a.name ?? ''}'`, opts.file);
    for (const a of n.attributes) {
      if (a.type === GRAPH && a.g) n.subgraphs.set(a.name ?? '', [graphFromProto(a.g, opts, g, depth + 1)]);
      else if (a.type === GRAPHS && a.graphs?.length)
        n.subgraphs.set(
          a.name ?? '',
          a.graphs.map((s) => graphFromProto(s, opts, g, depth + 1)),
        );
    }
    for (const gs of n.subgraphs.values()) for (const s of gs) s.owner = n;
    g.nodes.push(n);
  }
  return g;
}

/**
 * The checks every model passes before anything works on it — each value has one source, every read is
 * defined, no cycles — and the nodes sorted topologically (stable). For imported and built models alike.
 */
export function validateGraph(graph: Graph, file?: string): void {
  for (const g of graph.allGraphs()) checkNames(g, file);
  checkReads(graph, new Set(), file);
  sortGraph(graph, file);
}

/**
 * Every value a node reads, and every graph output, is defined: a graph input, an initializer, a node output
 * of this graph, or a value of an enclosing graph (subgraphs read their scope). Iterative over nesting via
 * the bounded recursion of MAX_NESTING.
 */
function checkReads(g: Graph, outer: Set<string>, file?: string): void {
  const known = new Set([...outer, ...g.inputs, ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) if (o) known.add(o);
  for (const n of g.nodes) {
    for (const i of n.inputs)
      if (i && !known.has(i))
        throw new AmpError(`graph '${g.name}': node '${n.label}' reads '${i}', which nothing defines`, file);
    for (const gs of n.subgraphs.values()) for (const s of gs) checkReads(s, known, file);
  }
  for (const o of g.outputs)
    if (!known.has(o)) throw new AmpError(`graph '${g.name}': output '${o}' is never computed`, file);
}

/** Each value has one source: a graph input, an initializer, or one node output; graph I/O have names. */
function checkNames(g: Graph, file?: string): void {
  const where = `graph '${g.name}'`;
  if (g.inputs.some((n) => !n)) throw new AmpError(`${where} has an input without a name`, file);
  if (g.outputs.some((n) => !n)) throw new AmpError(`${where} has an output without a name`, file);
  const source = new Map<string, string>();
  for (const i of g.inputs) {
    if (source.has(i)) throw new AmpError(`${where} declares input '${i}' twice`, file);
    source.set(i, 'a graph input');
  }
  for (const t of g.initializers.keys()) if (!source.has(t)) source.set(t, 'an initializer');
  for (const n of g.nodes)
    for (const o of n.outputs) {
      if (!o) continue;
      const prev = source.get(o);
      if (prev) throw new AmpError(`${where}: value '${o}' is written by node '${n.label}' and by ${prev}`, file);
      source.set(o, `node '${n.label}'`);
    }
}

export function modelFromProto(mp: ModelProto, opts: ImportOptions = {}): Model {
  if (!mp.graph) throw new AmpError('not an ONNX model: it has no graph', opts.file);
  let graph: Graph;
  try {
    graph = graphFromProto(mp.graph, opts);
  } catch (e) {
    // A field beyond what the IR can hold (an int64 past 2^53, …) is bad input, not a bug of ours.
    if (e instanceof AmpError) throw e;
    throw new AmpError(`malformed model: ${(e as Error).message}`, opts.file);
  }
  validateGraph(graph, opts.file);
  graph.reindex();
  const model = new Model(mp, graph);
  model.baseDir = opts.baseDir;
  model.file = opts.file;
  return model;
}
