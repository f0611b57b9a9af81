/**
 * The CPU executor's WebAssembly SIMD kernels (runtime/cpu/wasm/as/, built by `npm run build:wasm`): a
 * register-tiled f32 GEMM on packed panels, im2col that writes those panels directly, and bit-exact
 * fp16 ↔ f32 conversion. Why WebAssembly: V8 runs these 128-bit SIMD loops at 30–40 GFLOP/s on one core here,
 * ~50× the float64 JS loops they replace; why AssemblyScript: it is an npm package (no toolchain download)
 * and reads like the TypeScript around it. Large kernels are split over worker threads (./threads.ts).
 *
 * Memory: one shared WebAssembly.Memory owned by this module, used as a per-call arena (inputs are copied in
 * — fp16 decoded on the way — results copied out, rounded once to their storage type, then the arena is
 * reset), so kernels never hold JS objects and calls never overlap. Accumulation is f32, in k order: what
 * fp32-accumulating GPU kernels do.
 */
import { KERNELS_WASM } from './kernels.wasm.js';
import { startPool, type Pool } from './threads.js';
import { DataType, type TypedArray } from '../../../src/ir/dtype.js';
import { bf16ArrayToF32, f32ArrayToBf16 } from '../../../src/ir/half.js';
import { takeBuffer } from '../pool.js';

type Fn = (...a: number[]) => void;
interface Exports { packB: Fn; packB16: Fn; gemm: Fn; gemmRows: Fn; gemmRows16: Fn; im2colPacked: Fn; f16ToF32: Fn; f32ToF16: Fn }

const PAGE = 65536;
/** Columns per packed panel (the micro-kernel's width, NR in as/kernels.ts). */
export const NR = 8;
const BASE = PAGE; // below: nothing of ours (the module has no data), kept free for safety
/** Work below which a kernel runs on the calling thread alone (waking workers costs more than it saves). */
const PARALLEL_FLOPS = 1 << 21, PARALLEL_ELEMS = 1 << 16;

let memory: WebAssembly.Memory | undefined;
let wasm: Exports | undefined;
let pool: Pool | undefined;
let top = BASE;

function load(): Exports {
  if (wasm) return wasm;
  memory = new WebAssembly.Memory({ initial: 17, maximum: 65536, shared: true });
  const mod = new WebAssembly.Module(Buffer.from(KERNELS_WASM, 'base64'));
  wasm = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as Exports;
  pool = startPool(memory, mod, Object.keys(wasm), wasm as unknown as Record<string, Fn>);
  return wasm;
}
/** Threads the kernels run on (the calling thread included). */
export const kernelThreads = (): number => { load(); return pool!.threads; };

/** Runs kernel `fn` over [lo, hi) (its last two arguments), on the workers too when `work` is large. */
function over(fn: keyof Exports, args: number[], lo: number, hi: number, work: number, threshold: number): void {
  if (work < threshold) wasm![fn](...args, lo, hi);
  else pool!.parallelFor(fn, [...args, lo, hi], lo, hi, args.length);
}
/** C = A·B on packed B: split over panels when there are enough of them, else over rows. */
function gemm(M: number, N: number, K: number, a: number, ars: number, acs: number, bp: number, c: number, ldc: number, P: number): void {
  const flops = 2 * M * N * K;
  if (flops < PARALLEL_FLOPS) wasm!.gemm(M, N, K, a, ars, acs, bp, c, ldc, 0, 0, M, 0, P);
  else if (P >= 2 * pool!.threads || M < 8) pool!.parallelFor('gemm', [M, N, K, a, ars, acs, bp, c, ldc, 0, 0, M, 0, P], 0, P, 12);
  else pool!.parallelFor('gemm', [M, N, K, a, ars, acs, bp, c, ldc, 0, 0, M, 0, P], 0, M, 10);
}
const packB = (b: number, rs: number, cs: number, K: number, N: number, dst: number, P: number, half = false) =>
  over(half ? 'packB16' : 'packB', [b, rs, cs, K, N, dst], 0, P, K * N, PARALLEL_ELEMS);

