/**
 * The CPU executor's WebAssembly SIMD kernels (runtime/cpu/wasm/as/, built by `npm run build:wasm`): a
 * register-tiled f32 GEMM on packed panels, im2col that writes those panels directly, and bit-exact
 * fp16 ↔ f32 conversion. Why WebAssembly: V8 runs these 128-bit SIMD loops at 30–40 GFLOP/s on one core here,
 * ~50× the float64 JS loops they replace; why AssemblyScript: it is an npm package (no toolchain download)
 * and reads like the TypeScript around it. Large kernels are split over worker threads (./threads.ts).
 *
 * Memory: one shared WebAssembly.Memory owned by this module, used as a per-call arena (inputs are copied in
 * — fp16 decoded on the way — results copied out, rounded once to their storage type, then the arena is
 * reset), so kernels never hold JS objects and calls never overlap. A large weight in a SharedArrayBuffer is
 * not copied in whole for a matrix-vector product: every thread streams its own columns (./jobs.ts). Accumulation is f32, in k order: what
 * fp32-accumulating GPU kernels do.
 */
import { KERNELS_WASM } from './kernels.wasm.js';
import { startPool, type Pool } from './threads.js';
import { DataType, type TypedArray } from '../../../src/core/dtype.js';
import { bf16ArrayToF32, f32ArrayToBf16 } from '../../../src/core/half.js';
import { takeBuffer } from '../pool.js';
import { checkAlloc } from '../limits.js';

type Fn = (...a: number[]) => void;
interface Exports {
  packB: Fn;
  packB16: Fn;
  gemm: Fn;
  rangeF16: Fn;
  gemmRows: Fn;
  gemmRows16: Fn;
  gemmRows16Finite: Fn;
  im2colPacked: Fn;
  f16ToF32: Fn;
  f32ToF16: Fn;
  addF32: Fn;
  subF32: Fn;
  mulF32: Fn;
  divF32: Fn;
  subF32Rev: Fn;
  divF32Rev: Fn;
  reluF32: Fn;
  erfF32: Fn;
  affineF32: Fn;
}

const PAGE = 65536;
/** Columns per packed panel (the micro-kernel's width, NR in as/kernels.ts). */
export const NR = 8;
const BASE = PAGE; // below: nothing of ours (the module has no data), kept free for safety
/** Work below which a kernel runs on the calling thread alone (waking workers costs more than it saves). */
const PARALLEL_FLOPS = 1 << 21,
  PARALLEL_ELEMS = 1 << 16;

let memory: WebAssembly.Memory | undefined;
let wasm: Exports | undefined;
let pool: Pool | undefined;
let top = BASE;

/** Base64 → bytes, with Node's Buffer or the browser's atob. */
const base64Bytes = (b64: string): Uint8Array<ArrayBuffer> =>
  typeof Buffer !== 'undefined'
    ? new Uint8Array(Buffer.from(b64, 'base64'))
    : Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

function load(): Exports {
  if (wasm) return wasm;
  memory = new WebAssembly.Memory({ initial: 17, maximum: 65536, shared: true });
  const mod = new WebAssembly.Module(base64Bytes(KERNELS_WASM));
  wasm = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as Exports;
  pool = startPool(memory, mod, Object.keys(wasm), wasm as unknown as Record<string, Fn>);
  return wasm;
}
/** Threads the kernels run on (the calling thread included). */
export const kernelThreads = (): number => {
  load();
  return pool!.threads;
};

/** Runs kernel `fn` over [lo, hi) (its last two arguments), on the workers too when `work` is large. */
function over(fn: keyof Exports, args: number[], lo: number, hi: number, work: number, threshold: number): void {
  if (work < threshold) wasm![fn](...args, lo, hi);
  else pool!.parallelFor(fn, [...args, lo, hi], lo, hi, args.length);
}
/** C = A·B over panels [p0, p1) of packed B (bp holds panels from pb on): split over panels when there are enough of them, else over rows. */
function gemm(
  M: number,
  N: number,
  K: number,
  a: number,
  ars: number,
  acs: number,
  bp: number,
  pb: number,
  c: number,
  ldc: number,
  p0: number,
  p1: number,
): void {
  const flops = 2 * M * Math.min(N, (p1 - p0) * NR) * K,
    args = [M, N, K, a, ars, acs, bp, pb, c, ldc, 0, 0, M, p0, p1];
  if (flops < PARALLEL_FLOPS) wasm!.gemm(...args);
  else if (p1 - p0 >= 2 * pool!.threads || M < 8) pool!.parallelFor('gemm', args, p0, p1, 13);
  else pool!.parallelFor('gemm', args, 0, M, 11);
}
/** Packs panels [0, P) of B into `dst` (its first panel 0). */
const packB = (b: number, rs: number, cs: number, K: number, N: number, dst: number, P: number, half = false) =>
  over(half ? 'packB16' : 'packB', [b, rs, cs, K, N, dst, 0], 0, P, K * N, PARALLEL_ELEMS);
