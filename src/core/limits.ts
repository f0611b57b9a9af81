/**
 * The memory budget of a run (`--max-memory`): the largest tensor a kernel may allocate, and what bounds derived
 * from it (inflated archives, node counts). Default: a quarter of the RAM, at most 16 GiB.
 */
import { totalmem } from 'node:os';
import { AmpError } from './errors.js';

let maxTensorBytes = Math.min(16 * 2 ** 30, Math.floor(totalmem() / 4));
/** The largest tensor, in bytes, a run may allocate (see setMaxTensorBytes). */
export const getMaxTensorBytes = (): number => maxTensorBytes;
/** Sets the largest tensor, in bytes, a run may allocate (the CLI's `--max-memory`). */
export function setMaxTensorBytes(bytes: number): void {
  if (!(bytes > 0)) throw new AmpError(`the memory limit must be a positive number of bytes (got ${bytes})`);
  maxTensorBytes = bytes;
}
/**
 * Loaded nodes cost about 2.3 KB each (measured: a 1 M-node chain takes 2.25 GB to inspect): a model with more
 * nodes than the budget holds at 2.5 KB each is refused right after decoding, before the IR is built.
 */
export const MAX_NODES = 10_000_000;
export const maxNodes = (): number => Math.min(MAX_NODES, Math.floor(maxTensorBytes / 2560));
