/**
 * Reading and writing model files. Reads validate and turn every failure into a one-line AmpError naming
 * the file. Writes stream: the ModelProto is encoded piece by piece (graph → initializers → raw_data) so
 * tensor payloads go from their source (memory view or external file) to the output without a second
 * in-memory copy of the weights; output goes to a temp file renamed into place, so no partial file is
 * ever left, and the input is never the output.
 */
import { rmSync } from 'node:fs';
import { dirname, basename, resolve, join, isAbsolute, relative, sep } from 'node:path';
import { readInputFile, atomicWrite, checkOutput, statOrUndefined, writeAll } from '../core/fs.js';
import {
  T,
  Writer,
  decodeModelProto,
  make,
  type ModelProto,
  type GraphProto,
  type TensorProto,
  type StringStringEntry,
  UNKNOWN,
} from './proto/proto.js';
import { modelFromProto } from './import.js';
import { readSkeleton } from './proto/skeleton.js';
import { modelToProto, tensorOf, cloneMessage } from './export.js';
import type { Model } from '../ir/graph.js';
import { readExternal, type Tensor, type ExternalRef } from '../ir/tensor.js';
import { AmpError } from '../core/errors.js';
import { maxNodes, MAX_NODES } from '../core/limits.js';
import { toNum, encodeModelProto } from './proto/proto.js';
import { protoToJson, protoFromJson } from './proto/json.js';

const MAX_PROTO = 2 ** 31 - 1;
/** Opset versions beyond this are refused (ONNX is at 24; room for decades of releases and custom domains). */
const MAX_OPSET = 100_000;
/** Nodes in the main graph beyond this are refused (the largest public models have a few hundred thousand). */

/** Decodes and sanity-checks ModelProto bytes. */
export function decodeModelBytes(bytes: Uint8Array, file = '<bytes>'): ModelProto {
  let mp: ModelProto;
  try {
    mp = decodeModelProto(bytes);
  } catch (e) {
    throw new AmpError(`not a valid ONNX protobuf (truncated or corrupt: ${(e as Error).message})`, file);
  }
  const ir = (() => {
    try {
      return toNum(mp.irVersion);
    } catch {
      return -1;
    }
  })();
  if (!mp.graph || !(ir >= 1 && ir <= 64) || (!(mp.opsetImport ?? []).length && ir >= 3)) {
    throw new AmpError(
      `not an ONNX model (ir_version ${ir}, ${mp.graph ? 'a graph' : 'no graph'}, ${(mp.opsetImport ?? []).length} opset imports)`,
      file,
    );
  }
  const limit = maxNodes();
  if ((mp.graph.node?.length ?? 0) > limit)
    throw new AmpError(
      `has ${mp.graph.node!.length} nodes, more than the ${limit} this run's memory holds (--max-memory; at most ${MAX_NODES})`,
      file,
    );
  for (const n of mp.graph.node ?? []) {
    if (!n.opType)
      throw new AmpError(`not a valid ONNX model: a node in graph '${mp.graph.name ?? ''}' has no op_type`, file);
  }
  for (const o of mp.opsetImport ?? []) {
    const v = (() => {
      try {
        return toNum(o.version);
      } catch {
        return NaN;
      }
    })();
    if (!(v >= 0 && v <= MAX_OPSET))
      throw new AmpError(
        `not a valid ONNX model: opset import '${o.domain ?? ''}' has version ${String(o.version)}`,
        file,
      );
  }
  return mp;
}

/** Options of loadModel. */
export interface LoadOptions {
  /** Directory for external data, default: the model file's directory. */ baseDir?: string;
}

/**
 * Loads an ONNX file into the IR. External tensors and large inline payloads stay on disk until read: the file's
 * structure is decoded without them (./skeleton.ts), or — for a file the skeleton walker finds unusual — the whole
 * file is decoded and its large payloads are left as ranges of it afterwards (leaveWeightsInFile).
 */
export function loadModel(path: string, opts: LoadOptions = {}): Model {
  const o = { baseDir: opts.baseDir ?? dirname(resolve(path)), file: path };
  // A .json file is the model's JSON form (./json.ts).
  if (/\.json$/i.test(path)) return modelFromJson(readInputFile(path).toString('utf8'), o);
  // Large payloads are not even read: the file's structure is decoded and they stay ranges of the file.
  const skeleton = statOrUndefined(path)?.isFile() ? readSkeleton(path, BACKING_MIN) : undefined;
  if (skeleton) {
    const mp = decodeModelBytes(skeleton.bytes, path);
    const file = resolve(path),
      location = basename(path);
    const refs = new Map([...skeleton.payloads].map(([i, r]) => [i, { location, path: file, ...r }]));
    return modelFromProto(mp, { ...o, backed: backedInitializers(mp, refs) });
  }
  const bytes = readInputFile(path);
  const model = modelFromBytes(bytes, o);
  leaveWeightsInFile(model, bytes, resolve(path));
  return model;
}