/**
 * Panels per column block of packed B: the weight operand of a GEMM and the im2col matrix of a convolution
 * are packed one block at a time (about BLOCK_BYTES), so the arena holds a block, not the whole operand.
 */
const BLOCK_BYTES = 2 << 20;
const blockPanels = (P: number, K: number): number => Math.max(1, Math.min(P, Math.floor(BLOCK_BYTES / (K * NR * 4))));

/** High-water mark of the kernel arena, in bytes (the memory never shrinks; it is reused by every call). */
export const arenaBytes = (): number => (memory ? memory.buffer.byteLength : 0);

/** Reserves `bytes` in the arena (16-byte aligned), growing the memory as needed; returns the address. */
function alloc(bytes: number): number {
  checkAlloc(bytes, 1);
  const p = top;
  top = p + Math.ceil(bytes / 16) * 16;
  const need = top - memory!.buffer.byteLength;
  if (need > 0) memory!.grow(Math.ceil(need / PAGE));
  return p;
}
const f32View = (p: number, n: number) => new Float32Array(memory!.buffer, p, n);
const u16View = (p: number, n: number) => new Uint16Array(memory!.buffer, p, n);

let busy = false;
/** Runs `fn` with a fresh arena and releases it afterwards (also on error). Calls never nest. */
function call<T>(fn: () => T): T {
  load();
  if (busy) throw new Error('wasm kernels: nested call (the arena is per call)');
  busy = true;
  top = BASE;
  try {
    return fn();
  } finally {
    top = BASE;
    busy = false;
  }
}

/** A float tensor's storage: FLOAT (Float32Array), FLOAT16 or BFLOAT16 (Uint16Array of bits). */
export interface FloatData {
  dtype: number;
  data: TypedArray | string[];
}
export const wasmFloat = (dtype: number): boolean =>
  dtype === DataType.FLOAT || dtype === DataType.FLOAT16 || dtype === DataType.BFLOAT16;

/** Copies a float tensor into the arena as f32 (fp16 decoded in wasm, exactly; its staging copy released). */
function putF32(t: FloatData): number {
  const n = t.data.length,
    p = alloc(n * 4);
  if (t.dtype === DataType.FLOAT) f32View(p, n).set(t.data as Float32Array);
  else if (t.dtype === DataType.FLOAT16) {
    const h = alloc(n * 2);
    u16View(h, n).set(t.data as Uint16Array);
    over('f16ToF32', [h, p], 0, n, n, PARALLEL_ELEMS * 4);
    top = h;
  } else bf16ArrayToF32(t.data as Uint16Array, f32View(p, n));
  return p;
}
/**
 * Packs columns [c0, c0 + w) of operand B (element (k, n) at off + k·rs + n·cs) into f32 panels at `dst`
 * straight from its storage (fp16 decoded while packing). Only the part of B the block reads is staged:
 * the rows' column range of a row-major B, the contiguous span of a column-major one; the staging copy is
 * released afterwards.
 */
