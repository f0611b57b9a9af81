/**
 * Model inputs from files or generated: a directory of input_N.pb (ONNX backend-test layout), a JSON file,
 * or seeded random values with sensible ranges per element type. Symbolic dims come from `shapes`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Model, Dim } from '../ir/graph.js';
import { DataType, dtypeName, dtypeFromName, typedArrayCtor } from '../core/dtype.js';
import { readTensorFile } from '../onnx/tensor-io.js';
import { readInputFile, READ_LIMITS } from '../core/fs.js';
import { make } from '../../runtime/cpu/util.js';
import { size, type RTensor } from '../ir/rtensor.js';
import { AmpError } from '../core/errors.js';
import { xorshift } from '../core/rng.js';
import { printable } from '../core/text.js';
import { readNpy, readNpz } from './npy.js';

/** The inputs a caller must feed: graph inputs that are not initializers. */
export function feedNames(model: Model): string[] {
  const g = model.graph;
  return g.inputs.filter((i) => !g.initializers.has(i));
}

export function readInputsDir(model: Model, dir: string): Record<string, RTensor> {
  const names = feedNames(model);
  const feeds: Record<string, RTensor> = {};
  const files = readdirSync(dir).filter((f) => /^input_\d+\.pb$/.test(f));
  if (!files.length) throw new AmpError('no input_N.pb files in the directory', dir);
  for (const f of files) {
    const i = Number(/\d+/.exec(f)![0]);
    if (i >= names.length) throw new AmpError(`${f}: the model has only ${names.length} inputs`, dir);
    feeds[names[i]] = readTensorFile(join(dir, f)).tensor;
  }
  return feeds;
}

function flatten(v: unknown, dims: number[], out: number[], depth = 0): void {
  if (Array.isArray(v)) {
    if (dims.length <= depth) dims.push(v.length);
    else if (dims[depth] !== v.length) throw new Error(`ragged nested array at depth ${depth}`);
    for (const x of v) flatten(x, dims, out, depth + 1);
  } else if (typeof v === 'number' || typeof v === 'boolean') out.push(Number(v));
  else throw new Error(`not a number: ${JSON.stringify(v)}`);
}

/** JSON: { name: {dims, data, dtype?} } or { name: nested arrays }; dtype defaults to the declared type. */
export function readInputsJson(model: Model, file: string): Record<string, RTensor> {
  const sets = readInputSetsJson(model, file);
  if (sets.length !== 1) throw new AmpError(`expected one input set, found ${sets.length}`, file);
  return sets[0];
}
/** JSON: one input set (an object) or several (an array of them). */
function readInputSetsJson(model: Model, file: string): Record<string, RTensor>[] {
  let json: unknown;
  const text = readInputFile(file, 'JSON inputs', READ_LIMITS.json).toString('utf8');
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AmpError(`not valid JSON: ${(e as Error).message}`, file);
  }
  const sets = Array.isArray(json) ? json : [json];
  if (!sets.length || sets.some((s) => !s || typeof s !== 'object' || Array.isArray(s)))
    throw new AmpError('expected an object of inputs by name, or an array of such objects', file);
  return sets.map((s) => jsonSet(model, s as Record<string, unknown>, file));
}
function jsonSet(model: Model, json: Record<string, unknown>, file: string): Record<string, RTensor> {
  // Keys come from the file: a null-prototype map, so '__proto__' or 'constructor' are names like any other.
  const feeds: Record<string, RTensor> = Object.create(null);
  for (const [name, v] of Object.entries(json)) {
    const decl = model.graph.values.get(name)?.type?.elemType ?? DataType.FLOAT;
    try {
      const vals: number[] = [];
      let dims: number[] = [],
        dtype = decl;
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const o = v as { dims?: number[]; data?: unknown; dtype?: string };
        if (o.dtype) {
          const t = dtypeFromName(o.dtype === 'float32' ? 'FLOAT' : o.dtype === 'float16' ? 'FLOAT16' : o.dtype);
          if (t === undefined) throw new Error(`unknown dtype '${o.dtype}'`);
          dtype = t;
        }
        flatten(o.data, [], vals);
        dims = o.dims ?? [vals.length];
        if (!Array.isArray(dims) || dims.some((d) => !Number.isSafeInteger(d) || d < 0))
          throw new Error(`dims ${JSON.stringify(o.dims)} must be whole numbers ≥ 0`);
      } else flatten(v, dims, vals);
      if (size(dims) !== vals.length) throw new Error(`${vals.length} values do not fill dims [${dims}]`);
      feeds[name] = make(dtype, dims, vals);
    } catch (e) {
      throw new AmpError(`input '${name}': ${(e as Error).message}`, file);
    }
  }
  return feeds;
}

