/**
 * Runs programs on a device: the pipeline cache (by kernel key and program context), the parameter ring buffer,
 * pooled storage buffers and their bind groups, submission, and readback.
 */
import { AmpError } from '../../src/core/errors.js';
import type { GpuContext } from './device.js';

/** Bytes per staging copy of an upload that cannot be written directly. */
const STAGE_BYTES = 16 << 20;
import { MAX_X, numel, type GpuTensor, type Program, type ProgramContext, type TextureOperand } from './program.js';

/** The parameter ring buffer's size: 1024 dispatches of up to 256 bytes of parameters per submission. */
const META_BYTES = 256 * 1024;

export class Runner {
  private pipelines = new Map<string, GPUComputePipeline>();
  private encoder?: GPUCommandEncoder;
  private pass?: GPUComputePassEncoder;
  private pool = new Map<number, GPUBuffer[]>();
  private binds = new Map<string, GPUBindGroup>();
  private ids = new WeakMap<GPUBuffer | GPUTexture, number>();
  private nextId = 0;
  /** Pooled textures by size; packed constants by buffer and layout (kept for the runner's life). */
  private texPool = new Map<string, GPUTexture[]>();
  private packedConst = new Map<GPUBuffer, Map<string, GPUTexture>>();
  private views = new WeakMap<GPUTexture, GPUTextureView>();
  /** Operands packed into textures, and dispatches recorded, since these were last zeroed. */
  packs = 0;
  dispatches = 0;
  private idOf(b: GPUBuffer | GPUTexture): number {
    let id = this.ids.get(b);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(b, id);
    }
    return id;
  }
  private metaBuf?: GPUBuffer;
  private metaData = new Uint32Array(META_BYTES / 4);
  private metaOff = 0;
  private readonly align: number;
  constructor(
    readonly ctx: GpuContext,
    readonly program: ProgramContext,
  ) {
    this.align = Math.max(16, ctx.device.limits.minStorageBufferOffsetAlignment);
  }

  /** A storage buffer of at least `bytes` (rounded to 4), reused from the pool when possible. */
  alloc(bytes: number): GPUBuffer {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const free = this.pool.get(size);
    if (free?.length) return free.pop()!;
    return this.ctx.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
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
    // Dawn's Node binding refuses views of a SharedArrayBuffer (where large weights live: Tensor.share), and
    // writes must be whole words: those go through a staging copy, a bounded piece at a time.
    const shared = typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer;
    if (!shared && bytes % 4 === 0) this.ctx.device.queue.writeBuffer(buffer, 0, data as BufferSource);
    else {
      const src = new Uint8Array(data.buffer, data.byteOffset, bytes);
      const stage = new Uint8Array(Math.min(STAGE_BYTES, Math.ceil(bytes / 4) * 4));
      for (let o = 0; o < bytes; o += STAGE_BYTES) {
        const n = Math.min(STAGE_BYTES, bytes - o),
          words = Math.ceil(n / 4) * 4;
        stage.set(src.subarray(o, o + n));
        stage.fill(0, n, words);
        this.ctx.device.queue.writeBuffer(buffer, o, stage, 0, words);
      }
    }
    return { dtype, dims, buffer, bytes };
  }

  /** A new (pooled) tensor of this type and shape. */
  tensor(dtype: number, dims: number[]): GpuTensor {
    const bytes = numel(dims) * this.program.elemBytes(dtype);
    return { dtype, dims, buffer: this.alloc(bytes), bytes };
  }

  /** An operand's texture: a kept constant's, or a pooled one packed now (`transient` lists those to return). */
  private packed(op: TextureOperand, transient: GPUTexture[]): GPUTexture {
    const kept = op.keep && this.packedConst.get(op.keep)?.get(op.key);
    if (kept) return kept;
    const size = `${op.width}x${op.height}`;
    const tex =
      this.texPool.get(size)?.pop() ??
      this.ctx.device.createTexture({
        size: [op.width, op.height],
        format: 'rgba32float',
        usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING,
      });
    this.run({ ...op.pack, target: tex });
    this.packs++;
    if (!op.keep) transient.push(tex);
    else {
      if (!this.packedConst.has(op.keep)) this.packedConst.set(op.keep, new Map());
      this.packedConst.get(op.keep)!.set(op.key, tex);
    }
    return tex;
  }
  private view(t: GPUTexture): GPUTextureView {
    let v = this.views.get(t);
    if (!v) this.views.set(t, (v = t.createView()));
    return v;
  }

  run(p: Program): GpuTensor[] {
    const dev = this.ctx.device;
    const outs = p.into ?? p.outputs.map((o) => this.tensor(o.dtype, o.dims));
    if ((p.outputs.length && numel(p.outputs[0].dims) === 0) || p.groups === 0) return outs;
    const transient: GPUTexture[] = [];
    const textures = [...(p.target ? [p.target] : []), ...(p.textures ?? []).map((op) => this.packed(op, transient))];
    const key = `${p.key}|${this.program.key}`;
    let pipe = this.pipelines.get(key);
    if (!pipe) {
      const module = dev.createShaderModule({ code: p.wgsl() });
      pipe = dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(key, pipe);
    }
    // Parameters go into one ring buffer per submission (written once, at flush), bound at an aligned offset,
    // instead of a new buffer per dispatch.
    const bytes = Math.max(16, p.meta.length * 4),
      span = Math.ceil(bytes / this.align) * this.align;
    if (this.metaOff + span > META_BYTES) this.flush();
    this.metaBuf ??= dev.createBuffer({ size: META_BYTES, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const at = this.metaOff;
    p.meta.forEach((x, k) => {
      this.metaData[at / 4 + k] = x >>> 0;
    });
    this.metaOff += span;
    const buffers = [...p.inputs.map((t) => t.buffer), ...outs.map((t) => t.buffer)];
    // Bind groups are reused: a run repeats the same kernels on the same pooled buffers at the same offsets.
    const bkey = `${key}|${at}|${bytes}|${[...buffers, ...textures].map((b) => this.idOf(b)).join(',')}`;
    let bind = this.binds.get(bkey);
    if (!bind) {
      const entries = [
        { binding: 0, resource: { buffer: this.metaBuf, offset: at, size: bytes } as GPUBindingResource },
        ...buffers.map((buffer, k) => ({ binding: k + 1, resource: { buffer } })),
        ...textures.map((t, k) => ({ binding: buffers.length + 1 + k, resource: this.view(t) })),
      ];
      bind = dev.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
      if (this.binds.size > 8192) this.binds.clear();
      this.binds.set(bkey, bind);
    }
    this.encoder ??= dev.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pipe);
    this.pass.setBindGroup(0, bind);
    const x = p.groupsY ? p.groups : Math.min(p.groups, MAX_X),
      y = p.groupsY ?? Math.ceil(p.groups / MAX_X);
    this.pass.dispatchWorkgroups(x, y, p.groupsZ ?? 1);
    this.dispatches++;
    // Dispatches run in order: a texture packed for this one may be repacked by a later one.
    for (const t of transient) {
      const size = `${t.width}x${t.height}`;
      if (!this.texPool.has(size)) this.texPool.set(size, []);
      this.texPool.get(size)!.push(t);
    }
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

  async read(t: GpuTensor): Promise<Uint8Array> {
    return (await this.readMany([t]))[0];
  }

  /** Reads tensors back with one copy submission and one mapping (each readback is a round trip). */
  async readMany(ts: GpuTensor[]): Promise<Uint8Array[]> {
    this.flush();
    if (!ts.length) return [];
    const sizes = ts.map((t) => Math.max(4, Math.ceil(t.bytes / 4) * 4));
    const offsets = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
    const staging = this.ctx.device.createBuffer({
      size: Math.max(
        4,
        sizes.reduce((a, b) => a + b, 0),
      ),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.ctx.device.createCommandEncoder();
    ts.forEach((t, k) => enc.copyBufferToBuffer(t.buffer, 0, staging, offsets[k], sizes[k]));
    this.ctx.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    if (this.ctx.errors.length) {
      const msg = this.ctx.errors.splice(0).join('; ');
      staging.unmap();
      staging.destroy();
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
    for (const list of this.texPool.values()) for (const t of list) t.destroy();
    for (const m of this.packedConst.values()) for (const t of m.values()) t.destroy();
    this.texPool.clear();
    this.packedConst.clear();
  }
}