function putPackedB(
  t: FloatData,
  off: number,
  rs: number,
  cs: number,
  K: number,
  c0: number,
  w: number,
  dst: number,
): void {
  const mark = top,
    half = t.dtype === DataType.FLOAT16;
  const lo = off + c0 * cs,
    span = (w - 1) * cs + (K - 1) * rs + 1;
  let src: number;
  if (span <= 2 * K * w) {
    src = stage(t, [[lo, span]], half);
  } else if (cs === 1) {
    src = stage(
      t,
      Array.from({ length: K }, (_, k) => [lo + k * rs, w] as [number, number]),
      half,
    );
    rs = w;
  } else {
    src = stage(t, [[0, t.data.length]], half) + lo * (half ? 2 : 4);
  }
  packB(src, rs, cs, K, w, dst, Math.ceil(w / NR), half);
  top = mark;
}
/** Copies ranges [start, start + n) of a float tensor, one after another, into the arena: half bits kept if `half`, else as f32. */
function stage(t: FloatData, ranges: [number, number][], half: boolean): number {
  const n = ranges.reduce((a, [, m]) => a + m, 0),
    p = alloc(n * (half ? 2 : 4));
  let o = 0;
  for (const [start, m] of ranges) {
    const src = (t.data as Float32Array | Uint16Array).subarray(start, start + m);
    if (half || t.dtype === DataType.FLOAT) (half ? u16View(p + o * 2, m) : f32View(p + o * 4, m)).set(src);
    else if (t.dtype === DataType.FLOAT16) {
      const h = alloc(m * 2);
      u16View(h, m).set(src);
      over('f16ToF32', [h, p + o * 4], 0, m, m, PARALLEL_ELEMS * 4);
      top = h;
    } else bf16ArrayToF32(src as Uint16Array, f32View(p + o * 4, m));
    o += m;
  }
  return p;
}
/** The f32 values at `p` as a new array of storage type `dtype`: the one rounding of an op's output. */
function takeAs(dtype: number, p: number, n: number): TypedArray {
  if (dtype === DataType.FLOAT16) {
    // Encoded in place, on this thread: each half lands behind the f32 values already read (not safe split).
    wasm!.f32ToF16(p, p, 0, n);
    return copyOut(u16View(p, n), takeBuffer(Uint16Array, n));
  }
  if (dtype === DataType.BFLOAT16) return f32ArrayToBf16(f32View(p, n));
  return copyOut(f32View(p, n), takeBuffer(Float32Array, n));
}
const copyOut = <T extends Float32Array | Uint16Array>(src: T, dst: T): T => {
  dst.set(src);
  return dst;
};

/** fp16 bits → f32 values, bit-exact (as src/core/half.ts), in wasm. */
export function f16ToF32(src: Uint16Array): Float32Array {
  return call(() => {
    const p = putF32({ dtype: DataType.FLOAT16, data: src });
    return copyOut(f32View(p, src.length), takeBuffer(Float32Array, src.length));
  });
}
/** f32 → fp16 bits, round to nearest even, bit-exact (as src/core/half.ts), in wasm. */
export function f32ToF16(src: Float32Array): Uint16Array {
  return call(() => takeAs(DataType.FLOAT16, putF32({ dtype: DataType.FLOAT, data: src }), src.length) as Uint16Array);
}

/** A float constant's range as the rangeF16 kernel measures it (as/kernels.ts; passes/steps/02's scan). */
export interface F32Range {
  maxBits: number;
  flushed: number;
  tiny: number;
  zeroed: number;
}
/** Elements per read of rangeF16 (16 MiB of fp32) and per block of its results (as/kernels.ts RANGE_BLOCK). */
const RANGE_CHUNK = 1 << 22,
  RANGE_BLOCK = 1 << 16;
/**
 * One read of an fp32 payload of `byteLength` bytes: `read(offset, into)` fills the arena chunk by chunk (a
 * tensor on disk is read from its file straight into wasm memory, no other copy), the kernel measures the
 * range on the worker threads too and, given `emit`, converts to fp16 on the way: each chunk's bits go to
 * `emit` as a view of the arena (valid during the call; no wasm call may be made from it).
 */
export function rangeF16(
  byteLength: number,
  read: (offset: number, into: Uint8Array) => void,
  tinyBits: number,
  emit?: (bits: Uint16Array) => void,
): F32Range {
  return call(() => {
    const n = byteLength >>> 2,
      ch = Math.max(1, Math.min(n, RANGE_CHUNK));
    const src = alloc(ch * 4),
      dst = emit ? alloc(ch * 2) : 0,
      acc = alloc(Math.ceil(ch / RANGE_BLOCK) * 32);
    const r: F32Range = { maxBits: 0, flushed: 0, tiny: 0, zeroed: 0 };
    for (let off = 0; off < n; off += ch) {
      const m = Math.min(ch, n - off),
        blocks = Math.ceil(m / RANGE_BLOCK);
      read(off * 4, new Uint8Array(memory!.buffer, src, m * 4));
      over('rangeF16', [src, dst, m, tinyBits, acc], 0, blocks, m, PARALLEL_ELEMS * 4);
      const v = new DataView(memory!.buffer, acc, blocks * 32);
      for (let b = 0; b < blocks; b++) {
        r.maxBits = Math.max(r.maxBits, v.getUint32(b * 32, true));
        r.flushed += v.getUint32(b * 32 + 4, true);
        r.tiny += v.getFloat64(b * 32 + 8, true);
        r.zeroed += v.getUint32(b * 32 + 16, true);
      }
      if (emit) emit(u16View(dst, m));
    }
    return r;
  });
}