/** High-water mark of the kernel arena, in bytes (the memory never shrinks; it is reused by every call). */
export const arenaBytes = (): number => (memory ? memory.buffer.byteLength : 0);

/** Reserves `bytes` in the arena (16-byte aligned), growing the memory as needed; returns the address. */
function alloc(bytes: number): number {
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
  try { return fn(); } finally { top = BASE; busy = false; }
}

/** A float tensor's storage: FLOAT (Float32Array), FLOAT16 or BFLOAT16 (Uint16Array of bits). */
export interface FloatData { dtype: number; data: TypedArray | string[] }
export const wasmFloat = (dtype: number): boolean => dtype === DataType.FLOAT || dtype === DataType.FLOAT16 || dtype === DataType.BFLOAT16;

/** Copies a float tensor into the arena as f32 (fp16 decoded in wasm, exactly; its staging copy released). */
function putF32(t: FloatData): number {
  const n = t.data.length, p = alloc(n * 4);
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
 * Packs operand B (element (k, n) at off + k·rs + n·cs) into f32 panels at `dst` straight from its storage
 * (fp16 decoded while packing); the staging copy is released afterwards.
 */
function putPackedB(t: FloatData, off: number, rs: number, cs: number, K: number, N: number, dst: number, P: number): void {
  const mark = top, n = t.data.length;
  if (t.dtype === DataType.FLOAT16) {
    const h = alloc(n * 2);
    u16View(h, n).set(t.data as Uint16Array);
    packB(h + off * 2, rs, cs, K, N, dst, P, true);
  } else {
    const p = putF32(t);
    packB(p + off * 4, rs, cs, K, N, dst, P);
  }
  top = mark;
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
const copyOut = <T extends Float32Array | Uint16Array>(src: T, dst: T): T => { dst.set(src); return dst; };

/** fp16 bits → f32 values, bit-exact (as src/ir/half.ts), in wasm. */
export function f16ToF32(src: Uint16Array): Float32Array {
  return call(() => {
    const p = putF32({ dtype: DataType.FLOAT16, data: src });
    return copyOut(f32View(p, src.length), takeBuffer(Float32Array, src.length));
  });
}
/** f32 → fp16 bits, round to nearest even, bit-exact (as src/ir/half.ts), in wasm. */
export function f32ToF16(src: Float32Array): Uint16Array {
  return call(() => takeAs(DataType.FLOAT16, putF32({ dtype: DataType.FLOAT, data: src }), src.length) as Uint16Array);
}

/**
 * One GEMM per batch entry [aOff, bOff] (element offsets into A and B; element (r, c) of an operand at
 * off + r·rs + c·cs), results stacked as C[batch, M, N] of storage type `outType`. Each operand is copied
 * into the arena once; B is packed once per distinct offset in a row (a shared weight once). `epilogue` may
 * edit the f32 results before the rounding to `outType`.
 */
export function sgemm(M: number, N: number, K: number, A: FloatData, B: FloatData, s: { ars: number; acs: number; brs: number; bcs: number },
  batches: [number, number][], outType: number, epilogue?: (c: Float32Array) => void): TypedArray {
  const MN = M * N;
  // Few rows against one row-major B (a matrix-vector product): stream B once, unpacked.
  if (M <= 4 && s.bcs === 1 && new Set(batches.map(([, bo]) => bo)).size === 1) return call(() => {
    // fp16 B is read as half bits, decoded while streaming (no f32 copy of the weights).
    const half = B.dtype === DataType.FLOAT16, eb = half ? 2 : 4;
    let bp0: number;
    if (half) { bp0 = alloc(B.data.length * 2); u16View(bp0, B.data.length).set(B.data as Uint16Array); } else bp0 = putF32(B);
    const ap = putF32(A), c = alloc(MN * batches.length * 4);
    batches.forEach(([ao, bo], i) => over(half ? 'gemmRows16' : 'gemmRows', [M, N, K, ap + ao * 4, s.ars, s.acs, bp0 + bo * eb, s.brs, c + i * MN * 4, N], 0, N, M * N * K, PARALLEL_FLOPS / 2));
    epilogue?.(f32View(c, MN * batches.length));
    return takeAs(outType, c, MN * batches.length);
  });
  return call(() => {
    const P = Math.ceil(N / NR);
    // Arena order: packed B first (its staging copy is released before A and C are placed).
    const bp = alloc(P * NR * K * 4);
    const distinctB = new Set(batches.map(([, bo]) => bo)).size;
    if (distinctB === 1 && MN && K) putPackedB(B, batches[0][1], s.brs, s.bcs, K, N, bp, P);
    const bAll = distinctB > 1 ? putF32(B) : 0;
    const ap = putF32(A), c = alloc(MN * batches.length * 4);
    f32View(c, MN * batches.length).fill(0);
    let packed = distinctB === 1 ? batches[0][1] : -1;
    if (MN && K) {
      batches.forEach(([ao, bo], i) => {
        if (bo !== packed) { packB(bAll + bo * 4, s.brs, s.bcs, K, N, bp, P); packed = bo; }
        gemm(M, N, K, ap + ao * 4, s.ars, s.acs, bp, c + i * MN * 4, N, P);
      });
    }
    epilogue?.(f32View(c, MN * batches.length));
    return takeAs(outType, c, MN * batches.length);
  });
}

export interface Conv2d { C: number; H: number; W: number; M: number; KH: number; KW: number; SH: number; SW: number; PT: number; PL: number; DH: number; DW: number; OH: number; OW: number; group: number }

/**
 * 2-D convolution of x[N, C, H, W] with w[M, C/group, KH, KW] plus an optional per-channel bias (added in
 * f32): im2col into packed panels, then one GEMM per image and group (weights as A, so no weight packing).
 * Returns y[N, M, OH, OW] of storage type `outType`.
 */
export function conv2d(X: FloatData, batch: number, Wt: FloatData, bias: ArrayLike<number> | undefined, g: Conv2d, outType: number): TypedArray {
  const { C, H, W, M, KH, KW, OH, OW, group } = g;
  const CG = C / group, MG = M / group, K = CG * KH * KW, N = OH * OW, P = Math.ceil(N / NR);
  return call(() => {
    const xp = putF32(X), wp = putF32(Wt), bp = alloc(P * NR * K * 4), yp = alloc(batch * M * N * 4);
    const pointwise = KH === 1 && KW === 1 && g.SH === 1 && g.SW === 1 && g.PT === 0 && g.PL === 0 && OH === H && OW === W;
    for (let n = 0; n < batch; n++) {
      for (let gi = 0; gi < group; gi++) {
        const xg = xp + ((n * C + gi * CG) * H * W) * 4;
        // A 1×1 stride-1 unpadded conv reads x[c, h·w] as B directly; anything else goes through im2col.
        if (pointwise) packB(xg, N, 1, K, N, bp, P);
        else over('im2colPacked', [xg, CG, H, W, KH, KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, OH, OW, bp], 0, P, K * N, PARALLEL_ELEMS);
        gemm(MG, N, K, wp + gi * MG * K * 4, K, 1, bp, yp + ((n * M + gi * MG) * N) * 4, N, P);
      }
    }
    if (bias) {
      const y = f32View(yp, batch * M * N);
      for (let n = 0; n < batch; n++) for (let m = 0; m < M; m++) { const o = (n * M + m) * N, b = bias[m]; for (let i = 0; i < N; i++) y[o + i] += b; }
    }
    return takeAs(outType, yp, batch * M * N);
  });
}
