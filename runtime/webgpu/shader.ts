/**
 * The shared layer of the WGSL kernels: GPU tensors, the program description a kernel returns, WGSL
 * helpers, and the runner (pipeline cache keyed by kernel + dtypes + rank, never by shapes: shapes travel
 * in a small `meta` storage buffer, so one compiled pipeline serves every shape).
 */
import { DataType } from '../../src/core/dtype.js';
import type { GpuContext } from './device.js';
import { AmpError } from '../../src/core/errors.js';

export interface GpuTensor { dtype: number; dims: number[]; buffer: GPUBuffer; bytes: number }
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
/**
 * fp16 storage on adapters without shader-f16 (or when asked): fp16 tensors live in f32 buffers and every
 * store rounds through `q16` — the same values, and the same one rounding per op, as native f16 storage.
 * Set around kernel construction and dispatch by the executor (kernels read it through wgslType/elemBytes).
 */
/** A flag set for the duration of a call (kernels read it while they build their programs). */
function scopedFlag(): { get: () => boolean; with: <T>(on: boolean, fn: () => T) => T } {
  let flag = false;
  return { get: () => flag, with: (on, fn) => { const saved = flag; flag = on; try { return fn(); } finally { flag = saved; } } };
}
const emulation = scopedFlag();
export const withHalfEmulation = emulation.with;
export const halfEmulated = emulation.get;

/**
 * The adapter is a software rasterizer (lavapipe/llvmpipe, SwiftShader): each invocation is a SIMD lane of a
 * CPU thread, workgroup memory is ordinary memory and every barrier splits the shader — so the GEMMs use
 * register blocks without workgroup memory there. Set around kernel construction by the executor.
 */
const software = scopedFlag();
export const withSoftwareAdapter = software.with;
export const softwareAdapter = software.get;
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
/** The WGSL type a kernel converts its results to on store: f32, f16, or (emulated) q16 / qb16, rounding in f32. */
export const wgslType = (dtype: number): string => (dtype === DataType.FLOAT16 ? (halfEmulated() ? 'q16' : 'f16') : dtype === DataType.BFLOAT16 ? 'qb16' : 'f32');
// int64 tensors (MaxPool's indices) live on the GPU as i32: positions in a tensor the GPU can bind fit.
// BOOL tensors live as u32 0/1 (WGSL has no 8-bit storage).
const storageType = (dtype: number): string => (dtype === DataType.FLOAT16 && !halfEmulated() ? 'f16' : dtype === DataType.INT64 ? 'i32' : dtype === DataType.BOOL ? 'u32' : 'f32');
export const elemBytes = (dtype: number): number => (dtype === DataType.FLOAT16 && !halfEmulated() ? 2 : 4);
export const numel = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** Binding declarations: meta at 0, inputs from 1, outputs after; `enable f16` when any is half. */
export function bindings(inputs: number[], outputs: number[]): string {
  const half = [...inputs, ...outputs].includes(DataType.FLOAT16);
  const ins = inputs.map((t, i) => `@group(0) @binding(${i + 1}) var<storage, read> in${i}: array<${storageType(t)}>;`);
  const outs = outputs.map((t, i) => `@group(0) @binding(${inputs.length + 1 + i}) var<storage, read_write> out${i}: array<${storageType(t)}>;`);
  const bf16 = [...inputs, ...outputs].includes(DataType.BFLOAT16);
  return [half && !halfEmulated() ? 'enable f16;' : '', '@group(0) @binding(0) var<storage, read> prm: array<u32>;', ...ins, ...outs, half && halfEmulated() ? Q16 : '', bf16 ? QB16 : ''].join('\n');
}
/**
 * Elements each invocation of a PROLOGUE kernel computes: one on GPUs; several on software adapters, where an
 * invocation's fixed cost outweighs a small body (an 8M-element Relu on lavapipe: 41 ms at 1, 15.5 ms at 8).
 */
export const perInvocation = (): number => (software.get() ? 8 : 1);
/**
 * Standard prologue: the flat global index over a 2-D dispatch of 64-wide workgroups (perInvocation() indices
 * each), the kernel's named parameters, and a bounds guard on `count` (an expression over them). The kernel's
 * body follows and closes `body` — a function per index, so its early `return`s end one index only.
 */
