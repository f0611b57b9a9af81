/**
 * The CPU executor's WebAssembly SIMD kernels (runtime/cpu/wasm/as/, built by `npm run build:wasm`): a
 * register-tiled f32 GEMM on packed panels, and im2col that writes those panels directly. Why WebAssembly:
 * V8 runs these 128-bit SIMD loops at 30–40 GFLOP/s on one core here, ~50× the float64 JS loops they
 * replace; why AssemblyScript: it is an npm package (no toolchain download) and reads like the TypeScript
 * around it.
 *
 * Memory: one shared WebAssembly.Memory owned by this module, used as a per-call arena (inputs are copied in,
 * results copied out, then the arena is reset), so kernels never hold JS objects and calls never overlap.
 * Accumulation is f32, in k order — what fp32-accumulating GPU kernels do.
 */
import { KERNELS_WASM } from './kernels.wasm.js';
import { startPool, type Pool } from './threads.js';

interface Exports {
  packB(b: number, rs: number, cs: number, K: number, N: number, dst: number, p0: number, p1: number): void;
  gemm(M: number, N: number, K: number, a: number, ars: number, acs: number, bp: number, c: number, ldc: number, acc: number, m0: number, m1: number, p0: number, p1: number): void;
  im2colPacked(x: number, C: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number, PT: number, PL: number,
    DH: number, DW: number, OH: number, OW: number, dst: number, p0: number, p1: number): void;
}

const PAGE = 65536;
/** Columns per packed panel (the micro-kernel's width, NR in as/kernels.ts). */
export const NR = 8;
const BASE = PAGE; // below: nothing of ours (the module has no data), kept free for safety

let memory: WebAssembly.Memory | undefined;
let wasm: Exports | undefined;
let pool: Pool | undefined;
let top = BASE;

function load(): Exports {
  if (wasm) return wasm;
  memory = new WebAssembly.Memory({ initial: 17, maximum: 65536, shared: true });
  const mod = new WebAssembly.Module(Buffer.from(KERNELS_WASM, 'base64'));
  wasm = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as Exports;
  pool = startPool(memory, mod, ['packB', 'gemm', 'im2colPacked'], wasm as unknown as Record<string, (...a: number[]) => void>);
  return wasm;
}
/** Threads the kernels run on (the calling thread included). */
export const kernelThreads = (): number => { load(); return pool!.threads; };

// Parallel forms: the last two arguments of each kernel are the [lo, hi) range it covers.
const packB = (b: number, rs: number, cs: number, K: number, N: number, dst: number, P: number) =>
  pool!.parallelFor('packB', [b, rs, cs, K, N, dst, 0, P], 0, P, 6);
const im2col = (args: number[], P: number) => pool!.parallelFor('im2colPacked', [...args, 0, P], 0, P, args.length);
/** Splits over panels when there are enough of them, else over rows. */
function gemm(M: number, N: number, K: number, a: number, ars: number, acs: number, bp: number, c: number, ldc: number, P: number): void {
  const args = [M, N, K, a, ars, acs, bp, c, ldc, 0, 0, M, 0, P];
  if (P >= 2 * pool!.threads || M < 8) pool!.parallelFor('gemm', args, 0, P, 12);
  else pool!.parallelFor('gemm', args, 0, M, 10);
}

/** Reserves `floats` f32 in the arena (16-byte aligned), growing the memory as needed; returns the byte address. */
function alloc(floats: number): number {
  const p = top;
  top = p + Math.ceil((floats * 4) / 16) * 16;
  const need = top - memory!.buffer.byteLength;
  if (need > 0) memory!.grow(Math.ceil(need / PAGE));
  return p;
}
const view = (p: number, n: number) => new Float32Array(memory!.buffer, p, n);

/** Runs `fn` with a fresh arena and releases it afterwards (also on error). */
function call<T>(fn: (k: Exports) => T): T {
  const k = load();
  top = BASE;
  try { return fn(k); } finally { top = BASE; }
}

/** A matrix operand: element (r, c) at data[off + r·rs + c·cs]. */
export interface Mat { data: Float32Array; off?: number; rs: number; cs: number }

/** C[M, N] = A[M, K]·B[K, N] in f32; returns a new Float32Array (row-major). */
export function sgemm(M: number, N: number, K: number, A: Mat, B: Mat): Float32Array {
  return sgemmBatched(M, N, K, A.data, B.data, { ars: A.rs, acs: A.cs, brs: B.rs, bcs: B.cs }, [[A.off ?? 0, B.off ?? 0]]);
}

/**
 * One GEMM per batch entry [aOff, bOff] (element offsets into a and b), results stacked: C[batch, M, N]. Each
 * operand is copied into the arena once; B is packed once per distinct offset in a row (a shared weight once).
 */
export function sgemmBatched(M: number, N: number, K: number, a: Float32Array, b: Float32Array,
  s: { ars: number; acs: number; brs: number; bcs: number }, batches: [number, number][]): Float32Array {
  const MN = M * N;
  if (MN === 0 || K === 0) return new Float32Array(MN * batches.length);
  return call(() => {
    const ap = alloc(a.length), bp0 = alloc(b.length);
    view(ap, a.length).set(a);
    view(bp0, b.length).set(b);
    const P = Math.ceil(N / NR);
    const bp = alloc(P * NR * K), c = alloc(MN * batches.length);
    let packed = -1;
    batches.forEach(([ao, bo], i) => {
      if (bo !== packed) { packB(bp0 + bo * 4, s.brs, s.bcs, K, N, bp, P); packed = bo; }
      gemm(M, N, K, ap + ao * 4, s.ars, s.acs, bp, c + i * MN * 4, N, P);
    });
    return view(c, MN * batches.length).slice();
  });
}

export interface Conv2d { C: number; H: number; W: number; M: number; KH: number; KW: number; SH: number; SW: number; PT: number; PL: number; DH: number; DW: number; OH: number; OW: number; group: number }

/**
 * 2-D convolution of x[N, C, H, W] with w[M, C/group, KH, KW] (no bias): im2col into packed panels, then one
 * GEMM per image and group (weights as A, so no weight packing). Returns y[N, M, OH, OW].
 */
export function conv2d(x: Float32Array, batch: number, w: Float32Array, g: Conv2d): Float32Array {
  const { C, H, W, M, KH, KW, OH, OW, group } = g;
  const CG = C / group, MG = M / group, K = CG * KH * KW, N = OH * OW, P = Math.ceil(N / NR);
  return call(() => {
    const xp = alloc(batch * C * H * W), wp = alloc(M * K), bp = alloc(P * NR * K), yp = alloc(batch * M * N);
    view(xp, batch * C * H * W).set(x);
    view(wp, M * K).set(w);
    const pointwise = KH === 1 && KW === 1 && g.SH === 1 && g.SW === 1 && g.PT === 0 && g.PL === 0 && OH === H && OW === W;
    for (let n = 0; n < batch; n++) {
      for (let gi = 0; gi < group; gi++) {
        const xg = xp + ((n * C + gi * CG) * H * W) * 4;
        // A 1×1 stride-1 unpadded conv reads x[c, h·w] as B directly; anything else goes through im2col.
        if (pointwise) packB(xg, N, 1, K, N, bp, P);
        else im2col([xg, CG, H, W, KH, KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, OH, OW, bp], P);
        gemm(MG, N, K, wp + gi * MG * K * 4, K, 1, bp, yp + ((n * M + gi * MG) * N) * 4, N, P);
      }
    }
    return view(yp, batch * M * N).slice();
  });
}