/** Parses "name=1,3,224,224" into a map. */
export function parseShapes(specs: string[] = []): Record<string, number[]> {
  const out: Record<string, number[]> = Object.create(null);
  for (const s of specs) {
    const m = /^([^=]+)=([\d,]+)$/.exec(s);
    if (!m) throw new AmpError(`--shape '${s}' must look like name=1,3,224,224`);
    const dims = m[2].split(',').map(Number);
    if (dims.some((d) => !Number.isSafeInteger(d) || d > MAX_INPUT_ELEMENTS))
      throw new AmpError(`--shape '${s}': dims must be integers up to ${MAX_INPUT_ELEMENTS}`);
    out[m[1]] = dims;
  }
  return out;
}

/** Elements of one synthesized input at most (2^28: 1 GiB of floats); beyond, --shape must say what is meant. */
const MAX_INPUT_ELEMENTS = 2 ** 28;
function concreteDims(name: string, shape: Dim[] | undefined, given?: number[]): number[] {
  const dims = given ?? shape?.map((d) => (typeof d === 'number' ? d : 1)); // symbolic dims default to 1
  if (!dims) throw new AmpError(`input '${name}' has no declared shape: give one with --shape ${name}=...`);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new AmpError(`input '${name}' has an invalid dim in [${dims.join(', ')}]`);
  if (dims.reduce((a, b) => a * b, 1) > MAX_INPUT_ELEMENTS)
    throw new AmpError(
      `input '${name}' would have ${dims.join('×')} elements (more than 2^28): give smaller dims with --shape ${name}=...`,
    );
  return dims;
}

/**
 * Seeded random inputs: floats N(0,1), ints in [0, 10) — or in ranges[name] where given (e.g. token
 * ids into an embedding table) — bools 50/50 (xorshift, so runs repeat). An input it cannot make is an
 * AmpError naming the model's file.
 */
export function randomInputs(
  model: Model,
  seed = 0,
  shapes: Record<string, number[]> = {},
  ranges: Record<string, { lo: number; hi: number; int?: boolean }> = {},
): Record<string, RTensor> {
  try {
    return randomFeeds(model, seed, shapes, ranges);
  } catch (e) {
    throw e instanceof AmpError && !e.file && model.file ? e.reissue(e.message, model.file) : e;
  }
}
function randomFeeds(
  model: Model,
  seed: number,
  shapes: Record<string, number[]>,
  ranges: Record<string, { lo: number; hi: number; int?: boolean }>,
): Record<string, RTensor> {
  const rnd = xorshift(seed * 2654435761 + 1);
  const feeds: Record<string, RTensor> = {};
  for (const k of Object.keys(shapes))
    if (!feedNames(model).includes(k))
      throw new AmpError(`--shape names '${k}', which is not an input (inputs: ${feedNames(model).join(', ')})`);
  for (const name of feedNames(model)) {
    const t = model.graph.values.get(name)?.type;
    if (!t) throw new AmpError(`input '${name}' is not a plain tensor; random values cannot be made for it`);
    const dims = concreteDims(name, t.shape, shapes[name]);
    const n = size(dims);
    const vals = new Float64Array(n);
    const isFloat = [DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE].includes(
      t.elemType as never,
    );
    const r = Object.hasOwn(ranges, name) ? ranges[name] : undefined;
    for (let i = 0; i < n; i++) {
      if (r) {
        const v = r.lo + (r.hi - r.lo) * rnd();
        vals[i] = r.int || !isFloat ? Math.floor(v) : v;
      } else if (isFloat) vals[i] = Math.sqrt(-2 * Math.log(Math.max(rnd(), 1e-12))) * Math.cos(2 * Math.PI * rnd());
      else if (t.elemType === DataType.BOOL) vals[i] = rnd() < 0.5 ? 0 : 1;
      else vals[i] = Math.floor(rnd() * 10);
    }
    if (!typedArrayCtor(t.elemType))
      throw new AmpError(`input '${name}': random ${dtypeName(t.elemType)} values are not supported`);
    feeds[name] = make(t.elemType, dims, vals);
  }
  return feeds;
}

