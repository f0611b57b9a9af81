/**
 * The WebGPU executor: runs a model's nodes as WGSL kernels (f32, and f16 with f32 accumulation when the
 * adapter has shader-f16), with the CPU reference as the fallback for ops or attribute forms without a
 * kernel (their inputs are read back, the CPU computes, the outputs are uploaded) — so any model the CPU
 * runs also runs here, and `gpuNodes`/`cpuNodes` say where each node ran.
 * Initializers are uploaded once; intermediate buffers return to a pool after their last reader; kernels are
 * recorded into one command encoder until a readback is needed; only requested tensors are read back.
 * If and Loop run their bodies here as kernels (controlFlowGpu); Scan, and a Loop with integer scan outputs,
 * run on the CPU reference, bodies included, reading this executor's values.
 */
import type { Graph, Model, Node } from '../../src/ir/graph.js';
import type { Tensor } from '../../src/ir/tensor.js';
import { fromIrTensor, type RTensor } from '../../src/ir/rtensor.js';
import { executeNode, CpuExecutor, type RunOptions } from '../cpu/executor.js';
import { pastLoopLimit, tooManyIterations } from '../ops/loops.js';
import { checkEnumAttributes } from '../ops/enums.js';
import { checkFeed, checkFeedNames, missingInput } from '../ops/feeds.js';
import { gpuContext, type GpuContext } from './device.js';
import { ProgramContext, numel, type GpuTensor, type Program } from './program.js';
import { Runner } from './runner.js';
import { gpuKernels, VIEW_OPS, splitProducts, copyInto, biasEpilogues } from './kernels/index.js';
import { planFusion, fusedProgram, type FusionGroup } from './kernels/fused.js';
import { DataType } from '../../src/core/dtype.js';
import { AmpError } from '../../src/core/errors.js';
import { f16ArrayToF32, f32ArrayToF16, bf16ArrayToF32, f32ArrayToBf16 } from '../../src/core/half.js';

/**
 * A value on the GPU, on the CPU, or both; `init`: an initializer's (its upload is kept across runs);
 * `blocks`: a weight beyond the binding, uploaded as column blocks for a split product.
 */
type Val = { gpu?: GpuTensor; cpu?: RTensor; init?: boolean; blocks?: { n0: number; t: GpuTensor }[] };
/** Counts a node under its op type (gpuNodes / cpuNodes). */
const tally = (m: Record<string, number>, n: Node) => {
  m[n.opType] = (m[n.opType] ?? 0) + 1;
};
/** Ops that need only their input's dims. */
const DIMS_ONLY = new Set(['Shape', 'Size']);
/** Types a value can live in on the GPU (BOOL as u32 0/1: comparisons, Where, the finite checks). */
const gpuType = (dt: number) =>
  dt === DataType.FLOAT || dt === DataType.FLOAT16 || dt === DataType.BFLOAT16 || dt === DataType.BOOL;

export class WebGpuExecutor {
  readonly name = 'webgpu';
  /** Nodes that ran as WGSL kernels / fell back to the CPU in the last run, by op type. */
  gpuNodes: Record<string, number> = {};
  cpuNodes: Record<string, number> = {};
  /** CPU nodes of the last run that had to read a GPU value back (the costly crossings). */
  crossings = 0;
  private runner: Runner;
  private inits = new Map<Tensor, Val>();
  private lastUse = new Map<string, number>();