/** Inline payloads at least this large stay in the model file (Tensor.backing) instead of memory. */
const BACKING_MIN = 64 << 10;
/**
 * After decoding, the protos hold views of the whole file buffer. Large initializer payloads become ranges of
 * the file (read or streamed from there when needed) and every other view is copied, so the file buffer can be
 * collected: a loaded model holds its structure, not its weights (an in-memory model file converts in bounded
 * memory like one with external data). Encoding is unchanged: the writer streams those payloads from the file.
 */
function leaveWeightsInFile(model: Model, bytes: Uint8Array, path: string): void {
  const buffer = bytes.buffer;
  // The main graph's (a subgraph is encoded whole, so its payloads stay in memory — copied below).
  for (const t of model.graph.initializers.values()) {
    const raw = t.proto?.rawData;
    if (!raw || raw.buffer !== buffer || raw.byteLength < BACKING_MIN || t.external) continue;
    t.backing = { location: basename(path), path, offset: raw.byteOffset - bytes.byteOffset, length: raw.byteLength };
    delete (t.proto as Record<string, unknown>).rawData;
  }
  const seen = new Set<object>();
  const copyViews = (o: unknown): void => {
    if (!o || typeof o !== 'object' || seen.has(o)) return;
    seen.add(o);
    for (const k of Reflect.ownKeys(o)) {
      const v = (o as Record<PropertyKey, unknown>)[k];
      if (v instanceof Uint8Array) {
        if (v.buffer === buffer) (o as Record<PropertyKey, unknown>)[k] = new Uint8Array(v);
      } else if (v && typeof v === 'object') copyViews(v);
    }
  };
  copyViews(model.proto);
  for (const g of model.graph.allGraphs()) {
    copyViews(g.proto);
    for (const n of g.nodes) copyViews(n.attributes);
  }
}
/** A model → its JSON form: protobuf's JSON mapping of ModelProto, as Python's json_format writes it (./json.ts). */
export function modelToJson(model: Model): string {
  return protoToJson(decodeModelProto(encodeModel(model)));
}
/** A model from its JSON form; external data resolves against `baseDir`. */
export function modelFromJson(text: string, opts: { baseDir?: string; file?: string } = {}): Model {
  const mp = protoFromJson(text, opts.file);
  const bytes = (() => {
    try {
      return encodeModelProto(mp);
    } catch (e) {
      throw new AmpError(`not a JSON ModelProto: ${(e as Error).message}`, opts.file);
    }
  })();
  return modelFromBytes(bytes, opts);
}
/** Decodes ONNX bytes into the IR; `baseDir` resolves external data, `file` names it in errors. */
export function modelFromBytes(bytes: Uint8Array, opts: { baseDir?: string; file?: string } = {}): Model {
  const mp = decodeModelBytes(bytes, opts.file);
  return modelFromProto(mp, { baseDir: opts.baseDir, file: opts.file });
}

/** How saveModel places tensors and whether it may overwrite. */
export interface SaveOptions {
  /** Move tensors of at least `threshold` bytes to one external file (`<output>.data` unless `location`). */
  externalData?: boolean;
  threshold?: number;
  location?: string;
  /** Bring every tensor inline (unless the model would exceed 2 GB). */
  inline?: boolean;
  /** Overwrite an existing output. */
  force?: boolean;
  /** The input path: refusing to write over it or its external data, whatever `force` says. */
  inputPath?: string;
  /** More files never to write over (by identity: links and hard links included). */
  protect?: string[];
}
/** What saveModel wrote: the model's bytes and the external data file, if any. */
export interface SaveResult {
  bytes: number;
  externalFile?: string;
  externalBytes: number;
  externalTensors: number;
  forcedExternal: boolean;
}

// ---- streaming encoder ---------------------------------------------------------------------------

/** A part of the output: encoded bytes, or a tensor payload fetched when written. */
type Part = Uint8Array | { tensor: Tensor; length: number };
const partLength = (p: Part) => (p instanceof Uint8Array ? p.byteLength : p.length);

