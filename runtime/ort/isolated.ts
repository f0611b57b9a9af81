/**
 * onnxruntime-node — or onnxruntime-web's WebGPU provider on Dawn — in a process of its own, for verification on models the CPU executor cannot run. onnxruntime
 * can crash on hostile models (onnxruntime-node 1.30 segfaults on a LayerNormalization whose optional bias name is
 * empty) or spin on them; in-process that would take amp-convert down, which its promises forbid. Here a crash or a
 * time-out is an error the caller turns into a note. Tensors cross as JSON (element type, dims, base64 bytes).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { RTensor } from '../../src/ir/rtensor.js';
import { DataType, typedArrayCtor, type TypedArray } from '../../src/core/dtype.js';
import { AmpError } from '../../src/core/errors.js';
import { ORT_TYPE, FROM_ORT } from './types.js';

interface Wire {
  type: string;
  dims: number[];
  b64?: string;
  strings?: string[];
}

const bytesOf = (d: ArrayBufferView) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
function toWire(t: RTensor): Wire {
  if (t.dtype === DataType.STRING) return { type: 'string', dims: t.dims, strings: [...(t.data as string[])] };
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new AmpError(`onnxruntime's JS tensors do not hold element type ${t.dtype}`);
  return { type, dims: t.dims, b64: bytesOf(t.data as TypedArray).toString('base64') };
}
function fromWire(w: Wire): RTensor {
  if (w.type === 'string') return { dtype: DataType.STRING, dims: w.dims, data: w.strings ?? [] };
  const dtype = FROM_ORT[w.type];
  const Ctor = typedArrayCtor(dtype);
  if (!Ctor) throw new AmpError(`onnxruntime returned element type ${w.type}, which the runtime does not hold`);
  const b = Buffer.from(w.b64 ?? '', 'base64'),
    copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return {
    dtype,
    dims: w.dims,
    data: new Ctor(copy.buffer, 0, copy.byteLength / Ctor.BYTES_PER_ELEMENT) as TypedArray,
  };
}

/**
 * What both children do once they have `ort` and a session `s`: read the input sets (tensors as Wire objects), run
 * each, write the outputs the same way. Plain CommonJS, so `node -e` runs it.
 */
const RUN_SETS = `
  const sets = JSON.parse(fs.readFileSync(path.join(dir, 'in.json'), 'utf8'));
  const arr = { float32: Float32Array, float16: Uint16Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array };
  const out = [];
  for (const set of sets) {
    const feeds = {};
    for (const [k, w] of Object.entries(set)) { if (w.type === 'string') { feeds[k] = new ort.Tensor('string', w.strings, w.dims); continue; } const b = Buffer.from(w.b64, 'base64'), c = new Uint8Array(b.length); c.set(b); feeds[k] = new ort.Tensor(w.type, new arr[w.type](c.buffer, 0, c.length / arr[w.type].BYTES_PER_ELEMENT), w.dims); }
    const r = await s.run(feeds);
    out.push(Object.fromEntries(Object.entries(r).map(([k, t]) => { const d = t.data; return [k, t.type === 'string' ? { type: 'string', dims: [...t.dims], strings: [...d] } : { type: t.type, dims: [...t.dims], b64: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') }]; })));
  }
  fs.writeFileSync(path.join(dir, 'out.json'), JSON.stringify(out));`;
/** A child's failure: its message's first line on stderr, exit 3. */
const FAIL = `.catch((e) => { process.stderr.write(String(e && e.message || e).split('\\n')[0]); process.exit(3); });`;

/** The onnxruntime-node child: loads the model on the CPU provider, runs every set, writes the outputs. */
const CHILD = `
const [ortPath, dir] = process.argv.slice(1);
const ort = require(ortPath), fs = require('fs'), path = require('path');
(async () => {
  const s = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, 'model.onnx')), { logSeverityLevel: 4 });
  ${RUN_SETS}
})()${FAIL}
`;

