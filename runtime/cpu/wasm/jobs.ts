/**
 * Kernel jobs that are JavaScript around the WebAssembly kernels: they run on the calling thread and, as
 * source text, in every worker (./threads.ts), so each thread can read a weight that lives outside the wasm
 * memory in a SharedArrayBuffer. Each job is one self-contained function (no closures, no nested functions:
 * the worker receives it by its text) taking the thread's kernel exports, the shared memory and its part.
 */

type Kernels = Record<string, (...a: number[]) => number | void>;

/**
 * Part of C[M, N] += A[M, K]·B[K, N] for columns [n0, n1) with B streamed from a SharedArrayBuffer (element
 * (k, n) at off + k·brs + n; fp16 bits if `half`): `kc` rows at a time are copied into this thread's scratch
 * (about L2-sized, so the weight crosses memory once) and added by gemmRows, whose per-element sums stay
 * the f32 chain in k order — the result is bit-identical to one gemmRows over all of B. fp16 rows holding an
 * Inf or NaN set the Int32 at `flag`.
 */
export interface StreamRows {
  src: SharedArrayBuffer;
  byteOffset: number;
  length: number;
  half: boolean;
  off: number;
  brs: number;
  M: number;
  K: number;
  a: number;
  ars: number;
  acs: number;
  c: number;
  ldc: number;
  n0: number;
  n1: number;
  scratch: number;
  kc: number;
  /** fp16 B known to hold no Inf/NaN (the unchecked decode), else each row group is checked and `flag` set on a find. */
  finite: boolean;
  flag: number;
}
export function streamRows(ex: Kernels, memory: WebAssembly.Memory, j: StreamRows): void {
  const w = j.n1 - j.n0;
  const src = j.half ? new Uint16Array(j.src, j.byteOffset, j.length) : new Float32Array(j.src, j.byteOffset, j.length);
  const dst = j.half
    ? new Uint16Array(memory.buffer, j.scratch, j.kc * w)
    : new Float32Array(memory.buffer, j.scratch, j.kc * w);
  for (let k0 = 0; k0 < j.K; k0 += j.kc) {
    const k1 = Math.min(j.K, k0 + j.kc);
    for (let k = k0; k < k1; k++) {
      const o = j.off + k * j.brs + j.n0;
      dst.set(src.subarray(o, o + w), (k - k0) * w);
    }
    const fn = !j.half ? 'gemmRows' : j.finite ? 'gemmRows16Finite' : 'gemmRows16';
    const found = ex[fn](
      j.M,
      w,
      k1 - k0,
      j.a + k0 * j.acs * 4,
      j.ars,
      j.acs,
      j.scratch,
      w,
      j.c + j.n0 * 4,
      j.ldc,
      0,
      w,
    );
    if (found) new Int32Array(memory.buffer, j.flag, 1)[0] = 1;
  }
}

/** The jobs by name (the worker builds the same table from their source). */
export const JOBS = { streamRows } as const;
export type JobName = keyof typeof JOBS;