  /** fp16 tensors in f32 buffers, rounded to fp16 on every store (no shader-f16 on the adapter, or asked for). */
  readonly emulateHalf: boolean;
  /** What the kernels build their programs for: this device's half support and kind, the model's opset. */
  private readonly program: ProgramContext;
  /** Kernels take their software-adapter forms (register blocks, no workgroup memory). */
  readonly software: boolean;
  private constructor(
    readonly model: Model,
    readonly ctx: GpuContext,
    emulateHalf = false,
    forms: 'auto' | 'gpu' | 'software' = 'auto',
    fuse = true,
  ) {
    this.emulateHalf = emulateHalf || !ctx.f16;
    this.software = forms === 'auto' ? ctx.software : forms === 'software';
    this.program = new ProgramContext(
      this.emulateHalf,
      this.software,
      model.opset('') ?? 17,
      this.software ? ctx.maxTexture : 0,
      ctx.swiftShader ? 32 : 128,
    );
    this.runner = new Runner(ctx, this.program);
    checkEnumAttributes(model);
    const g = model.graph;
    g.nodes.forEach((n, i) => n.reads().forEach((x) => this.lastUse.set(x, i)));
    // On software adapters a product read only by an Add of a constant (a layer's bias) may run with it as one
    // dispatch (texture form); such an Add joins no elementwise group (its broadcast bias keeps it from fusing).
    if (this.software)
      for (const n of g.nodes) {
        const readers = g.values.get(n.outputs[0])?.consumers ?? [];
        const add = readers[0];
        if (readers.length !== 1 || add.opType !== biasEpilogues[n.opType]?.reader || add.graph !== g) continue;
        const bias = add.inputs[0] === n.outputs[0] ? add.inputs[1] : add.inputs[0];
        if (!g.outputs.includes(n.outputs[0]) && g.initializers.has(bias)) this.biasAdds.set(n, add);
      }
    // Elementwise chains as one kernel each; a value read by a group is last used where the group runs.
    const groups = fuse ? planFusion(g, ctx.maxStorageBuffers, new Set(this.biasAdds.values())) : [];
    for (const grp of groups) for (const m of grp.members) this.fusion.set(m, grp);
    g.nodes.forEach((n, i) =>
      n
        .reads()
        .forEach((x) =>
          this.lastUseFused.set(x, Math.max(this.lastUseFused.get(x) ?? -1, this.fusion.get(n)?.at ?? i)),
        ),
    );
  }
  private fusion = new Map<Node, FusionGroup>();
  /** A product → the bias Add it may run with (kernels/matmul.ts biasEpilogues). */
  private biasAdds = new Map<Node, Node>();
  private fusedCache = new Map<FusionGroup, Map<string, ReturnType<typeof fusedProgram> | null>>();
  private lastUseFused = new Map<string, number>();
  /** Groups that ran as one fused kernel in the last run. */
  fusedGroups = 0;
  /** Operands packed into textures in the last run (software adapters' GEMMs; a weight is packed once). */
  get packedOperands(): number {
    return this.runner.packs;
  }
  /** Kernel dispatches in the last run (packs included). */
  get dispatches(): number {
    return this.runner.dispatches;
  }

  /** Runs a fused group as one kernel; false when its shapes or types do not fit (or a value inside is wanted). */
  private runFused(grp: FusionGroup, env: Map<string, Val>, owned: Map<GPUBuffer, number>, keep: Set<string>): boolean {
    if (grp.members.some((m) => keep.has(m.outputs[0]) && !grp.outputs.includes(m.outputs[0]))) return false;
    const vals = grp.inputs.map((x) => env.get(x));
    if (vals.some((v) => !v || (!v.gpu && !(v.cpu && gpuType(v.cpu.dtype))))) return false;
    {
      const ins = vals.map((v) => this.gpuOf(v!)!);
      if (ins.some((t) => t.bytes > this.ctx.maxBinding)) return false;
      const axes = grp.reduce?.inputs[1] ? env.get(grp.reduce.inputs[1])?.cpu : undefined;
      if (grp.reduce?.inputs[1] && !axes) return false;
      // The program depends only on the inputs' types and dims (and the axes): built once per signature.
      const sig = `${ins.map((t) => `${t.dtype}:${t.dims.join('x')}`).join(',')}|${axes ? Array.from(axes.data as ArrayLike<number | bigint>).join(',') : ''}`;
      let cached = this.fusedCache.get(grp)?.get(sig);
      if (cached === undefined) {
        cached = fusedProgram(this.program, grp, ins, axes) ?? null;
        if (!this.fusedCache.has(grp)) this.fusedCache.set(grp, new Map());
        this.fusedCache.get(grp)!.set(sig, cached);
      }
      const f = cached && { ...cached, program: { ...cached.program, inputs: ins } };
      if (!f || !this.outputsFit(f.program)) return false;
      const outs = this.runner.run(f.program);
      grp.outputs.forEach((o, k) => {
        env.set(o, { gpu: outs[k] });
        owned.set(outs[k].buffer, 1);
      });
      for (const m of grp.members) tally(this.gpuNodes, m);
      this.fusedGroups++;
      return true;
    }
  }

  /** `forms`: the kernels' GPU or software-adapter forms; 'auto' (default) picks by the adapter. `fuse`: elementwise chains as one kernel (default). */
  static async create(
    model: Model,
    opts: { adapter?: string; emulateHalf?: boolean; forms?: 'auto' | 'gpu' | 'software'; fuse?: boolean } = {},
  ): Promise<WebGpuExecutor> {
    return new WebGpuExecutor(model, await gpuContext(opts.adapter), opts.emulateHalf, opts.forms, opts.fuse);
  }
  get adapter(): { name: string; features: string[]; shaderF16: boolean } {
    return {
      name: this.ctx.adapterName,
      features: [...this.ctx.features].sort(),
      shaderF16: this.ctx.f16 && !this.emulateHalf,
    };
  }
  get note(): string {
    return `webgpu adapter: ${this.ctx.adapterName}${!this.emulateHalf ? ' (shader-f16)' : this.ctx.f16 ? ' (fp16 storage emulated in f32, as asked)' : ' (no shader-f16: fp16 storage emulated in f32 buffers, rounded on every store)'}`;
  }