/**
 * One GEMM per batch entry [aOff, bOff] (element offsets into A and B; element (r, c) of an operand at
 * off + r·rs + c·cs), results stacked as C[batch, M, N] of storage type `outType`. Each operand is copied
 * into the arena once; B is packed once per distinct offset in a row (a shared weight once). `epilogue` may
 * edit the f32 results before the rounding to `outType`.
 */
export function sgemm(
  M: number,
  N: number,
  K: number,
  A: FloatData,
  B: FloatData,
  s: { ars: number; acs: number; brs: number; bcs: number },
  batches: [number, number][],
  outType: number,
  epilogue?: (c: Float32Array) => void,
): TypedArray {
  const MN = M * N;
  // Few rows against one row-major B (a matrix-vector product): stream B once, unpacked.
  if (M <= 4 && s.bcs === 1 && new Set(batches.map(([, bo]) => bo)).size === 1) {
    if (streamable(B, M * N * K)) return streamedRows(M, N, K, A, B, s, batches, outType, epilogue);
    return call(() => {
      // fp16 B is read as half bits, decoded while streaming (no f32 copy of the weights).
      const half = B.dtype === DataType.FLOAT16,
        eb = half ? 2 : 4;
      let bp0: number;
      if (half) {
        bp0 = alloc(B.data.length * 2);
        u16View(bp0, B.data.length).set(B.data as Uint16Array);
      } else bp0 = putF32(B);
      const ap = putF32(A),
        c = zeroed(MN * batches.length);
      batches.forEach(([ao, bo], i) =>
        over(
          half ? 'gemmRows16' : 'gemmRows',
          [M, N, K, ap + ao * 4, s.ars, s.acs, bp0 + bo * eb, s.brs, c + i * MN * 4, N],
          0,
          N,
          M * N * K,
          PARALLEL_FLOPS / 2,
        ),
      );
      epilogue?.(f32View(c, MN * batches.length));
      return takeAs(outType, c, MN * batches.length);
    });
  }
  return call(() => {
    const P = Math.ceil(N / NR);
    const distinctB = new Set(batches.map(([, bo]) => bo)).size;
    const ap = putF32(A),
      c = zeroed(MN * batches.length);
    if (!MN || !K) return takeAs(outType, c, MN * batches.length);
    if (distinctB === 1) {
      // One B (a weight): packed one column block at a time, each block used by every batch entry.
      const PB = blockPanels(P, K),
        bp = alloc(PB * NR * K * 4);
      for (let q0 = 0; q0 < P; q0 += PB) {
        const q1 = Math.min(P, q0 + PB);
        putPackedB(B, batches[0][1], s.brs, s.bcs, K, q0 * NR, Math.min(N, q1 * NR) - q0 * NR, bp);
        batches.forEach(([ao], i) => gemm(M, N, K, ap + ao * 4, s.ars, s.acs, bp, q0, c + i * MN * 4, N, q0, q1));
      }
    } else {
      const bAll = putF32(B),
        bp = alloc(P * NR * K * 4);
      let packed = -1;
      batches.forEach(([ao, bo], i) => {
        if (bo !== packed) {
          packB(bAll + bo * 4, s.brs, s.bcs, K, N, bp, P);
          packed = bo;
        }
        gemm(M, N, K, ap + ao * 4, s.ars, s.acs, bp, 0, c + i * MN * 4, N, 0, P);
      });
    }
    epilogue?.(f32View(c, MN * batches.length));
    return takeAs(outType, c, MN * batches.length);
  });
}

/** `n` zeroed f32 in the arena. */
function zeroed(n: number): number {
  const p = alloc(n * 4);
  f32View(p, n).fill(0);
  return p;
}

/** Bytes of B each thread copies at a time in the streamed matrix-vector product (fits its L2 with room to spare). */
const STREAM_SCRATCH = 256 << 10;
/**
 * A weight the threads can stream themselves: f32 or fp16 in a SharedArrayBuffer (see Tensor.share), with
 * enough work to split. Copying a weight into the wasm memory runs at the speed of one thread's memory
 * copy (~8 GB/s here); each thread copying its own columns runs at the machine's.
 */
const streamable = (B: FloatData, work: number): boolean =>
  typeof SharedArrayBuffer !== 'undefined' &&
  (B.dtype === DataType.FLOAT || B.dtype === DataType.FLOAT16) &&
  (B.data as TypedArray).buffer instanceof SharedArrayBuffer &&
  work >= PARALLEL_FLOPS / 2 &&
  kernelThreads() > 1;

