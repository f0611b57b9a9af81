/**
 * What a WGSL kernel builds: GPU tensors, the program description it returns, its named parameters, binding
 * declarations and WGSL snippets, and the context a program is built for (./runner.ts runs it). A program's key
 * names kernel + dtypes + rank, never shapes: shapes travel in a small `meta` storage buffer, so one compiled
 * pipeline serves every shape.
 */
import { DataType } from '../../src/core/dtype.js';

export interface GpuTensor {
  dtype: number;
  dims: number[];
  buffer: GPUBuffer;
  bytes: number;
  /** An initializer's upload: its contents never change while the executor lives, so forms packed from it are kept. */
  constant?: boolean;
}
/**
 * An operand a kernel reads as an rgba32float texture (four f32 values a texel) instead of a storage buffer:
 * `pack` fills it (its one storage texture, bound after its buffers). Packed once when `keep` names a constant
 * buffer (with `key`, the layout), else before every dispatch.
 */
export interface TextureOperand {
  width: number;
  height: number;
  pack: Program;
  keep?: GPUBuffer;
  key: string;
}
export interface Program {
  /** Pipeline cache key: kernel name + dtypes + anything else that changes the WGSL. */
  key: string;
  wgsl: () => string;
  inputs: GpuTensor[];
  outputs: { dtype: number; dims: number[] }[];
  meta: number[];
  /** Workgroups in x (split over y when > 65535 unless groupsY is given), y and z. */
  groups: number;
  groupsY?: number;
  groupsZ?: number;
  /** Write into these tensors instead of new ones (the column blocks of a product split over N share one). */
  into?: GpuTensor[];
  /** Sampled textures, bound after the outputs (./runner.ts packs them). */
  textures?: TextureOperand[];
  /** The storage texture a pack program writes, bound after its buffers (set by the runner). */
  target?: GPUTexture;
  /** A second dispatch on this one's outputs (e.g. copy, then scatter into the copy); its outputs are the op's. */
  next?: (outs: GpuTensor[]) => Program;
}

export const MAX_X = 65535;

/** WGSL: the IEEE half bits of f32 x rounded to nearest even, ±Inf past the range, NaN kept (as src/core/half.ts). */
export const HALF_BITS = `fn half_bits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let sign = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  var o: u32;
  if (a >= 0x47800000u) {
    o = select(0x7c00u, 0x7e00u | ((a >> 13u) & 0x3ffu), a > 0x7f800000u);
  } else if (a < 0x38800000u) {
    // subnormal: shift the full significand, round to nearest even
    let e = i32(a >> 23u);
    if (e < 102) { o = 0u; } else {
      let m = (a & 0x7fffffu) | 0x800000u;
      let shift = u32(126 - e);
      let q = m >> shift;
      let rem = m & ((1u << shift) - 1u);
      let half = 1u << (shift - 1u);
      o = q + select(0u, 1u, rem > half || (rem == half && (q & 1u) == 1u));
    }
  } else {
    o = (a - 0x37fff001u + ((a >> 13u) & 1u)) >> 13u;
  }
  return o | sign;
}`;
export const Q16 = `${HALF_BITS}
fn q16(x: f32) -> f32 { return unpack2x16float(half_bits(x)).x; }`;
/**
 * bf16 has no WGSL type: bf16 tensors always live in f32 buffers, every store rounding through `qb16` (round to
 * nearest even on the upper 16 bits, NaN kept quiet — src/core/half.ts f32ToBf16Bits), as emulated fp16 does.
 */