  private upload(t: RTensor): GpuTensor {
    // Emulated fp16 storage and bf16: the exact values as f32 (the tensor keeps its type).
    const data =
      t.dtype === DataType.FLOAT16 && this.emulateHalf
        ? f16ArrayToF32(t.data as Uint16Array)
        : t.dtype === DataType.BFLOAT16
          ? bf16ArrayToF32(t.data as Uint16Array)
          : t.dtype === DataType.BOOL
            ? Uint32Array.from(t.data as Uint8Array)
            : (t.data as ArrayBufferView);
    return this.runner.upload(t.dtype, [...t.dims], data);
  }
  private async download(t: GpuTensor, want = t.dtype): Promise<RTensor> {
    return this.fromBytes(t, await this.runner.read(t), want);
  }
  private fromBytes(t: GpuTensor, bytes: Uint8Array, want = t.dtype): RTensor {
    if (t.dtype === DataType.BOOL)
      return {
        dtype: t.dtype,
        dims: [...t.dims],
        data: Uint8Array.from(new Uint32Array(bytes.buffer, 0, bytes.byteLength / 4)),
      };
    if (t.dtype === DataType.INT64)
      return {
        dtype: t.dtype,
        dims: [...t.dims],
        data: BigInt64Array.from(new Int32Array(bytes.buffer, 0, bytes.byteLength / 4), BigInt),
      };
    if (t.dtype === DataType.BFLOAT16)
      return {
        dtype: t.dtype,
        dims: [...t.dims],
        data: f32ArrayToBf16(new Float32Array(bytes.buffer, 0, bytes.byteLength / 4)),
      };
    if (t.dtype === DataType.FLOAT16 && this.emulateHalf)
      return {
        dtype: t.dtype,
        dims: [...t.dims],
        data: f32ArrayToF16(new Float32Array(bytes.buffer, 0, bytes.byteLength / 4)),
      };
    const arr =
      t.dtype === DataType.FLOAT16
        ? new Uint16Array(bytes.buffer, 0, bytes.byteLength / 2)
        : new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
    if (want === DataType.FLOAT16 && t.dtype === DataType.FLOAT)
      return { dtype: want, dims: t.dims, data: f32ArrayToF16(arr as Float32Array) };
    return { dtype: t.dtype, dims: [...t.dims], data: arr };
  }
  private async cpuOf(v: Val, declared?: number): Promise<RTensor> {
    if (!v.cpu) v.cpu = await this.download(v.gpu!, declared ?? v.gpu!.dtype);
    return v.cpu;
  }
  /** Buffers uploaded for this run only (feeds, CPU-fallback results): returned to the pool when it ends. */
  private uploads: GPUBuffer[] = [];
  private gpuOf(v: Val): GpuTensor | undefined {
    if (v.gpu) return v.gpu;
    if (v.cpu && gpuType(v.cpu.dtype)) {
      v.gpu = this.upload(v.cpu);
      if (!v.init) this.uploads.push(v.gpu.buffer);
      else v.gpu.constant = true;
      return v.gpu;
    }
    return undefined;
  }