/**
 * Whether a streamed fp16 weight's region (by offset, row stride and shape) holds no Inf/NaN, learnt on its first
 * product (which checks every row group) and trusted afterwards: weights are constants of a session (as the
 * executor's folded constants are), and the unchecked decode saves about a fifth of a decode step.
 */
const finiteRows = new WeakMap<object, Map<string, boolean>>();
/** The matrix-vector product with B streamed by every thread from its SharedArrayBuffer (jobs.ts streamRows), columns split between them. */
function streamedRows(
  M: number,
  N: number,
  K: number,
  A: FloatData,
  B: FloatData,
  s: { ars: number; acs: number; brs: number },
  batches: [number, number][],
  outType: number,
  epilogue?: (c: Float32Array) => void,
): TypedArray {
  return call(() => {
    const MN = M * N,
      half = B.dtype === DataType.FLOAT16,
      b = B.data as Float32Array | Uint16Array;
    const ap = putF32(A),
      c = zeroed(MN * batches.length);
    // Column parts in multiples of 16 (whole vectors for both element sizes), one a thread.
    const step = Math.ceil(N / pool!.threads / 16) * 16,
      bounds = Array.from({ length: Math.ceil(N / step) }, (_, i) => [i * step, Math.min(N, (i + 1) * step)]);
    const kc = Math.max(1, Math.floor(STREAM_SCRATCH / (step * b.BYTES_PER_ELEMENT)));
    const scratch = bounds.map(() => alloc(kc * step * b.BYTES_PER_ELEMENT));
    // fp16 only: the kept Inf/NaN verdict for this region of the weight (f32 rows are never checked).
    const region = `${batches[0][1]}:${s.brs}:${K}:${N}`,
      verdicts = half ? (finiteRows.get(b) ?? new Map<string, boolean>()) : undefined;
    if (verdicts) finiteRows.set(b, verdicts);
    const finite = !!verdicts?.get(region),
      flag = zeroed(1);
    for (const [i, [ao, bo]] of batches.entries())
      pool!.jobs(
        'streamRows',
        bounds.map(([n0, n1], t) => ({
          src: b.buffer as SharedArrayBuffer,
          byteOffset: b.byteOffset,
          length: b.length,
          half,
          off: bo,
          brs: s.brs,
          M,
          K,
          a: ap + ao * 4,
          ars: s.ars,
          acs: s.acs,
          c: c + i * MN * 4,
          ldc: N,
          n0,
          n1,
          scratch: scratch[t],
          kc,
          finite,
          flag,
        })),
      );
    if (verdicts && !verdicts.has(region)) verdicts.set(region, new Int32Array(memory!.buffer, flag, 1)[0] === 0);
    epilogue?.(f32View(c, MN * batches.length));
    return takeAs(outType, c, MN * batches.length);
  });
}

export interface Conv2d {
  C: number;
  H: number;
  W: number;
  M: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  PT: number;
  PL: number;
  DH: number;
  DW: number;
  OH: number;
  OW: number;
  group: number;
}

/**
 * 2-D convolution of x[N, C, H, W] with w[M, C/group, KH, KW] plus an optional per-channel bias (added in
 * f32): im2col into packed panels, then one GEMM per image and group (weights as A, so no weight packing).
 * Returns y[N, M, OH, OW] of storage type `outType`.
 */
