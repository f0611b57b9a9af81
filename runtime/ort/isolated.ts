/**
 * onnxruntime-node in a process of its own, for verification on models the CPU executor cannot run. onnxruntime
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

/** The child: loads the model, runs every set, writes the outputs. Plain CommonJS, so `node -e` runs it. */
const CHILD = `
const [ortPath, dir] = process.argv.slice(1);
const ort = require(ortPath), fs = require('fs'), path = require('path');
const sets = JSON.parse(fs.readFileSync(path.join(dir, 'in.json'), 'utf8'));
const arr = { float32: Float32Array, float16: Uint16Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array };
(async () => {
  const s = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, 'model.onnx')), { logSeverityLevel: 4 });
  const out = [];
  for (const set of sets) {
    const feeds = {};
    for (const [k, w] of Object.entries(set)) { if (w.type === 'string') { feeds[k] = new ort.Tensor('string', w.strings, w.dims); continue; } const b = Buffer.from(w.b64, 'base64'), c = new Uint8Array(b.length); c.set(b); feeds[k] = new ort.Tensor(w.type, new arr[w.type](c.buffer, 0, c.length / arr[w.type].BYTES_PER_ELEMENT), w.dims); }
    const r = await s.run(feeds);
    out.push(Object.fromEntries(Object.entries(r).map(([k, t]) => { const d = t.data; return [k, t.type === 'string' ? { type: 'string', dims: [...t.dims], strings: [...d] } : { type: t.type, dims: [...t.dims], b64: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') }]; })));
  }
  fs.writeFileSync(path.join(dir, 'out.json'), JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e && e.message || e).split('\\n')[0]); process.exit(3); });
`;

/**
 * Runs `model` (ONNX bytes, no external data) on each input set in a child process; the outputs by set. Throws an
 * AmpError when onnxruntime-node is missing, refuses the model, crashes or runs past `timeoutMs`.
 */
export async function runOrtIsolated(
  model: Uint8Array,
  sets: Record<string, RTensor>[],
  timeoutMs = 600_000,
): Promise<Record<string, RTensor>[]> {
  let ortPath: string;
  try {
    ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  } catch {
    throw new AmpError('onnxruntime-node is not installed (npm install onnxruntime-node)');
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
      const child = spawn(process.execPath, ['-e', CHILD, ortPath, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
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
        `onnxruntime-node ${signal === 'SIGKILL' ? 'ran past its time limit' : `crashed (${signal})`} on the model`,
      );
    if (code !== 0)
      throw new AmpError(`onnxruntime-node cannot run the model: ${err.trim().split('\n')[0].slice(0, 300)}`);
    return (JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as Record<string, Wire>[]).map((o) =>
      Object.fromEntries(Object.entries(o).map(([k, w]) => [k, fromWire(w)])),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