  async run(feeds: Record<string, RTensor>, opts: RunOptions = {}): Promise<Record<string, RTensor>> {
    const g = this.model.graph;
    const opset = this.model.opset('') ?? 17;
    this.gpuNodes = {};
    this.cpuNodes = {};
    this.crossings = 0;
    this.fusedGroups = 0;
    this.runner.packs = 0;
    this.runner.dispatches = 0;
    const env = new Map<string, Val>();
    const owned = new Map<GPUBuffer, number>(); // refcounts of intermediate buffers (views share them)
    this.bindInputs(feeds, env);
    const keep = new Set([...g.outputs, ...(opts.outputs ?? []), ...Object.keys(opts.carry ?? {})]);
    const declared = (name: string) => g.values.get(name)?.type?.elemType;
    const release = (name: string) => {
      const v = env.get(name);
      if (!v?.gpu || !owned.has(v.gpu.buffer)) return;
      const c = owned.get(v.gpu.buffer)! - 1;
      if (c <= 0) {
        owned.delete(v.gpu.buffer);
        this.runner.release(v.gpu.buffer);
      } else owned.set(v.gpu.buffer, c);
    };
    // Fused elementwise groups run at their last member; not when every value is observed (onValue) or a
    // value inside a group is asked for.
    const fusion = opts.onValue ? undefined : this.fusion;
    // With every value observed (onValue), a product and its bias Add run apart, as fused groups do.
    const biasAdds = opts.onValue ? undefined : this.biasAdds;
    const done = new Set<Node>();
    const exec = async (n: Node) => {
      if (done.has(n)) return;
      const add = biasAdds?.get(n);
      const both = add && !keep.has(n.outputs[0]) ? this.withBias(n, add, env) : undefined;
      if (both) {
        env.set(add!.outputs[0], both);
        owned.set(both.gpu!.buffer, 1);
        done.add(add!);
        tally(this.gpuNodes, n);
        tally(this.gpuNodes, add!);
        return;
      }
      const ins = n.inputs.map((x) => (x ? env.get(x) : undefined));
      if (ins.some((v, k) => n.inputs[k] && !v))
        throw new AmpError(`value read by node '${n.label}' was never computed`);
      let outs: Val[], fresh: Set<GPUBuffer> | undefined;
      if (n.subgraphs.size) {
        const gpu = await this.controlFlowGpu(n, ins as (Val | undefined)[], (x) => env.get(x), opset);
        outs = gpu?.vals ?? (await this.controlFlow(n, ins as (Val | undefined)[], env, declared));
        fresh = gpu?.fresh ?? new Set();
      } else outs = await this.step(n, ins as (Val | undefined)[], opset, declared);
      const isView = VIEW_OPS.has(n.opType);
      n.outputs.forEach((o, j) => {
        if (!o || !outs[j]) return;
        env.set(o, outs[j]);
        // Kernel outputs are this run's buffers; a view shares its source's (initializer and uploaded
        // buffers are never owned, so a view can never return them to the pool) — and so does an If/Loop
        // output its body did not compute (a value passed through).
        const b = outs[j].gpu?.buffer;
        const shares = isView || (fresh !== undefined && !!b && !fresh.has(b));
        if (b && (!shares || owned.has(b))) owned.set(b, (owned.get(b) ?? 0) + 1);
      });
      if (opts.onValue)
        for (const [j, o] of n.outputs.entries())
          if (o && outs[j]) opts.onValue(o, await this.cpuOf(outs[j], declared(o)), n);
    };
    for (let i = 0; i < g.nodes.length; i++) {
      const n = g.nodes[i];
      const grp = fusion?.get(n);
      if (grp && i !== grp.at) continue; // runs with its group's last member
      const nodes = grp ? grp.members : [n];
      if (!grp || !this.runFused(grp, env, owned, keep)) for (const m of nodes) await exec(m);
      // With fusion on, a value's last use is where its last reader runs — a group runs at its last member.
      const lastUse = fusion ? this.lastUseFused : this.lastUse;
      for (const m of nodes)
        for (const x of new Set(m.reads()))
          if (x && lastUse.get(x) === i && env.has(x) && !keep.has(x) && !g.initializers.has(x)) {
            release(x);
            env.delete(x);
          }
    }
    const result = await this.fetchOutputs(opts.outputs ?? g.outputs, env, declared);
    this.carryOver(opts.carry ?? {}, env, keep, release);
    return result;
  }

  /** Initializers and feeds as this run's values; feeds a GPU kernel reads are uploaded before recording starts. */
  private bindInputs(feeds: Record<string, RTensor>, env: Map<string, Val>): void {
    const g = this.model.graph;
    for (const [name, t] of g.initializers) env.set(name, this.initVal(t));
    checkFeedNames(g, feeds);
    for (const name of g.inputs) {
      if (g.initializers.has(name)) continue;
      const t = feeds[name];
      const held = this.carried.get(name);
      if (!t && held) {
        env.set(name, { ...held });
        continue;
      } // a copy: an upload this run must not stick to it
      if (!t) throw missingInput(name);
      checkFeed(g, name, t);
      const v: Val = { cpu: t };
      env.set(name, v);
      // Uploaded now, before any kernel is recorded: an upload in the middle of recording has to submit first.
      if (
        gpuType(t.dtype) &&
        (t.data as ArrayBufferView).byteLength <= this.ctx.maxBinding &&
        g.values.get(name)?.consumers.some((c) => gpuKernels[c.opType] || this.fusion.has(c))
      )
        this.gpuOf(v);
    }
  }