export const QB16 = `fn qb16(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu) != 0u) { return bitcast<f32>((b | 0x400000u) & 0xffff0000u); }
  return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u);
}`;
export const numel = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * What a program depends on besides its node and inputs — handed to every kernel, never read from globals, so a
 * pipeline built for one device is never reused for another (the cache key includes `key`):
 * - `halfEmulated`: fp16 storage on adapters without shader-f16 (or when asked): fp16 tensors live in f32 buffers
 *   and every store rounds through `q16` — the same values, and the same one rounding per op, as native f16 storage;
 * - `software`: the adapter is a software rasterizer (lavapipe/llvmpipe, SwiftShader): each invocation is a SIMD
 *   lane of a CPU thread, workgroup memory is ordinary memory and every barrier splits the shader — so GEMMs use
 *   register blocks without workgroup memory, and PROLOGUE kernels compute several elements an invocation;
 * - `opset`: the model's default-domain opset;
 * - `maxTexture`: on software adapters, GEMMs read their operands from rgba32float textures up to this side — a
 *   texel fetch is a plain vector load there, where a storage-buffer read is a bounds-checked branch per lane.
 */
export class ProgramContext {
  /** Elements each invocation of a PROLOGUE kernel computes (an 8M-element Relu on lavapipe: 41 ms at 1, 15.5 ms at 8). */
  readonly perInvocation: number;
  /** Distinguishes the pipelines of contexts that generate different WGSL for the same kernel key. */
  readonly key: string;
  constructor(
    readonly halfEmulated: boolean,
    readonly software: boolean,
    readonly opset: number,
    /** The largest 2-D texture side kernels may pack operands into (0: none). */
    readonly maxTexture = 0,
    /** Convs from this many output channels take the texture GEMM (measured per rasterizer: docs/runtimes.md). */
    readonly convTextureFrom = 128,
  ) {
    this.perInvocation = software ? 8 : 1;
    this.key = `${halfEmulated ? 'q16' : 'f16'}|${this.perInvocation}|${software ? 'sw' : 'hw'}`;
  }
  /** The WGSL type a kernel converts its results to on store: f32, f16, or (emulated) q16 / qb16, rounding in f32. */
  type(dtype: number): string {
    return dtype === DataType.FLOAT16
      ? this.halfEmulated
        ? 'q16'
        : 'f16'
      : dtype === DataType.BFLOAT16
        ? 'qb16'
        : 'f32';
  }
  // int64 tensors (MaxPool's indices) live on the GPU as i32: positions in a tensor the GPU can bind fit.
  // BOOL tensors live as u32 0/1 (WGSL has no 8-bit storage).
  storageType(dtype: number): string {
    return dtype === DataType.FLOAT16 && !this.halfEmulated
      ? 'f16'
      : dtype === DataType.INT64
        ? 'i32'
        : dtype === DataType.BOOL
          ? 'u32'
          : 'f32';
  }
  elemBytes(dtype: number): number {
    return dtype === DataType.FLOAT16 && !this.halfEmulated ? 2 : 4;
  }
  /** Binding declarations: meta at 0, inputs from 1, outputs after; `enable f16` when any is half. */
  bindings(inputs: number[], outputs: number[]): string {
    const half = [...inputs, ...outputs].includes(DataType.FLOAT16);
    const ins = inputs.map(
      (t, i) => `@group(0) @binding(${i + 1}) var<storage, read> in${i}: array<${this.storageType(t)}>;`,
    );
    const outs = outputs.map(
      (t, i) =>
        `@group(0) @binding(${inputs.length + 1 + i}) var<storage, read_write> out${i}: array<${this.storageType(t)}>;`,
    );
    const bf16 = [...inputs, ...outputs].includes(DataType.BFLOAT16);
    return [
      half && !this.halfEmulated ? 'enable f16;' : '',
      '@group(0) @binding(0) var<storage, read> prm: array<u32>;',
      ...ins,
      ...outs,
      half && this.halfEmulated ? Q16 : '',
      bf16 ? QB16 : '',
    ].join('\n');
  }
  /**
   * Standard prologue: the flat global index over a 2-D dispatch of 64-wide workgroups (perInvocation indices
   * each), the kernel's named parameters, and a bounds guard on `count` (an expression over them). The kernel's
   * body follows and closes `body` — a function per index, so its early `return`s end one index only.
   */
  prologue(count: string, p?: Params): string {
    return `${p?.module ?? ''}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i0 = (gid.x + gid.y * ${MAX_X * 64}u) * ${this.perInvocation}u;
  for (var e = 0u; e < ${this.perInvocation}u; e++) { body(i0 + e); }
}
fn body(i: u32) {${p ? `\n  ${p.locals}` : ''}
  if (i >= ${count}) { return; }`;
  }
  /** Workgroups for `n` elements of a PROLOGUE kernel. */
  groups(n: number): number {
    return Math.ceil(n / (64 * this.perInvocation));
  }
}