/**
 * --inputs PATH as input sets: a directory of `test_data_set_*` directories (the ONNX test layout, one set
 * each), a directory of input_N.pb or of `<input name>.npy` files (one set), a directory of .npz files (one set
 * each), a .npz file (one set), a .npy file (the model's only input), or a JSON file (an object: one set; an
 * array: several).
 */
export function readInputSets(model: Model, path: string): Record<string, RTensor>[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new AmpError('no such file or directory', path);
  }
  if (!st.isDirectory()) {
    if (path.endsWith('.npz')) return [checkNames(model, readNpz(path, feedNames(model)), path)];
    if (path.endsWith('.npy')) {
      const names = feedNames(model);
      if (names.length !== 1)
        throw new AmpError(
          `a .npy file feeds a model with one input; this one has ${names.length} (use a .npz or a directory of <name>.npy)`,
          path,
        );
      return [{ [names[0]]: readNpy(path) }];
    }
    return readInputSetsJson(model, path);
  }
  const entries = readdirSync(path).sort();
  const sets = entries
    .filter((d) => /^test_data_set_\d+$/.test(d))
    .sort((a, b) => Number(a.slice(14)) - Number(b.slice(14)));
  if (sets.length) return sets.map((d) => readInputsDir(model, join(path, d)));
  const npz = entries.filter((f) => f.endsWith('.npz'));
  if (npz.length) return npz.map((f) => checkNames(model, readNpz(join(path, f), feedNames(model)), join(path, f)));
  const npy = entries.filter((f) => f.endsWith('.npy'));
  if (npy.length)
    return [checkNames(model, Object.fromEntries(npy.map((f) => [f.slice(0, -4), readNpy(join(path, f))])), path)];
  return [readInputsDir(model, path)];
}
/**
 * Golden outputs (`diff --expected PATH`): output_N.pb files (N = position among the graph outputs) in a
 * directory of `test_data_set_*` directories (one set each, in order) or in the directory itself (one set).
 */
export function readOutputSets(model: Model, path: string): Record<string, RTensor>[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new AmpError('no such file or directory', path);
  }
  if (!st.isDirectory())
    throw new AmpError(
      'expected outputs must be a directory of output_N.pb files or of test_data_set_* directories',
      path,
    );
  const sets = readdirSync(path)
    .filter((d) => /^test_data_set_\d+$/.test(d))
    .sort((a, b) => Number(a.slice(14)) - Number(b.slice(14)));
  const one = (dir: string) => {
    const outs: Record<string, RTensor> = {};
    const files = readdirSync(dir).filter((f) => /^output_\d+\.pb$/.test(f));
    if (!files.length) throw new AmpError('no output_N.pb files in the directory', dir);
    for (const f of files) {
      const i = Number(/\d+/.exec(f)![0]);
      if (i >= model.graph.outputs.length)
        throw new AmpError(`${f}: the model has only ${model.graph.outputs.length} outputs`, dir);
      outs[model.graph.outputs[i]] = readTensorFile(join(dir, f)).tensor;
    }
    return outs;
  };
  return sets.length ? sets.map((d) => one(join(path, d))) : [one(path)];
}

function checkNames(model: Model, feeds: Record<string, RTensor>, path: string): Record<string, RTensor> {
  const names = feedNames(model);
  for (const k of Object.keys(feeds))
    if (!names.includes(k))
      throw new AmpError(
        `'${printable(k)}' is not an input of the model (inputs: ${printable(names.join(', '))})`,
        path,
      );
  return feeds;
}

/** --inputs PATH: a directory of .pb files or a .json file. */
export function readInputs(model: Model, path: string): Record<string, RTensor> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new AmpError('no such file or directory', path);
  }
  return st.isDirectory() ? readInputsDir(model, path) : readInputsJson(model, path);
}