  /** The asked-for values on the CPU: those only the GPU holds come back in one readback. */
  private async fetchOutputs(
    names: string[],
    env: Map<string, Val>,
    declared: (name: string) => number | undefined,
  ): Promise<Record<string, RTensor>> {
    const result: Record<string, RTensor> = {};
    for (const name of names) if (!env.get(name)) throw new AmpError(`'${name}' is not a value of the model`);
    const back = new Map<Val, number | undefined>();
    for (const name of names) {
      const v = env.get(name)!;
      if (!v.cpu && !back.has(v)) back.set(v, declared(name));
    }
    const bytes = await this.runner.readMany([...back.keys()].map((v) => v.gpu!));
    [...back].forEach(([v, want], k) => {
      v.cpu = this.fromBytes(v.gpu!, bytes[k], want ?? v.gpu!.dtype);
    });
    for (const name of names) result[name] = await this.cpuOf(env.get(name)!, declared(name));
    return result;
  }

  /** Carried outputs stay where they are (on the device: no readback); the values they replace are freed. */
  private carryOver(
    carry: Record<string, string>,
    env: Map<string, Val>,
    keep: Set<string>,
    release: (name: string) => void,
  ): void {
    const retain = new Set<GPUBuffer>();
    const next = new Map<string, Val>();
    for (const [out, inp] of Object.entries(carry)) {
      const v = env.get(out);
      if (!v) throw new AmpError(`carried output '${out}' is not a value of the model`);
      next.set(inp, v);
      if (v.gpu) retain.add(v.gpu.buffer);
    }
    for (const [inp, old] of this.carried)
      if (next.has(inp) && old.gpu && !retain.has(old.gpu.buffer)) this.runner.release(old.gpu.buffer);
    for (const [inp, v] of next) this.carried.set(inp, v);
    for (const name of keep) if (env.has(name) && !retain.has(env.get(name)!.gpu?.buffer as GPUBuffer)) release(name);
    this.runner.flush();
    for (const b of this.uploads.splice(0)) if (!retain.has(b)) this.runner.release(b);
  }

  /** Tensors beyond the adapter's largest binding stay on the CPU (their op runs there: a crossing); absent ones fit. */
  private fits = (v?: Val): boolean =>
    !v || (v.gpu?.bytes ?? (v.cpu!.data as ArrayBufferView).byteLength ?? 0) <= this.ctx.maxBinding;
  /** Every output of a program fits one binding. */
  private outputsFit(p: Program): boolean {
    return p.outputs.every((o) => numel(o.dims) * this.program.elemBytes(o.dtype) <= this.ctx.maxBinding);
  }

  /** A product and its bias Add as one dispatch, or undefined when that form does not apply (they run apart). */
  private withBias(n: Node, add: Node, env: Map<string, Val>): Val | undefined {
    const vals = [...n.inputs, add.inputs[0] === n.outputs[0] ? add.inputs[1] : add.inputs[0]].map((x) => env.get(x));
    if (!vals.every((v) => v && this.fits(v))) return undefined;
    const [a, b, bias] = vals.map((v) => this.gpuOf(v!));
    const prog = a && b && bias && biasEpilogues[n.opType].run(this.program, n, a, b, bias);
    if (!prog || !this.outputsFit(prog)) return undefined;
    return { gpu: this.runner.run(prog)[0] };
  }

  /** An initializer's value, kept across runs: uploaded when a kernel first reads it (a weight only CPU-fallback ops read never goes to the GPU). */
  private initVal(t: Tensor): Val {
    let v = this.inits.get(t);
    if (!v) {
      v = { cpu: fromIrTensor(t), init: true };
      this.inits.set(t, v);
    }
    return v;
  }