export const PROLOGUE = (count: string, p?: Params) => `${p?.module ?? ''}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i0 = (gid.x + gid.y * ${MAX_X * 64}u) * ${perInvocation()}u;
  for (var e = 0u; e < ${perInvocation()}u; e++) { body(i0 + e); }
}
fn body(i: u32) {${p ? `\n  ${p.locals}` : ''}
  if (i >= ${count}) { return; }`;

/** f32, f16 or bf16 tensor (the types the kernels take). */
export const isFloatTensor = (t?: GpuTensor): boolean => !!t && (t.dtype === DataType.FLOAT || t.dtype === DataType.FLOAT16 || t.dtype === DataType.BFLOAT16);

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
  u32(name: string, v: number): this { return this.scalar(name, v >>> 0, (k) => `prm[${k}u]`); }
  i32(name: string, v: number): this { return this.scalar(name, v >>> 0, (k) => `i32(prm[${k}u])`); }
  f32(name: string, v: number): this { return this.scalar(name, f32bits(v), (k) => `bitcast<f32>(prm[${k}u])`); }
  /** u32 values read as `name(j)`; padded with `pad` up to `len` entries. */
  array(name: string, values: number[], len = values.length, pad = 0): this {
    const k = this.meta.length;
    for (let j = 0; j < len; j++) this.meta.push((j < values.length ? values[j] : pad) >>> 0);
    this.fns.push(`fn ${name}(j: u32) -> u32 { return prm[${k}u + j]; }`);
    return this;
  }
  /** Module-scope WGSL (array accessors); PROLOGUE places it. */
  get module(): string { return this.fns.join('\n'); }
  /** The scalar `let` bindings for the top of main; PROLOGUE places them (other entry points use this). */
  get locals(): string { return this.lets.join(' '); }
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
  const r = out.length, s = new Array(r).fill(0);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) { const a = r - dims.length + i; s[a] = dims[i] === 1 ? 0 : acc; acc *= dims[i]; }
  return s;
}
export const groupsFor = (n: number) => Math.ceil(n / (64 * perInvocation()));
/** f32 bits of a float for the u32 meta buffer. */
export const f32bits = (x: number) => new Uint32Array(Float32Array.from([x]).buffer)[0];

/** The parameter ring buffer's size: 1024 dispatches of up to 256 bytes of parameters per submission. */
const META_BYTES = 256 * 1024;

export class Runner {
  private pipelines = new Map<string, GPUComputePipeline>();
  private encoder?: GPUCommandEncoder;
  private pass?: GPUComputePassEncoder;
  private pool = new Map<number, GPUBuffer[]>();
  private binds = new Map<string, GPUBindGroup>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 0;
  private idOf(b: GPUBuffer): number { let id = this.ids.get(b); if (id === undefined) { id = this.nextId++; this.ids.set(b, id); } return id; }
  private metaBuf?: GPUBuffer;
  private metaData = new Uint32Array(META_BYTES / 4);
  private metaOff = 0;
  private readonly align: number;
  constructor(readonly ctx: GpuContext) { this.align = Math.max(16, ctx.device.limits.minStorageBufferOffsetAlignment); }

  /** A storage buffer of at least `bytes` (rounded to 4), reused from the pool when possible. */
  alloc(bytes: number): GPUBuffer {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const free = this.pool.get(size);
    if (free?.length) return free.pop()!;
    return this.ctx.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }
  release(b: GPUBuffer): void {
    const list = this.pool.get(b.size) ?? [];
    list.push(b);
    this.pool.set(b.size, list);
  }
  upload(dtype: number, dims: number[], data: ArrayBufferView): GpuTensor {
    // queue.writeBuffer runs before commands still being recorded: submit those first, or a pooled buffer
    // they read could be overwritten before they run.
    this.flush();
    const bytes = data.byteLength;
    const buffer = this.alloc(bytes);
    const padded = bytes % 4 ? new Uint8Array(Math.ceil(bytes / 4) * 4) : undefined;
    if (padded) padded.set(new Uint8Array(data.buffer, data.byteOffset, bytes));
    this.ctx.device.queue.writeBuffer(buffer, 0, padded ?? (data as BufferSource));
    return { dtype, dims, buffer, bytes };
  }