function pick<M extends object>(
  type: typeof T.Model,
  m: M,
  keep: (id: number) => boolean,
  withUnknown: boolean,
): Uint8Array {
  const o: Record<string, unknown> = {};
  for (const f of type.fieldsArray)
    if (keep(f.id) && Object.prototype.hasOwnProperty.call(m, f.name))
      o[f.name] = (m as Record<string, unknown>)[f.name];
  const msg = type.create(o);
  const unk = (m as Record<string, unknown>)[UNKNOWN];
  if (withUnknown && unk) Object.defineProperty(msg, UNKNOWN, { value: unk, enumerable: false, writable: true });
  return type.encode(msg).finish();
}
function header(id: number, len: number): Uint8Array {
  return Writer.create()
    .uint32((id << 3) | 2)
    .uint32(len)
    .finish();
}
function sum(parts: Part[]): number {
  return parts.reduce((a, p) => a + partLength(p), 0);
}

/** Protos whose payload is written inline but still lives in an external file. */
const inlineFromExternal = new WeakSet<TensorProto>();

/**
 * A TensorProto's parts. `leave`: a payload left in the model file (Tensor.backing) is left out, raw_data field and
 * all, and `leave` is called with where it lies (cloneModel: the copy reads the same range).
 */
function tensorParts(t: TensorProto, leave?: (ref: ExternalRef) => void): Part[] {
  const ir = tensorOf.get(t);
  const inFile = !!ir?.backing && t === ir.proto && !t.rawData?.length;
  if (leave && inFile) {
    leave(ir!.backing!);
    return [pick(T.Tensor, t, () => true, true)];
  }
  // Streamed payloads: external data inlined, a derived tensor not computed yet, an inline tensor left in its file.
  if (ir && (inlineFromExternal.has(t) || (ir.derived && !ir.loaded && t.dataLocation !== 1) || inFile)) {
    const before = pick(T.Tensor, t, (id) => id < 9, false);
    const after = pick(T.Tensor, t, (id) => id > 9, true);
    return [before, header(9, ir.byteLength), { tensor: ir, length: ir.byteLength }, after];
  }
  const raw = t.rawData;
  // Payload streamed when the IR tensor will provide it (its bytes in memory or an external file).
  if (ir && raw && raw.byteLength >= 4096) {
    const before = pick(T.Tensor, { ...t, rawData: undefined } as never, (id) => id < 9, false);
    const after = pick(T.Tensor, t, (id) => id > 9, true);
    return [before, header(9, raw.byteLength), raw, after];
  }
  return [T.Tensor.encode(t as never).finish()];
}
function graphParts(g: GraphProto, leave?: (index: number, ref: ExternalRef) => void): Part[] {
  const inits = g.initializer ?? [];
  if (!inits.length) return [T.Graph.encode(g as never).finish()];
  const parts: Part[] = [pick(T.Graph, g, (id) => id < 5, false)];
  inits.forEach((t, i) => {
    const tp = tensorParts(t, leave && ((ref) => leave(i, ref)));
    parts.push(header(5, sum(tp)), ...tp);
  });
  parts.push(pick(T.Graph, g, (id) => id > 5, true));
  return parts;
}
/** A ModelProto's parts; `leave` as in tensorParts, with the main-graph initializer's index. */
function modelParts(m: ModelProto, leave?: (index: number, ref: ExternalRef) => void): Part[] {
  if (!m.graph) return [T.Model.encode(m as never).finish()];
  const gp = graphParts(m.graph, leave);
  return [pick(T.Model, m, (id) => id < 7, false), header(7, sum(gp)), ...gp, pick(T.Model, m, (id) => id > 7, true)];
}

// ---- external data placement ---------------------------------------------------------------------

interface ExtPlan {
  file: string;
  location: string;
  writes: { tensor: Tensor; offset: number; length: number }[];
  size: number;
}

/** A graph proto and, depth first, those of its nodes' subgraph attributes. */
function* graphProtos(g: GraphProto): Generator<GraphProto> {
  yield g;
  for (const n of g.node ?? [])
    for (const a of n.attribute ?? []) {
      if (a.g) yield* graphProtos(a.g);
      for (const s of a.graphs ?? []) yield* graphProtos(s);
    }
}

/**
 * Rewrites the initializer protos of every graph (subgraphs of If/Loop/Scan included) for the chosen
 * placement; returns the external data plan. A tensor that stays external is copied into the output's
 * data file either way, so the output never points at the input's files (which may sit in another directory).
 */
