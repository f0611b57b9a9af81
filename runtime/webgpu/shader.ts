/**
 * The shared layer of the WGSL kernels: GPU tensors, the program description a kernel returns, WGSL
 * helpers, and the runner (pipeline cache keyed by kernel + dtypes + rank, never by shapes: shapes travel
 * in a small `meta` storage buffer, so one compiled pipeline serves every shape).
 */
import { DataType } from '../../src/ir/dtype.js';
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
}

export const MAX_X = 65535;
export const wgslType = (dtype: number): string => (dtype === DataType.FLOAT16 ? 'f16' : 'f32');
export const elemBytes = (dtype: number): number => (dtype === DataType.FLOAT16 ? 2 : 4);
export const numel = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** Binding declarations: meta at 0, inputs from 1, outputs after; `enable f16` when any is half. */
export function bindings(inputs: number[], outputs: number[]): string {
  const f16 = [...inputs, ...outputs].includes(DataType.FLOAT16);
  const ins = inputs.map((t, i) => `@group(0) @binding(${i + 1}) var<storage, read> in${i}: array<${wgslType(t)}>;`);
  const outs = outputs.map((t, i) => `@group(0) @binding(${inputs.length + 1 + i}) var<storage, read_write> out${i}: array<${wgslType(t)}>;`);
  return [f16 ? 'enable f16;' : '', '@group(0) @binding(0) var<storage, read> prm: array<u32>;', ...ins, ...outs].join('\n');
}
/** Standard prologue: the flat global index over a 2-D dispatch of 64-wide workgroups, with a bounds guard. */
export const PROLOGUE = (count: string) => `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${MAX_X * 64}u;
  if (i >= ${count}) { return; }`;
export const groupsFor = (n: number) => Math.ceil(n / 64);
/** f32 bits of a float for the u32 meta buffer. */
export const f32bits = (x: number) => new Uint32Array(Float32Array.from([x]).buffer)[0];

export class Runner {
  private pipelines = new Map<string, GPUComputePipeline>();
  private encoder?: GPUCommandEncoder;
  private pass?: GPUComputePassEncoder;
  private pool = new Map<number, GPUBuffer[]>();
  private scratch: GPUBuffer[] = [];
  constructor(readonly ctx: GpuContext) {}

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

  run(p: Program): GpuTensor[] {
    const dev = this.ctx.device;
    const outs = p.outputs.map((o) => {
      const bytes = numel(o.dims) * elemBytes(o.dtype);
      return { dtype: o.dtype, dims: o.dims, buffer: this.alloc(bytes), bytes };
    });
    if (numel(p.outputs[0]?.dims ?? [1]) === 0 || p.groups === 0) return outs;
    let pipe = this.pipelines.get(p.key);
    if (!pipe) {
      const module = dev.createShaderModule({ code: p.wgsl() });
      pipe = dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(p.key, pipe);
    }
    const meta = dev.createBuffer({ size: Math.max(16, p.meta.length * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    dev.queue.writeBuffer(meta, 0, Uint32Array.from(p.meta.map((x) => x >>> 0)));
    this.scratch.push(meta);
    const entries = [meta, ...p.inputs.map((t) => t.buffer), ...outs.map((t) => t.buffer)].map((buffer, binding) => ({ binding, resource: { buffer } }));
    const bind = dev.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
    this.encoder ??= dev.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pipe);
    this.pass.setBindGroup(0, bind);
    const x = p.groupsY ? p.groups : Math.min(p.groups, MAX_X), y = p.groupsY ?? Math.ceil(p.groups / MAX_X);
    this.pass.dispatchWorkgroups(x, y, p.groupsZ ?? 1);
    return outs;
  }

  /** Submits everything recorded so far (one command encoder per stretch of GPU work). */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.ctx.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
    this.pass = undefined;
  }

  async read(t: GpuTensor): Promise<Uint8Array> {
    this.flush();
    const size = Math.max(4, Math.ceil(t.bytes / 4) * 4);
    const staging = this.ctx.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.ctx.device.createCommandEncoder();
    enc.copyBufferToBuffer(t.buffer, 0, staging, 0, size);
    this.ctx.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    if (this.ctx.errors.length) {
      const msg = this.ctx.errors.splice(0).join('; ');
      staging.unmap(); staging.destroy();
      throw new AmpError(`WebGPU error: ${msg}`);
    }
    const out = new Uint8Array(staging.getMappedRange().slice(0, t.bytes));
    staging.unmap();
    staging.destroy();
    for (const b of this.scratch) b.destroy();
    this.scratch = [];
    return out;
  }

  dispose(): void {
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    for (const b of this.scratch) b.destroy();
    this.scratch = [];
  }
}