/**
 * The child for onnxruntime-web's WebGPU provider on Dawn (the `webgpu` package): the provider hands
 * `queue.writeBuffer` views of its wasm heap, a SharedArrayBuffer, which Dawn's Node binding refuses ("Invalid
 * argument"), so those are copied first (offsets and sizes in elements become bytes). Nodes the provider has no
 * kernel for run on its CPU fallback, as they would where the model is deployed.
 */
const CHILD_WEB = `
const [ortPath, dir, dawnPath] = process.argv.slice(1);
const fs = require('fs'), path = require('path'), url = require('url');
const dawn = require(dawnPath);
Object.assign(globalThis, dawn.globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true });
const q = dawn.globals.GPUQueue.prototype, write = q.writeBuffer;
q.writeBuffer = function (buf, off, data, ...rest) {
  const shared = ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer;
  if (!shared) return write.call(this, buf, off, data, ...rest);
  const el = data.BYTES_PER_ELEMENT || 1;
  return write.call(this, buf, off, new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(), ...rest.map((x) => x * el));
};
(async () => {
  const mod = await import(url.pathToFileURL(ortPath).href), ort = mod.env ? mod : mod.default;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'fatal';
  const s = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, 'model.onnx')), { executionProviders: ['webgpu'], logSeverityLevel: 4 });
  ${RUN_SETS}
  await s.release();
  process.exit(0);
})()${FAIL}
`;

/** Where a model runs: onnxruntime-node's CPU provider, or onnxruntime-web's WebGPU provider on Dawn. */
export type IsolatedRuntime = 'ort-node' | 'ort-web-webgpu';
const RUNTIME_NAMES: Record<IsolatedRuntime, string> = {
  'ort-node': 'onnxruntime-node',
  'ort-web-webgpu': 'onnxruntime-web (WebGPU)',
};

/**
 * Runs `model` (ONNX bytes, no external data) on each input set in a child process; the outputs by set. Throws an
 * AmpError when onnxruntime-node is missing, refuses the model, crashes or runs past `timeoutMs`.
 */
export async function runOrtIsolated(
  model: Uint8Array,
  sets: Record<string, RTensor>[],
  timeoutMs = 600_000,
  runtime: IsolatedRuntime = 'ort-node',
): Promise<Record<string, RTensor>[]> {
  const name = RUNTIME_NAMES[runtime];
  const req = createRequire(import.meta.url);
  let args: string[];
  try {
    args =
      runtime === 'ort-node'
        ? [CHILD, req.resolve('onnxruntime-node')]
        : [CHILD_WEB, req.resolve('onnxruntime-web/webgpu'), '', req.resolve('webgpu')];
  } catch {
    throw new AmpError(
      `${name} is not installed (npm install ${runtime === 'ort-node' ? 'onnxruntime-node' : 'onnxruntime-web webgpu'})`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'amp-ort-'));
  try {
    writeFileSync(join(dir, 'model.onnx'), model);
    writeFileSync(
      join(dir, 'in.json'),
      JSON.stringify(sets.map((s) => Object.fromEntries(Object.entries(s).map(([k, t]) => [k, toWire(t)])))),
    );
    const { code, signal, err } = await new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      err: string;
    }>((res) => {
      const child = spawn(process.execPath, ['-e', args[0], args[1], dir, ...args.slice(3)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c) => {
        if (err.length < 2000) err += String(c);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('exit', (c, s) => {
        clearTimeout(timer);
        res({ code: c, signal: s, err });
      });
    });
    if (signal)
      throw new AmpError(
        `${name} ${signal === 'SIGKILL' ? 'ran past its time limit' : `crashed (${signal})`} on the model`,
      );
    // The child's own message is its last line (Dawn writes warnings before it).
    if (code !== 0)
      throw new AmpError(`${name} cannot run the model: ${(err.trim().split('\n').at(-1) ?? '').slice(0, 300)}`);
    return (JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as Record<string, Wire>[]).map((o) =>
      Object.fromEntries(Object.entries(o).map(([k, w]) => [k, fromWire(w)])),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