function placeTensors(mp: ModelProto, outPath: string, opts: SaveOptions, forceExternal: boolean): ExtPlan | undefined {
  if (!mp.graph) return undefined;
  const location = opts.location ?? `${basename(outPath)}.data`;
  const plan: ExtPlan = { file: join(dirname(outPath), location), location, writes: [], size: 0 };
  const threshold = opts.threshold ?? 1024;
  const externalize = opts.externalData || forceExternal;
  for (const g of graphProtos(mp.graph)) {
    const top = g === mp.graph;
    g.initializer = (g.initializer ?? []).map((p) => {
      const t = tensorOf.get(p);
      if (!t) return p;
      // A derived or file-backed payload inside a subgraph is read now: subgraphs are encoded whole, not streamed.
      if (
        !top &&
        (t.derived || t.backing) &&
        !p.rawData?.length &&
        p.dataLocation !== 1 &&
        !(externalize && t.byteLength >= threshold)
      ) {
        const q = cloneMessage(p);
        q.rawData = t.raw();
        tensorOf.set(q, t);
        return q;
      }
      const isExt = p.dataLocation === 1;
      const goExt = externalize ? t.byteLength >= threshold : opts.inline ? false : isExt;
      if (!goExt) {
        if (!isExt) return p;
        const q = cloneMessage(p);
        delete (q as Record<string, unknown>).externalData;
        delete (q as Record<string, unknown>).dataLocation;
        // Top level: the payload is streamed from the external file when written; a subgraph is encoded whole.
        if (top) inlineFromExternal.add(q);
        else q.rawData = t.raw();
        tensorOf.set(q, t);
        return q;
      }
      const offset = plan.size;
      const length = t.byteLength;
      plan.writes.push({ tensor: t, offset, length });
      plan.size += length;
      const q = cloneMessage(p);
      for (const k of ['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data', 'rawData'] as const)
        delete (q as Record<string, unknown>)[k];
      q.dataLocation = 1;
      const kv: StringStringEntry[] = [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ];
      q.externalData = kv.map((e) => make(T.StringStringEntry, e));
      tensorOf.set(q, t);
      return q;
    });
  }
  return plan.writes.length ? plan : undefined;
}

/** The files a loaded model reads: the model file and every external data file of every graph. */
export function modelFiles(model: Model, path?: string): string[] {
  const files = new Set<string>(path ? [resolve(path)] : []);
  for (const g of model.graph.allGraphs())
    for (const t of g.initializers.values()) if (t.external) files.add(t.external.path);
  return [...files];
}

/** An external data location for an output: a plain relative file name inside the output's directory, not the output itself. */
function checkLocation(location: string, outPath: string): void {
  const dir = dirname(resolve(outPath)),
    target = resolve(dir, location);
  const rel = relative(dir, target);
  if (
    !location ||
    isAbsolute(location) ||
    /^[a-zA-Z]:/.test(location) ||
    rel.startsWith('..') ||
    isAbsolute(rel) ||
    rel === '' ||
    location.split(/[\\/]/).includes('..')
  ) {
    throw new AmpError(
      `external data location '${location}' must be a file name inside the output's directory`,
      outPath,
    );
  }
  if (target === resolve(outPath))
    throw new AmpError(`external data location '${location}' is the output model itself`, outPath);
  if (rel.includes(sep) && !statOrUndefined(dirname(target))?.isDirectory())
    throw new AmpError(`external data location '${location}': its directory does not exist`, outPath);
  // No directory on the way may be a symbolic link: a linked sub/ would carry the data outside the output's folder.
  for (let d = dirname(target); d !== dir && d.startsWith(dir); d = dirname(d)) {
    if (statOrUndefined(d, true)?.isSymbolicLink())
      throw new AmpError(
        `external data location '${location}': '${relative(dir, d)}' is a symbolic link; refusing to write through it`,
        outPath,
      );
  }
}