  /**
   * If and Loop on the GPU: the chosen branch, or the body once per iteration, runs as kernels on values where
   * they are; only the condition and the trip count come back (scalars); float scan outputs are stacked on the
   * device. Undefined for what runs on the CPU reference instead: Scan, and a Loop with integer scan outputs (or
   * none of its iterations run). `fresh`: the buffers of the outputs that the bodies computed (the others are
   * values passed through).
   */
  private async controlFlowGpu(
    n: Node,
    ins: (Val | undefined)[],
    outer: (x: string) => Val | undefined,
    opset: number,
  ): Promise<{ vals: Val[]; fresh: Set<GPUBuffer> } | undefined> {
    const flag = async (v?: Val) => (v ? Number((await this.cpuOf(v)).data[0] as number | bigint) : 1);
    const count = () => tally(this.gpuNodes, n);
    if (n.opType === 'If') {
      const branch = n.subgraphs.get((await flag(ins[0])) ? 'then_branch' : 'else_branch')?.[0];
      if (!branch) return undefined;
      count();
      return this.runBody(branch, [], outer, opset);
    }
    if (n.opType !== 'Loop') return undefined;
    const body = n.subgraphs.get('body')?.[0];
    const nCarried = n.inputs.length - 2,
      nScan = (body?.outputs.length ?? 0) - 1 - nCarried;
    if (!body || nScan < 0) return undefined;
    const trips = n.inputs[0] ? await flag(ins[0]) : Infinity;
    let cond = n.inputs[1] ? await flag(ins[1]) : 1;
    // Scan outputs of no iteration have no known dims, and integer ones live on the CPU: the CPU reference then.
    const scanTypes = body.outputs.slice(1 + nCarried).map((o) => body.values.get(o)?.type?.elemType);
    if (nScan && (!(trips > 0 && cond) || !scanTypes.every((t) => t === undefined || gpuType(t)))) return undefined;
    let carried = ins.slice(2) as Val[];
    const made = new Set<GPUBuffer>(); // buffers the iterations computed, freed once no longer carried or stacked
    const scans: GpuTensor[][] = Array.from({ length: nScan }, () => []);
    const kept = new Set<GPUBuffer>(); // the scan values, held until stacked
    for (let it = 0; it < trips && cond; it++) {
      const iter: Val = { cpu: { dtype: DataType.INT64, dims: [], data: BigInt64Array.from([BigInt(it)]) } };
      const c: Val = { cpu: { dtype: DataType.BOOL, dims: [], data: Uint8Array.from([1]) } };
      const r = await this.runBody(body, [iter, c, ...carried], outer, opset);
      r.fresh.forEach((b) => made.add(b));
      for (let k = 0; k < nScan; k++) {
        const t = this.gpuOf(r.vals[1 + nCarried + k]);
        if (!t) {
          for (const b of made) this.runner.release(b);
          return undefined;
        } // not a GPU type after all: the CPU reference reruns it
        if (scans[k][0] && (t.dtype !== scans[k][0].dtype || t.dims.join() !== scans[k][0].dims.join()))
          throw new AmpError(`Loop '${n.label}': scan output ${k} changes type or shape between iterations`);
        scans[k].push(t);
        kept.add(t.buffer);
      }
      const next = r.vals.slice(1, 1 + nCarried),
        live = new Set([...next.map((v) => v.gpu?.buffer), ...kept]);
      for (const v of carried)
        if (v.gpu && made.has(v.gpu.buffer) && !live.has(v.gpu.buffer)) {
          this.runner.release(v.gpu.buffer);
          made.delete(v.gpu.buffer);
        }
      cond = await flag(r.vals[0]);
      if (pastLoopLimit(it + 1, cond, trips)) {
        for (const b of made) this.runner.release(b);
        throw tooManyIterations(trips, n.label);
      }
      const cv = r.vals[0].gpu?.buffer;
      if (cv && made.has(cv) && !live.has(cv)) {
        this.runner.release(cv);
        made.delete(cv);
      }
      carried = next;
    }
    count();
    return this.loopResult(carried, scans, made, kept);
  }

  /**
   * A Loop's outputs: the last carried values, and its scan outputs stacked along a new first axis (one copy per
   * iteration; the pieces go back to the pool). `fresh`: the buffers the iterations computed.
   */
  private loopResult(
    carried: Val[],
    scans: GpuTensor[][],
    made: Set<GPUBuffer>,
    kept: Set<GPUBuffer>,
  ): { vals: Val[]; fresh: Set<GPUBuffer> } {
    const stacked = scans.map((ts) => {
      const into = this.runner.tensor(ts[0].dtype, [ts.length, ...ts[0].dims]);
      ts.forEach((t, i) => this.runner.run(copyInto(this.program, t, into, i * numel(t.dims))));
      return into;
    });
    const final = new Set(carried.map((v) => v.gpu?.buffer));
    for (const b of kept)
      if (made.has(b) && !final.has(b)) {
        this.runner.release(b);
        made.delete(b);
      }
    return {
      vals: [...carried, ...stacked.map((t) => ({ gpu: t }))],
      fresh: new Set([
        ...carried.flatMap((v) => (v.gpu && made.has(v.gpu.buffer) ? [v.gpu.buffer] : [])),
        ...stacked.map((t) => t.buffer),
      ]),
    };
  }