  /** A new (pooled) tensor of this type and shape. */
  tensor(dtype: number, dims: number[]): GpuTensor {
    const bytes = numel(dims) * elemBytes(dtype);
    return { dtype, dims, buffer: this.alloc(bytes), bytes };
  }

  run(p: Program): GpuTensor[] {
    const dev = this.ctx.device;
    const outs = p.into ?? p.outputs.map((o) => this.tensor(o.dtype, o.dims));
    if (numel(p.outputs[0]?.dims ?? [1]) === 0 || p.groups === 0) return outs;
    const key = `${p.key}|${perInvocation()}`; // PROLOGUE kernels differ by it
    let pipe = this.pipelines.get(key);
    if (!pipe) {
      const module = dev.createShaderModule({ code: p.wgsl() });
      pipe = dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(key, pipe);
    }
    // Parameters go into one ring buffer per submission (written once, at flush), bound at an aligned offset,
    // instead of a new buffer per dispatch.
    const bytes = Math.max(16, p.meta.length * 4), span = Math.ceil(bytes / this.align) * this.align;
    if (this.metaOff + span > META_BYTES) this.flush();
    this.metaBuf ??= dev.createBuffer({ size: META_BYTES, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const at = this.metaOff;
    p.meta.forEach((x, k) => { this.metaData[at / 4 + k] = x >>> 0; });
    this.metaOff += span;
    const buffers = [...p.inputs.map((t) => t.buffer), ...outs.map((t) => t.buffer)];
    // Bind groups are reused: a run repeats the same kernels on the same pooled buffers at the same offsets.
    const bkey = `${key}|${at}|${bytes}|${buffers.map((b) => this.idOf(b)).join(',')}`;
    let bind = this.binds.get(bkey);
    if (!bind) {
      const entries = [{ binding: 0, resource: { buffer: this.metaBuf, offset: at, size: bytes } }, ...buffers.map((buffer, k) => ({ binding: k + 1, resource: { buffer } }))];
      bind = dev.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
      if (this.binds.size > 8192) this.binds.clear();
      this.binds.set(bkey, bind);
    }
    this.encoder ??= dev.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pipe);
    this.pass.setBindGroup(0, bind);
    const x = p.groupsY ? p.groups : Math.min(p.groups, MAX_X), y = p.groupsY ?? Math.ceil(p.groups / MAX_X);
    this.pass.dispatchWorkgroups(x, y, p.groupsZ ?? 1);
    return p.next ? this.run(p.next(outs)) : outs;
  }

  /** Submits everything recorded so far (one command encoder per stretch of GPU work). */
  flush(): void {
    if (!this.encoder) return;
    // queue.writeBuffer lands before the commands submitted after it, and after those submitted before.
    if (this.metaOff) this.ctx.device.queue.writeBuffer(this.metaBuf!, 0, this.metaData, 0, this.metaOff / 4);
    this.metaOff = 0;
    this.pass?.end();
    this.ctx.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
    this.pass = undefined;
  }

  async read(t: GpuTensor): Promise<Uint8Array> { return (await this.readMany([t]))[0]; }

  /** Reads tensors back with one copy submission and one mapping (each readback is a round trip). */
  async readMany(ts: GpuTensor[]): Promise<Uint8Array[]> {
    this.flush();
    if (!ts.length) return [];
    const sizes = ts.map((t) => Math.max(4, Math.ceil(t.bytes / 4) * 4));
    const offsets = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
    const staging = this.ctx.device.createBuffer({ size: Math.max(4, sizes.reduce((a, b) => a + b, 0)), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.ctx.device.createCommandEncoder();
    ts.forEach((t, k) => enc.copyBufferToBuffer(t.buffer, 0, staging, offsets[k], sizes[k]));
    this.ctx.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    if (this.ctx.errors.length) {
      const msg = this.ctx.errors.splice(0).join('; ');
      staging.unmap(); staging.destroy();
      throw new AmpError(`WebGPU error: ${msg}`);
    }
    const mapped = staging.getMappedRange();
    const out = ts.map((t, k) => new Uint8Array(mapped.slice(offsets[k], offsets[k] + t.bytes)));
    staging.unmap();
    staging.destroy();
    return out;
  }

  dispose(): void {
    this.metaBuf?.destroy();
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
  }
}