/** Serializes a model to a file (and optionally one external data file), streaming tensor payloads. */
export function saveModel(model: Model, path: string, opts: SaveOptions = {}): SaveResult {
  // Never written over: the input model and everything it reads (this model's external data included).
  opts = { ...opts, protect: [...(opts.protect ?? []), ...modelFiles(model, opts.inputPath)] };
  checkOutput(path, opts);
  if (opts.location !== undefined) checkLocation(opts.location, path);
  const mp = modelToProto(model);
  // First placement: as asked. If the protobuf would pass 2 GB, externalize instead of failing.
  let plan = placeTensors(mp, path, opts, false);
  let parts = modelParts(mp);
  let forcedExternal = false;
  if (sum(parts) > MAX_PROTO) {
    const mp2 = modelToProto(model);
    plan = placeTensors(mp2, path, { ...opts, inline: false }, true);
    parts = modelParts(mp2);
    forcedExternal = true;
    if (sum(parts) > MAX_PROTO)
      throw new AmpError('model is larger than 2 GB even with all large tensors external', path);
  }
  if (plan) {
    checkOutput(plan.file, opts);
    atomicWrite(
      plan.file,
      (fd) => {
        for (const w of plan!.writes) {
          writePayload(fd, { tensor: w.tensor, length: w.length });
        }
      },
      opts.force,
    );
  }
  try {
    atomicWrite(
      path,
      (fd) => {
        let buf: Uint8Array[] = [];
        let pending = 0;
        const flush = () => {
          if (pending) {
            writeAll(fd, Buffer.concat(buf));
            buf = [];
            pending = 0;
          }
        };
        for (const p of parts) {
          if (p instanceof Uint8Array && p.byteLength < 1 << 20) {
            buf.push(p);
            pending += p.byteLength;
            if (pending > 1 << 20) flush();
            continue;
          }
          flush();
          writePayload(fd, p);
        }
        flush();
      },
      opts.force,
    );
  } catch (e) {
    if (plan) rmSync(plan.file, { force: true });
    throw e;
  }
  const bytes = sum(parts);
  return {
    bytes,
    externalFile: plan?.file,
    externalBytes: plan?.size ?? 0,
    externalTensors: plan?.writes.length ?? 0,
    forcedExternal,
  };
}

function writePayload(fd: number, p: Part): void {
  if (p instanceof Uint8Array) return writeAll(fd, p);
  // Computed while written, one chunk in memory at a time (a converted external tensor: see Tensor.derived).
  if (!p.tensor.loaded && p.tensor.derived) {
    const { stream } = p.tensor.derived;
    if (stream) stream((c) => writeAll(fd, c));
    else for (const c of p.tensor.chunks()) writeAll(fd, c);
    return;
  }
  const ext = !p.tensor.loaded && (p.tensor.external ?? p.tensor.backing);
  if (ext) copyRange(ext.path, ext.offset, p.length, fd);
  else writeAll(fd, p.tensor.raw());
}

/** Copies a byte range of a file into fd in 16 MiB chunks (never the whole tensor in memory). */
function copyRange(src: string, offset: number, length: number, fd: number): void {
  const chunk = 16 << 20;
  for (let done = 0; done < length; done += chunk) {
    const n = Math.min(chunk, length - done);
    writeAll(fd, readExternal({ location: src, path: src, offset: offset + done, length: n }));
  }
}

/** Encodes a model fully in memory (small models, the API's bytes output). External tensors stay external. */
export function encodeModel(model: Model): Uint8Array {
  return concatParts(modelParts(modelToProto(model)));
}
function concatParts(parts: Part[]): Uint8Array {
  const out = new Uint8Array(sum(parts));
  let o = 0;
  // Payloads not in memory are copied chunk by chunk, without loading (caching) them in their tensors.
  for (const p of parts) {
    if (p instanceof Uint8Array) {
      out.set(p, o);
      o += p.byteLength;
    } else
      for (const c of p.tensor.chunks()) {
        out.set(c, o);
        o += c.byteLength;
      }
  }
  return out;
}

/**
 * An independent copy of a model, through the codec (same protos, unknown fields and bytes when encoded), that
 * shares the payloads left in the model file instead of copying them: the copy's tensors read the same ranges.
 * A trial conversion of a loaded 512 MiB model then costs its structure, not its weights.
 */
export function cloneModel(model: Model): Model {
  const left = new Map<number, ExternalRef>();
  const mp = decodeModelBytes(concatParts(modelParts(modelToProto(model), (i, ref) => left.set(i, ref))), model.file);
  return modelFromProto(mp, { baseDir: model.baseDir, file: model.file, backed: backedInitializers(mp, left) });
}
/** Main-graph initializer index → the range of the file holding its raw_data, as ImportOptions.backed wants it. */
function backedInitializers(mp: ModelProto, refs: Map<number, ExternalRef>): Map<TensorProto, ExternalRef> {
  return new Map([...refs].map(([i, ref]) => [mp.graph!.initializer![i], ref]));
}
export type { GraphProto };
