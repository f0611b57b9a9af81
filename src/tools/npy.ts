/**
 * NumPy `.npy` arrays and `.npz` archives (np.save / np.savez / np.savez_compressed) as runtime tensors, the
 * input format of Polygraphy and ModelOpt users. .npy: magic, version, a header dict (descr, fortran_order,
 * shape), little-endian data; .npz: a zip of `<name>.npy` members, stored or deflated.
 */
import { inflateRawSync } from 'node:zlib';
import { DataType, typedArrayCtor } from '../core/dtype.js';
import type { RTensor } from '../ir/rtensor.js';
import { AmpError } from '../core/errors.js';
import { printable } from '../core/text.js';
import { readInputFile, READ_LIMITS } from '../core/fs.js';
import { getMaxTensorBytes } from '../../runtime/cpu/limits.js';

const DESCR: Record<string, number> = {
  f4: DataType.FLOAT,
  f8: DataType.DOUBLE,
  f2: DataType.FLOAT16,
  i1: DataType.INT8,
  u1: DataType.UINT8,
  i2: DataType.INT16,
  u2: DataType.UINT16,
  i4: DataType.INT32,
  u4: DataType.UINT32,
  i8: DataType.INT64,
  u8: DataType.UINT64,
  b1: DataType.BOOL,
};

/** One .npy payload → tensor; `file` names it in errors. */
export function parseNpy(bytes: Uint8Array, file: string): RTensor {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY')
    throw new AmpError('not a .npy array (bad magic)', file);
  const major = b[6];
  if (major !== 1 && major !== 2 && major !== 3) throw new AmpError(`unsupported .npy format version ${major}`, file);
  if (major !== 1 && b.length < 12) throw new AmpError('.npy header is short', file);
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  if (start > b.length) throw new AmpError(`.npy header claims ${hlen} bytes; the file has ${b.length}`, file);
  const header = b.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([<>|=])(\w\d+|\w)'/.exec(header),
    shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape) throw new AmpError(`unreadable .npy header ${JSON.stringify(header.trim())}`, file);
  if (/'fortran_order':\s*True/.test(header))
    throw new AmpError('Fortran-ordered .npy arrays are not supported (save with np.ascontiguousarray)', file);
  if (descr[1] === '>') throw new AmpError('big-endian .npy arrays are not supported', file);
  const dtype = DESCR[descr[2] === '?' ? 'b1' : descr[2]];
  if (dtype === undefined) throw new AmpError(`unsupported .npy dtype '${descr[2]}'`, file);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new AmpError(`.npy shape (${shape[1].trim()}) has a dimension that is not a whole number ≥ 0`, file);
  const n = dims.reduce((a, c) => a * c, 1);
  if (n > 2 ** 31) throw new AmpError(`.npy shape (${shape[1].trim()}) holds ${n} elements, more than 2^31`, file);
  const ctor = typedArrayCtor(dtype)!;
  const need = n * ctor.BYTES_PER_ELEMENT;
  if (b.length - start < need)
    throw new AmpError(`.npy data is short: ${b.length - start} bytes for ${n} elements`, file);
  const data = new ctor(n);
  new Uint8Array(data.buffer).set(b.subarray(start, start + need));
  return { dtype, dims, data };
}

/**
 * The members of a zip archive (.npz): name → bytes, stored or deflated. Names are checked before anything is
 * inflated (`wanted`: the only names a member may have, `.npy` dropped), and all inflation together is capped at
 * READ_LIMITS.inflated or --max-memory, the smaller: a small archive of members pointing at one huge deflated stream is refused, not expanded.
 * Offsets past the file are a corrupt archive (one line), never a RangeError.
 */
function unzip(b: Buffer, file: string, wanted?: (name: string) => boolean): Map<string, Uint8Array> {
  try {
    return unzipChecked(b, file, wanted);
  } catch (e) {
    if (e instanceof AmpError) throw e;
    throw new AmpError(`corrupt .npz archive (${(e as Error).message.split('\n')[0]})`, file);
  }
}
function unzipChecked(b: Buffer, file: string, wanted?: (name: string) => boolean): Map<string, Uint8Array> {
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 65557); i--)
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new AmpError('not a .npz archive (no zip directory)', file);
  const count = b.readUInt16LE(eocd + 10);
  let p = b.readUInt32LE(eocd + 16);
  const out = new Map<string, Uint8Array>();
  const cap = Math.min(READ_LIMITS.inflated, getMaxTensorBytes());
  let budget = cap;
  for (let k = 0; k < count; k++) {
    if (b.readUInt32LE(p) !== 0x02014b50) throw new AmpError('corrupt .npz directory', file);
    const method = b.readUInt16LE(p + 10),
      csize = b.readUInt32LE(p + 20),
      nlen = b.readUInt16LE(p + 28);
    const xlen = b.readUInt16LE(p + 30),
      clen = b.readUInt16LE(p + 32),
      local = b.readUInt32LE(p + 42);
    const name = b.toString('utf8', p + 46, p + 46 + nlen);
    const lstart = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    if (lstart + csize > b.length)
      throw new AmpError(`.npz member '${printable(name)}' runs past the end of the file`, file);
    const raw = b.subarray(lstart, lstart + csize);
    if (method !== 0 && method !== 8)
      throw new AmpError(`.npz member '${printable(name)}' uses zip method ${method} (only stored or deflated)`, file);
    if (out.has(name)) throw new AmpError(`.npz has two members named '${printable(name)}'`, file);
    if (wanted && !wanted(name.replace(/\.npy$/, '')))
      throw new AmpError(`.npz member '${printable(name)}' is not an input of the model`, file);
    let data: Uint8Array;
    if (method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, budget) });
      } catch (e) {
        throw new AmpError(
          (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
            ? `.npz members inflate to more than ${cap} bytes (--max-memory)`
            : `.npz member '${printable(name)}' has bad deflate data`,
          file,
        );
      }
    } else data = raw;
    budget -= data.length;
    out.set(name, data);
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

/** A .npz file as one input set: member `name.npy` → input `name` (`inputs`: the names a member may have). */
export function readNpz(file: string, inputs?: string[]): Record<string, RTensor> {
  // A Map keyed by member name: names like __proto__ are data, not object keys.
  const feeds: Record<string, RTensor> = Object.create(null);
  const wanted = inputs ? (n: string) => inputs.includes(n) : undefined;
  for (const [name, bytes] of unzip(readInputFile(file, '.npz', READ_LIMITS.npy), file, wanted))
    feeds[name.replace(/\.npy$/, '')] = parseNpy(bytes, `${file}:${name}`);
  return feeds;
}
export const readNpy = (file: string): RTensor => parseNpy(readInputFile(file, '.npy', READ_LIMITS.npy), file);