  /** Runs a body graph's nodes (inputs by position, enclosing values through `outer`); frees what it computed but does not return. */
  private async runBody(
    body: Graph,
    inputs: (Val | undefined)[],
    outer: (x: string) => Val | undefined,
    opset: number,
  ): Promise<{ vals: Val[]; fresh: Set<GPUBuffer> }> {
    const env = new Map<string, Val>();
    body.inputs.forEach((x, k) => {
      if (inputs[k]) env.set(x, inputs[k]!);
    });
    for (const [name, t] of body.initializers) env.set(name, this.initVal(t));
    const get = (x: string) => env.get(x) ?? outer(x);
    const declared = (x: string) => (body.lookup(x) ?? body.values.get(x))?.type?.elemType;
    const made = new Set<GPUBuffer>();
    for (const n of body.nodes) {
      const ins = n.inputs.map((x) => (x ? get(x) : undefined));
      if (ins.some((v, k) => n.inputs[k] && !v))
        throw new AmpError(`value read by node '${n.label}' was never computed`);
      let outs: Val[];
      if (n.subgraphs.size) {
        const r = await this.controlFlowGpu(n, ins, get, opset);
        if (r) {
          outs = r.vals;
          r.fresh.forEach((b) => made.add(b));
        } else outs = await this.controlFlow(n, ins, new Map(this.outerVals(n, get)), declared);
      } else {
        outs = await this.step(n, ins, opset, declared);
        if (!VIEW_OPS.has(n.opType)) for (const v of outs) if (v.gpu) made.add(v.gpu.buffer);
      }
      n.outputs.forEach((o, j) => {
        if (o && outs[j]) env.set(o, outs[j]);
      });
    }
    const vals = body.outputs.map((o) => {
      const v = get(o);
      if (!v) throw new AmpError(`body output '${o}' was never computed`);
      return v;
    });
    const keepB = new Set(vals.map((v) => v.gpu?.buffer));
    for (const b of made) if (!keepB.has(b)) this.runner.release(b);
    return { vals, fresh: new Set([...made].filter((b) => keepB.has(b))) };
  }
  /** The values a control-flow node reads, as a map (what the CPU path takes). */
  private outerVals(n: Node, get: (x: string) => Val | undefined): [string, Val][] {
    return n.reads().flatMap((x) => {
      const v = get(x);
      return v ? [[x, v] as [string, Val]] : [];
    });
  }

  /** Values carried between runs (RunOptions.carry), by the input they feed: device-resident. */
  private carried = new Map<string, Val>();
  async readCarried(name: string): Promise<RTensor> {
    const v = this.carried.get(name);
    if (!v) throw new AmpError(`no carried value for input '${name}'`);
    return this.cpuOf({ ...v }, this.model.graph.values.get(name)?.type?.elemType);
  }

  private cpu?: CpuExecutor;
  /** If/Loop/Scan: on the CPU reference, with the values their bodies read from outside brought over. */
  private async controlFlow(
    n: Node,
    ins: (Val | undefined)[],
    env: Map<string, Val>,
    declared: (n: string) => number | undefined,
  ): Promise<Val[]> {
    this.cpu ??= new CpuExecutor(this.model);
    const cins = await Promise.all(ins.map(async (v, k) => (v ? this.cpuOf(v, declared(n.inputs[k])) : undefined)));
    const outer = new Map<string, RTensor>();
    for (const name of n.outerInputs()) {
      const v = env.get(name);
      if (v) outer.set(name, await this.cpuOf(v, declared(name)));
    }
    this.cpuNodes[n.opType] = (this.cpuNodes[n.opType] ?? 0) + 1;
    return this.cpu.runNode(n, cins, (name) => outer.get(name)).map((t) => ({ cpu: t }));
  }

  private async step(
    n: Node,
    ins: (Val | undefined)[],
    opset: number,
    declared: (n: string) => number | undefined,
  ): Promise<Val[]> {
    const count = (m: Record<string, number>) => tally(m, n);
    const x0 = ins[0];
    if (VIEW_OPS.has(n.opType) && x0?.gpu) {
      // Dims from the CPU kernel on a data-less stand-in; the buffer is shared.
      const stand: RTensor = { dtype: x0.gpu.dtype, dims: x0.gpu.dims, data: new Float32Array(0) };
      const others = await Promise.all(ins.slice(1).map(async (v) => (v ? this.cpuOf(v) : undefined)));
      const [o] = executeNode(n, [stand, ...others], { opset });
      count(this.gpuNodes);
      return [{ gpu: { ...x0.gpu, dims: [...o.dims] } }];
    }
    if (DIMS_ONLY.has(n.opType) && x0?.gpu) {
      // Shape/Size read only the dims: no readback.
      count(this.cpuNodes);
      return executeNode(n, [{ dtype: x0.gpu.dtype, dims: x0.gpu.dims, data: new Float32Array(0) }], { opset }).map(
        (t) => ({ cpu: t }),
      );
    }
    const kernel = gpuKernels[n.opType];
    // Non-float inputs (axes, shapes) stay on the CPU and go to the kernel as such.
    const onCpu = (v?: Val) => !!v && !v.gpu && !!v.cpu && !gpuType(v.cpu.dtype);
    if (kernel && ins.every(this.fits)) {
      const ran = ((): GpuTensor[] | undefined => {
        const gins = ins.map((v) => (v && !onCpu(v) ? this.gpuOf(v) : undefined));
        // CPU data wherever a value has it: non-float inputs (axes, shapes) and constants or feeds (a Pad value,
        // Resize scales) — a value computed on the GPU is not read back for this.
        const prog = kernel(
          n,
          gins,
          this.program,
          ins.map((v) => v?.cpu),
        );
        if (!prog || !this.outputsFit(prog)) return undefined;
        if (prog.inputs.length + prog.outputs.length + 1 > this.ctx.maxStorageBuffers) return undefined; // + the parameters
        return this.runner.run(prog);
      })();
      if (ran) {
        count(this.gpuNodes);
        // Outputs the node does not name (an LSTM's Y when only Y_h is wanted) go straight back to the pool.
        ran.forEach((t, j) => {
          if (!n.outputs[j]) this.runner.release(t.buffer);
        });
        return ran.map((t) => ({ gpu: t }));
      }
    }
    const split = splitProducts[n.opType];
    if (split && ins[1]?.cpu && !this.fits(ins[1]) && ins.every((v, k) => k === 1 || this.fits(v))) {
      const out = this.splitProduct(n, ins, split);
      if (out) {
        count(this.gpuNodes);
        return out;
      }
    }
    count(this.cpuNodes);
    if (ins.some((v) => v?.gpu && !v.cpu)) this.crossings++; // a GPU value read back for the CPU
    const cins = await Promise.all(ins.map(async (v, k) => (v ? this.cpuOf(v, declared(n.inputs[k])) : undefined)));
    return executeNode(n, cins, { opset }).map((t) => ({ cpu: t }));
  }

