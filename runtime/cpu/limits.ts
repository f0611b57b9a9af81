/**
 * The largest tensor a CPU kernel may allocate. A malformed or hostile model can ask for any size (an Expand
 * to 1e9 elements, a ConstantOfShape of a huge shape); beyond this limit the op fails with a clear message
 * instead of exhausting the machine. Default: a quarter of the RAM, at most 16 GiB; `--max-memory` sets it.
 */
import { totalmem } from 'node:os';
import { AmpError } from '../../src/core/errors.js';

let maxTensorBytes = Math.min(16 * 2 ** 30, Math.floor(totalmem() / 4));
/** The largest tensor, in bytes, a CPU run may allocate (see setMaxTensorBytes). */
export const getMaxTensorBytes = (): number => maxTensorBytes;
/** Sets the largest tensor, in bytes, a CPU run may allocate (the CLI's `--max-memory`). */
export function setMaxTensorBytes(bytes: number): void {
  if (!(bytes > 0)) throw new AmpError(`the memory limit must be a positive number of bytes (got ${bytes})`);
  maxTensorBytes = bytes;
}
const mib = (b: number) => (b < 2 ** 20 ? `${b} bytes` : `${(b / 2 ** 20).toFixed(0)} MiB`);
/** Throws unless n elements of `bytesPerElement` fit the limit (n a non-negative integer). */
export function checkAlloc(n: number, bytesPerElement: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new AmpError(`a tensor of ${n} elements cannot exist`);
  if (n * bytesPerElement > maxTensorBytes) throw new AmpError(`a tensor of ${n} elements (${mib(n * bytesPerElement)}) exceeds the memory limit of ${mib(maxTensorBytes)} (--max-memory)`);
}
