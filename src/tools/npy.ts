/**
 * NumPy `.npy` arrays and `.npz` archives (np.save / np.savez / np.savez_compressed) as runtime tensors, the
 * input format of Polygraphy and ModelOpt users. .npy: magic, version, a header dict (descr, fortran_order,
 * shape), little-endian data; .npz: a zip of `<name>.npy` members, stored or deflated.
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { DataType, typedArrayCtor } from '../ir/dtype.js';
import type { RTensor } from '../core/tensor.js';
import { AmpError } from '../core/errors.js';

const DESCR: Record<string, number> = {
  f4: DataType.FLOAT, f8: DataType.DOUBLE, f2: DataType.FLOAT16, i1: DataType.INT8, u1: DataType.UINT8, i2: DataType.INT16,
  u2: DataType.UINT16, i4: DataType.INT32, u4: DataType.UINT32, i8: DataType.INT64, u8: DataType.UINT64, b1: DataType.BOOL,
};

/** One .npy payload → tensor; `file` names it in errors. */
export function parseNpy(bytes: Uint8Array, file: string): RTensor {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new AmpError('not a .npy array (bad magic)', file);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = b.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([<>|=])(\w\d+|\w)'/.exec(header), shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape) throw new AmpError(`unreadable .npy header ${JSON.stringify(header.trim())}`, file);
  if (/'fortran_order':\s*True/.test(header)) throw new AmpError('Fortran-ordered .npy arrays are not supported (save with np.ascontiguousarray)', file);
  if (descr[1] === '>') throw new AmpError('big-endian .npy arrays are not supported', file);
  const dtype = DESCR[descr[2] === '?' ? 'b1' : descr[2]];
  if (dtype === undefined) throw new AmpError(`unsupported .npy dtype '${descr[2]}'`, file);
  const dims = shape[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = dims.reduce((a, c) => a * c, 1);
  const ctor = typedArrayCtor(dtype)!;
  const need = n * ctor.BYTES_PER_ELEMENT;
  if (b.length - start < need) throw new AmpError(`.npy data is short: ${b.length - start} bytes for ${n} elements`, file);
  const data = new ctor(n);
  new Uint8Array(data.buffer).set(b.subarray(start, start + need));
  return { dtype, dims, data };
}

/** The members of a zip archive (.npz): name → bytes, stored or deflated. */
function unzip(b: Buffer, file: string): Map<string, Uint8Array> {
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 65557); i--) if (b.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new AmpError('not a .npz archive (no zip directory)', file);
  const count = b.readUInt16LE(eocd + 10);
  let p = b.readUInt32LE(eocd + 16);
  const out = new Map<string, Uint8Array>();
  for (let k = 0; k < count; k++) {
    if (b.readUInt32LE(p) !== 0x02014b50) throw new AmpError('corrupt .npz directory', file);
    const method = b.readUInt16LE(p + 10), csize = b.readUInt32LE(p + 20), nlen = b.readUInt16LE(p + 28);
    const xlen = b.readUInt16LE(p + 30), clen = b.readUInt16LE(p + 32), local = b.readUInt32LE(p + 42);
    const name = b.toString('utf8', p + 46, p + 46 + nlen);
    const lstart = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    const raw = b.subarray(lstart, lstart + csize);
    if (method !== 0 && method !== 8) throw new AmpError(`.npz member '${name}' uses zip method ${method} (only stored or deflated)`, file);
    out.set(name, method === 8 ? inflateRawSync(raw) : raw);
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

/** A .npz file as one input set: member `name.npy` → input `name`. */
export function readNpz(file: string): Record<string, RTensor> {
  const feeds: Record<string, RTensor> = {};
  for (const [name, bytes] of unzip(readFileSync(file), file)) feeds[name.replace(/\.npy$/, '')] = parseNpy(bytes, `${file}:${name}`);
  return feeds;
}
export const readNpy = (file: string): RTensor => parseNpy(readFileSync(file), file);