  /** A product whose weight exceeds the binding, as column blocks of its result (kernels/matmul.ts splitProducts). */
  private splitProduct(n: Node, ins: (Val | undefined)[], split: (typeof splitProducts)[string]): Val[] | undefined {
    const wv = ins[1]!,
      w = wv.cpu!;
    if (w.dims.length !== 2 || !gpuType(w.dtype)) return undefined;
    const trans = split.transposed(n);
    const K = trans ? w.dims[1] : w.dims[0],
      N = trans ? w.dims[0] : w.dims[1];
    const nc = Math.floor(this.ctx.maxBinding / (K * this.program.elemBytes(w.dtype)) / 64) * 64;
    const A = ins[0] && this.gpuOf(ins[0]),
      C = ins[2] && this.gpuOf(ins[2]);
    if (nc < 64 || !A || (ins[2] && !C)) return undefined;
    if (!wv.blocks) {
      const src = w.data as Float32Array | Uint16Array,
        blocks: { n0: number; t: GpuTensor }[] = [];
      for (let n0 = 0; n0 < N; n0 += nc) {
        const w1 = Math.min(nc, N - n0);
        let data: Float32Array | Uint16Array;
        if (trans)
          data = src.subarray(n0 * K, (n0 + w1) * K); // B's rows n0.. are the result's columns
        else {
          data = new (src.constructor as Float32ArrayConstructor)(K * w1);
          for (let k = 0; k < K; k++) data.set(src.subarray(k * N + n0, k * N + n0 + w1), k * w1);
        }
        const t = this.upload({ dtype: w.dtype, dims: trans ? [w1, K] : [K, w1], data });
        if (!wv.init) this.uploads.push(t.buffer);
        blocks.push({ n0, t });
      }
      if (wv.init) wv.blocks = blocks;
      else return this.runBlocks(n, A, C, blocks, split, K, N);
    }
    return this.runBlocks(n, A, C, wv.blocks, split, K, N);
  }
  private runBlocks(
    n: Node,
    A: GpuTensor,
    C: GpuTensor | undefined,
    blocks: { n0: number; t: GpuTensor }[],
    split: (typeof splitProducts)[string],
    K: number,
    N: number,
  ): Val[] | undefined {
    const into = this.runner.tensor(A.dtype, split.outDims(n, A, K, N));
    if (into.bytes > this.ctx.maxBinding) {
      this.runner.release(into.buffer);
      return undefined;
    }
    for (const b of blocks) {
      const prog = split.run(this.program, n, A, b.t, C, { into, ldc: N, cOff: b.n0 });
      if (!prog) {
        this.runner.release(into.buffer);
        return undefined;
      }
      this.runner.run(prog);
    }
    return [{ gpu: into }];
  }

  dispose(): void {
    for (const v of this.carried.values()) v.gpu?.buffer.destroy();
    this.carried.clear();
    for (const v of this.inits.values()) {
      v.gpu?.buffer.destroy();
      for (const b of v.blocks ?? []) b.t.buffer.destroy();
    }
    this.runner.dispose();
    this.inits.clear();
  }
}