export function conv2d(
  X: FloatData,
  batch: number,
  Wt: FloatData,
  bias: ArrayLike<number> | undefined,
  g: Conv2d,
  outType: number,
): TypedArray {
  const { C, H, W, M, KH, KW, OH, OW, group } = g;
  const CG = C / group,
    MG = M / group,
    K = CG * KH * KW,
    N = OH * OW,
    P = Math.ceil(N / NR);
  return call(() => {
    // im2col goes one column block at a time (blockPanels), straight into the panels the GEMM reads; weights
    // beyond a block are staged (decoded to f32) one block of output channels at a time.
    const PB = blockPanels(P, K),
      RB = M * K * 4 <= 2 * BLOCK_BYTES ? MG : Math.max(8, Math.floor(BLOCK_BYTES / (K * 4)));
    const xp = putF32(X),
      bp = alloc(PB * NR * K * 4),
      yp = alloc(batch * M * N * 4),
      wAll = RB >= MG ? putF32(Wt) : -1;
    const pointwise =
      KH === 1 && KW === 1 && g.SH === 1 && g.SW === 1 && g.PT === 0 && g.PL === 0 && OH === H && OW === W;
    for (let n = 0; n < batch; n++) {
      for (let gi = 0; gi < group; gi++) {
        const xg = xp + (n * C + gi * CG) * H * W * 4;
        for (let q0 = 0; q0 < P; q0 += PB) {
          const q1 = Math.min(P, q0 + PB);
          // A 1×1 stride-1 unpadded conv reads x[c, h·w] as B directly; anything else goes through im2col.
          if (pointwise) over('packB', [xg, N, 1, K, N, bp, q0], q0, q1, K * (q1 - q0) * NR, PARALLEL_ELEMS);
          else
            over(
              'im2colPacked',
              [xg, CG, H, W, KH, KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, OH, OW, bp, q0],
              q0,
              q1,
              K * (q1 - q0) * NR,
              PARALLEL_ELEMS,
            );
          for (let r0 = 0; r0 < MG; r0 += RB) {
            const rows = Math.min(RB, MG - r0),
              mark = top,
              m0 = gi * MG + r0;
            const wp = wAll >= 0 ? wAll + m0 * K * 4 : stage(Wt, [[m0 * K, rows * K]], false);
            gemm(rows, N, K, wp, K, 1, bp, q0, yp + (n * M + m0) * N * 4, N, q0, q1);
            top = mark;
          }
        }
      }
    }
    if (bias) {
      const y = f32View(yp, batch * M * N);
      for (let n = 0; n < batch; n++)
        for (let m = 0; m < M; m++) {
          const o = (n * M + m) * N,
            b = bias[m];
          for (let i = 0; i < N; i++) y[o + i] += b;
        }
    }
    return takeAs(outType, yp, batch * M * N);
  });
}

/** Elementwise ops with a wasm f32 loop: name → [kernel, kernel with the operands swapped]. */
const BINARY: Record<string, [keyof Exports, keyof Exports]> = {
  Add: ['addF32', 'addF32'],
  Sub: ['subF32', 'subF32Rev'],
  Mul: ['mulF32', 'mulF32'],
  Div: ['divF32', 'divF32Rev'],
};
export const wasmBinaryOps = new Set(Object.keys(BINARY));
/**
 * o = a ∘ b (b ∘ a when `rev`) for a float op in wasmBinaryOps, b broadcast as [outer, bl, inner] over the
 * full-size a, computed in f32 (equal to float64 and one rounding for these ops) and rounded once to `outType`.
 */
export function binaryF32(
  op: string,
  a: FloatData,
  b: FloatData,
  outer: number,
  bl: number,
  inner: number,
  rev: boolean,
  outType: number,
): TypedArray {
  return call(() => {
    const n = a.data.length,
      ap = putF32(a),
      bp = putF32(b);
    wasm![BINARY[op][rev ? 1 : 0]](ap, bp, ap, bl, inner, 0, outer); // in place: o[i] reads only a[i]
    return takeAs(outType, ap, n);
  });
}
/** Relu (x > 0 ? x : 0) in f32, rounded once to `outType`. */
export const reluF32 = (x: FloatData, outType: number): TypedArray => unaryF32('reluF32', x, outType);
/** erf in f32 (as/kernels.ts erfF32: the JS erf's formula, evaluated in f32), rounded once to `outType`. */
export const erfF32 = (x: FloatData, outType: number): TypedArray => unaryF32('erfF32', x, outType);
function unaryF32(fn: 'reluF32' | 'erfF32', x: FloatData, outType: number): TypedArray {
  return call(() => {
    const n = x.data.length,
      p = putF32(x);
    wasm![fn](p, p, 0, Math.ceil(n / 4) * 4); // whole vectors: the arena rounds allocations to 16 bytes
    return takeAs(outType, p, n);
  });
}
/** y = x·k[c] + t[c] for x[outer, C, inner] (an inference BatchNormalization's affine form), in f32, rounded once to `outType`. */
export function affineF32(
  x: FloatData,
  k: Float32Array,
  t: Float32Array,
  outer: number,
  inner: number,
  outType: number,
): TypedArray {
  return call(() => {
    const n = x.data.length,
      p = putF32(x),
      kp = alloc(k.length * 4),
      tp = alloc(t.length * 4);
    f32View(kp, k.length).set(k);
    f32View(tp, t.length).set(t);
    wasm!.affineF32(p, kp, tp, p, k.length, inner, 0, outer);
    return takeAs(outType, p, n);
  });
}
