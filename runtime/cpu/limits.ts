/**
 * The largest tensor a CPU kernel may allocate. A malformed or hostile model can ask for any size (an Expand
 * to 1e9 elements, a ConstantOfShape of a huge shape); beyond this limit the op fails with a clear message
 * instead of exhausting the machine. Default: a quarter of the RAM, at most 16 GiB; `--max-memory` sets it.
 */
import { AmpError } from '../../src/core/errors.js';
import { getMaxTensorBytes } from '../../src/core/limits.js';

export { getMaxTensorBytes, setMaxTensorBytes } from '../../src/core/limits.js';
const mib = (b: number) => (b < 2 ** 20 ? `${b} bytes` : `${(b / 2 ** 20).toFixed(0)} MiB`);
/** Throws unless n elements of `bytesPerElement` fit the limit (n a non-negative integer). */
export function checkAlloc(n: number, bytesPerElement: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new AmpError(`a tensor of ${n} elements cannot exist`);
  const max = getMaxTensorBytes();
  if (n * bytesPerElement > max)
    throw new AmpError(
      `a tensor of ${n} elements (${mib(n * bytesPerElement)}) exceeds the memory limit of ${mib(max)} (--max-memory)`,
    );
}