/** f32, f16 or bf16 tensor (the types the kernels take). */
export const isFloatTensor = (t?: GpuTensor): boolean =>
  !!t && (t.dtype === DataType.FLOAT || t.dtype === DataType.FLOAT16 || t.dtype === DataType.BFLOAT16);

/**
 * A kernel's parameters, by name (onnxruntime-web's uniforms, in spirit). They travel in the `prm` meta
 * buffer, so one pipeline serves every shape; the kernel declares each once and its WGSL reads `name`
 * (scalars, bound by `let` at the top of main) or `name(j)` (arrays, through an accessor function) —
 * never a raw offset. Arrays are padded to a fixed length so the layout does not depend on the rank.
 */
export class Params {
  readonly meta: number[] = [];
  private lets: string[] = [];
  private fns: string[] = [];
  u32(name: string, v: number): this {
    return this.scalar(name, v >>> 0, (k) => `prm[${k}u]`);
  }
  i32(name: string, v: number): this {
    return this.scalar(name, v >>> 0, (k) => `i32(prm[${k}u])`);
  }
  f32(name: string, v: number): this {
    return this.scalar(name, f32bits(v), (k) => `bitcast<f32>(prm[${k}u])`);
  }
  /** u32 values read as `name(j)`; padded with `pad` up to `len` entries. */
  array(name: string, values: number[], len = values.length, pad = 0): this {
    const k = this.meta.length;
    for (let j = 0; j < len; j++) this.meta.push((j < values.length ? values[j] : pad) >>> 0);
    this.fns.push(`fn ${name}(j: u32) -> u32 { return prm[${k}u + j]; }`);
    return this;
  }
  /** Module-scope WGSL (array accessors); PROLOGUE places it. */
  get module(): string {
    return this.fns.join('\n');
  }
  /** The scalar `let` bindings for the top of main; PROLOGUE places them (other entry points use this). */
  get locals(): string {
    return this.lets.join(' ');
  }
  private scalar(name: string, bits: number, read: (k: number) => string): this {
    this.lets.push(`let ${name} = ${read(this.meta.length)};`);
    this.meta.push(bits);
    return this;
  }
}

/**
 * WGSL that walks flat index `i` over the dims accessor `shape` (rank `rank`, innermost axis first) and
 * accumulates, for each strided input, `off += coordinate * strides(axis)` into the named u32 variable.
 */
export function stridedOffsets(shape: string, rank: string, offsets: Record<string, string>): string {
  const vars = Object.keys(offsets);
  return `var rem = i; ${vars.map((v) => `var ${v} = 0u;`).join(' ')}
  for (var k = 0u; k < ${rank}; k++) {
    let ax = ${rank} - 1u - k;
    let c = rem % ${shape}(ax); rem = rem / ${shape}(ax);
    ${vars.map((v) => `${v} += c * ${offsets[v]}(ax);`).join(' ')}
  }`;
}
/** Strides of `dims` broadcast into `out` (0 on broadcast axes), right-aligned. */
export function bstrides(dims: number[], out: number[]): number[] {
  const r = out.length,
    s = new Array(r).fill(0);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    const a = r - dims.length + i;
    s[a] = dims[i] === 1 ? 0 : acc;
    acc *= dims[i];
  }
  return s;
}
/** f32 bits of a float for the u32 meta buffer. */
export const f32bits = (x: number) => new Uint32Array(Float32Array.from([x]).buffer)[0];
