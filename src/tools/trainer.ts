/**
 * The training loop: fp32 master weights, fp16 (AMP) or fp32 copies fed to the training graph each step,
 * dynamic loss scaling, SGD/Adam. AMP graphs come from the SAME mixed-precision pass as inference: the caller
 * (src/tools/train-check.ts) passes it in as `lower`, since the runtime layer does not import the passes.
 * The fused loss is named `loss/…` so the pass can keep it fp32 — no hand-written fp16 path.
 */
import type { Model } from '../ir/graph.js';
import { createExecutor, type BackendName, type Executor } from '../../runtime/backend.js';
import { toFloat32, type RTensor } from '../ir/rtensor.js';
import { DataType } from '../core/dtype.js';
import { f32ArrayToF16, f32ArrayToBf16 } from '../core/half.js';
import { trainingGraph, type TrainingGraph } from '../../passes/training/autodiff.js';
import { CpuExecutor } from '../../runtime/cpu/executor.js';
import { AmpError } from '../core/errors.js';
import { makeTensor } from '../ir/rtensor.js';
import { LossScaler, type LossScalerOptions } from '../../runtime/train/loss-scaler.js';
import { appendOptimizerStep, OPT_PREFIX } from '../../passes/training/step-graph.js';
import type { Dataset } from '../../runtime/train/data.js';
import { xorshift } from '../core/rng.js';
import { cloneModel } from '../onnx/io.js';

/** Dims of every forward value for batch 1 (symbolic dims → 1), by running the forward model once on zeros. */
export function probeShapes(forward: Model): Map<string, number[]> {
  const feeds: Record<string, RTensor> = {};
  for (const name of forward.graph.inputs) {
    if (forward.graph.initializers.has(name)) continue;
    const t = forward.graph.values.get(name)?.type;
    if (!t?.shape) throw new AmpError(`input '${name}' needs a declared shape for training`);
    const dims = t.shape.map((d) => (typeof d === 'number' ? d : 1));
    feeds[name] = makeTensor(t.elemType, dims);
  }
  const shapes = new Map<string, number[]>();
  for (const [name, t] of Object.entries(feeds)) shapes.set(name, t.dims);
  new CpuExecutor(forward).runSync(feeds, { onValue: (name, t) => shapes.set(name, t.dims) });
  return shapes;
}

/** The training graph of a forward model (passes/training/autodiff.ts), its shapes measured by one run on zeros. */
export const buildTrainingGraph = (
  forward: Model,
  opts: { logits?: string; bnTraining?: boolean } = {},
): TrainingGraph => trainingGraph(forward, probeShapes(forward), opts);

/** fp32; fp16 AMP with / without dynamic loss scaling; bf16 AMP (fp32's exponent range: no loss scaling needed). */
export type Mode = 'fp32' | 'amp' | 'amp-noscale' | 'amp-bf16';
/** Minibatch size when the caller gives none. */
export const DEFAULT_BATCH = 32;

export interface TrainConfig {
  mode: Mode;
  epochs: number;
  batch?: number;
  lr: number;
  optimizer?: 'sgd' | 'adam';
  seed?: number;
  scaler?: LossScalerOptions;
  /** Multiplies the loss before scaling: a small value reproduces a small-gradient regime (underflow study). */
  lossMultiplier?: number;
  backend?: BackendName;
  /**
   * The mixed-precision pass for the AMP modes: the training graph → its fp16 (or bf16) version; must keep the
   * FP32_NODES fp32, and the graph inputs/outputs named in `keepIo` in their types (master weights, moments).
   */
  lower?: (m: Model, target: 'fp16' | 'bf16', keepIo?: string[]) => Model;
  /** BatchNormalization in training mode: batch statistics while training, running statistics (updated by its momentum) for the test. */
  bnTraining?: boolean;
}
export interface TrainResult {
  mode: Mode;
  testAccuracy: number;
  finalLoss: number;
  losses: number[];
  skippedSteps: number;
  /** Test accuracy after each epoch (the last is testAccuracy). */
  epochAccuracy: number[];
  scaleHistory: { step: number; scale: number }[];
  /** Fraction of gradient values nonzero in fp32 but zero in the run's precision (sampled once per epoch). */
  underflow: number;
  /** Most GPU → CPU crossings in one training step (WebGPU: nodes that read a GPU value back; 0 elsewhere). */
  crossings: number;
  steps: number;
}

const F = DataType.FLOAT,
  H = DataType.FLOAT16;
/** Node-name pattern of the fused loss and the optimizer step, which the AMP lowering keeps fp32. */
export const FP32_NODES = new RegExp(`^(loss/|${OPT_PREFIX})`);
const f32t = (dims: number[], data: Float32Array): RTensor => ({ dtype: F, dims, data });
const asType = (t: RTensor, dtype: number): RTensor =>
  dtype === H
    ? { dtype: H, dims: t.dims, data: f32ArrayToF16(t.data as Float32Array) }
    : dtype === DataType.BFLOAT16
      ? { dtype, dims: t.dims, data: f32ArrayToBf16(t.data as Float32Array) }
      : t;

/** He-style initial weights from the forward model's initializers, re-drawn per seed. */
export function initialWeights(forward: Model, seed: number): Map<string, Float32Array> {
  const rnd = xorshift(seed * 747796405 + 2891336453);
  const out = new Map<string, Float32Array>();
  for (const t of forward.graph.initializers.values()) {
    if (t.dataType !== F) continue;
    const fanIn = t.dims.length > 1 ? t.dims.slice(1).reduce((a, b) => a * b, 1) : 1;
    // Biases and normalization parameters (1-D) start from the model's values; matrices and kernels are drawn.
    const w = t.dims.length > 1 ? new Float32Array(t.size) : Float32Array.from(t.data() as Float32Array);
    if (t.dims.length > 1)
      for (let i = 0; i < w.length; i++)
        w[i] = Math.sqrt(-2 * Math.log(Math.max(rnd(), 1e-12))) * Math.cos(2 * Math.PI * rnd()) * Math.sqrt(2 / fanIn);
    out.set(t.name, w);
  }
  return out;
}

export async function train(
  forward: Model,
  data: Dataset,
  cfg: TrainConfig,
  init: Map<string, Float32Array>,
): Promise<TrainResult & { backend: string }> {
  const run = await TrainingRun.setup(forward, data, cfg, init);
  const rnd = xorshift((cfg.seed ?? 0) + 1);
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    await run.epoch(rnd);
    run.epochAccuracy.push(await run.testAccuracy());
  }
  return run.finish();
}

/** The executors and the step graph of one training run, built once (the training setup). */
interface TrainingSetup {
  tg: TrainingGraph;
  step: ReturnType<typeof appendOptimizerStep>;
  /** The step graph in the run's precision, and its executor (all state stays with it between steps). */
  runModel: Model;
  exec: Executor;
  /** Forward-only evaluation graph in the run's precision: logits of the training graph's forward part. */
  evalRun: Model;
  evalExec: Executor;
  scaler: LossScaler;
}

/**
 * A training run: master weights fp32 (carried by the step graph), batches in order of a seeded shuffle, test
 * accuracy after each epoch, and for AMP an underflow study on each epoch's first batch (the same step in fp32).
 */
class TrainingRun {
  readonly epochAccuracy: number[] = [];
  readonly losses: number[] = [];
  private steps = 0;
  private pending = 0;
  private crossings = 0;
  private underflowNum = 0;
  private underflowDen = 0;
  /** The underflow study's fp32 reference (AMP only), made when first needed. */
  private fp32Exec?: Executor;
  private readonly batch: number;
  private readonly amp: boolean;
  private readonly lowT: number;
  private readonly dims: number[][];
  private readonly inShape: number[];

  private constructor(
    readonly forward: Model,
    readonly data: Dataset,
    readonly cfg: TrainConfig,
    readonly init: Map<string, Float32Array>,
    readonly s: TrainingSetup,
  ) {
    this.batch = cfg.batch ?? DEFAULT_BATCH;
    this.amp = cfg.mode !== 'fp32';
    this.lowT = cfg.mode === 'amp-bf16' ? DataType.BFLOAT16 : this.amp ? H : F;
    this.dims = s.tg.weights.map((w) => s.tg.model.graph.values.get(w)!.type!.shape as number[]);
    // Feature rows are laid out in the model's input shape (e.g. 64 features → 1×8×8 for a CNN).
    const f = data.features;
    this.inShape = (forward.graph.values.get(forward.graph.inputs[0])?.type?.shape ?? ['N', f])
      .slice(1)
      .map((d) => (typeof d === 'number' ? d : f));
  }

  static async setup(
    forward: Model,
    data: Dataset,
    cfg: TrainConfig,
    init: Map<string, Float32Array>,
  ): Promise<TrainingRun> {
    const batch = cfg.batch ?? DEFAULT_BATCH;
    const tg = buildTrainingGraph(forward, { bnTraining: cfg.bnTraining });
    const amp = cfg.mode !== 'fp32';
    const lowered = (m: Model, keepIo?: string[]): Model => {
      if (!cfg.lower) throw new Error(`train: mode '${cfg.mode}' needs cfg.lower (the mixed-precision pass)`);
      return cfg.lower(m, cfg.mode === 'amp-bf16' ? 'bf16' : 'fp16', keepIo);
    };
    const scaler = new LossScaler({ ...(cfg.scaler ?? {}), enabled: cfg.mode === 'amp' });
    // One run per step: forward, backward, unscale + inf/NaN check (+ clipping), the scale update, the optimizer
    // update; all state stays with the executor between steps (on the GPU for WebGPU), and the per-step history
    // (finite flag, loss) is read once per window, then replayed into `scaler` for its history.
    const step = appendOptimizerStep(tg, {
      optimizer: cfg.optimizer ?? 'sgd',
      lr: cfg.lr,
      maxGradNorm: scaler.maxGradNorm,
      batch,
      lossMultiplier: cfg.lossMultiplier ?? 1,
      scaler: {
        enabled: scaler.enabled,
        initScale: scaler.scale,
        growthFactor: scaler.growthFactor,
        backoffFactor: scaler.backoffFactor,
        growthInterval: scaler.growthInterval,
      },
    });
    const runModel = amp ? lowered(step.model, step.keepFp32Io) : step.model;
    const evalModel = cloneModel(forward);
    for (const w of [...tg.weights, ...tg.state.map((st) => st.input)]) {
      const t = evalModel.graph.initializers.get(w)!;
      evalModel.graph.initializers.delete(w);
      evalModel.graph.inputs.push(w);
      evalModel.graph.value(w).type = { elemType: F, shape: [...t.dims] };
    }
    const evalRun = amp ? lowered(evalModel) : evalModel;
    const setup = {
      tg,
      step,
      runModel,
      exec: await makeExecutor(cfg, runModel),
      evalRun,
      evalExec: await makeExecutor(cfg, evalRun),
      scaler,
    };
    return new TrainingRun(forward, data, cfg, init, setup);
  }

  private xDims(n: number): number[] {
    return [n, ...this.inShape];
  }
  private typeIn(m: Model, name: string): number {
    return m.graph.values.get(name)?.type?.elemType ?? F;
  }

  /** Reads the history window and replays it into the scaler (its history and skip count) and the losses. */
  private async drain(): Promise<void> {
    if (!this.pending) return;
    const { exec, step, scaler } = this.s;
    const [fl, ls] = [
      toFloat32(await exec.readCarried(step.history.finite)),
      toFloat32(await exec.readCarried(step.history.loss)),
    ];
    for (let j = 0; j < this.pending; j++) {
      scaler.record(fl[j] === 1);
      this.losses.push(ls[j]);
    }
    this.pending = 0;
  }
  /** Master weights (fp32) and running statistics as they are now: the initial values, or the carried ones. */
  private async feedParams(fd: Record<string, RTensor>, m: Model): Promise<void> {
    const { tg, exec } = this.s;
    const ws = await Promise.all(
      tg.weights.map(async (w) =>
        this.steps ? toFloat32(await exec.readCarried(w)) : Float32Array.from(this.init.get(w)!),
      ),
    );
    const st = await Promise.all(
      tg.state.map(async (s) =>
        this.steps
          ? toFloat32(await exec.readCarried(s.input))
          : Float32Array.from(this.forward.graph.initializers.get(s.input)!.data() as Float32Array),
      ),
    );
    tg.weights.forEach((w, k) => {
      fd[w] = asType(f32t(this.dims[k], ws[k]), this.typeIn(m, w));
    });
    tg.state.forEach((s, k) => {
      fd[s.input] = asType(f32t([st[k].length], st[k]), this.typeIn(m, s.input));
    });
  }

  /** Test accuracy in the run's precision, with the current master weights. */
  async testAccuracy(): Promise<number> {
    const { data, forward } = this,
      { tg, evalRun, evalExec } = this.s,
      f = data.features,
      C = tg.classes;
    let correct = 0;
    const nTest = data.yTest.length;
    const params: Record<string, RTensor> = {};
    await this.feedParams(params, evalRun);
    for (let b0 = 0; b0 < nTest; b0 += 256) {
      const n = Math.min(256, nTest - b0);
      const fd: Record<string, RTensor> = {
        ...params,
        [forward.graph.inputs[0]]: asType(f32t(this.xDims(n), data.xTest.slice(b0 * f, (b0 + n) * f)), this.lowT),
      };
      const z = toFloat32((await evalExec.run(fd))[tg.logits]);
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (z[i * C + c] > z[i * C + best]) best = c;
        if (best === data.yTest[b0 + i]) correct++;
      }
    }
    return correct / nTest;
  }

  /** One pass over the training set in a fresh shuffle, whole batches only. */
  async epoch(rnd: () => number): Promise<void> {
    const { data, batch } = this,
      f = data.features,
      C = this.s.tg.classes,
      nTrain = data.yTrain.length;
    const order = Int32Array.from({ length: nTrain }, (_, i) => i);
    for (let i = nTrain - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let b0 = 0; b0 + batch <= nTrain; b0 += batch) {
      const x = new Float32Array(batch * f),
        y = new Float32Array(batch * C);
      for (let i = 0; i < batch; i++) {
        const r = order[b0 + i];
        x.set(data.xTrain.subarray(r * f, r * f + f), i * f);
        y[i * C + data.yTrain[r]] = 1;
      }
      await this.trainStep(x, y, this.amp && b0 === 0);
    }
    await this.drain();
  }

  private batchFeeds(m: Model, x: Float32Array, y: Float32Array): Record<string, RTensor> {
    const { batch } = this,
      input = this.forward.graph.inputs[0],
      C = this.s.tg.classes;
    return {
      [input]: asType(f32t(this.xDims(batch), x), this.typeIn(m, input)),
      labels: asType(f32t([batch, C], y), this.typeIn(m, 'labels')),
      loss_coef: asType(f32t([], Float32Array.from([-1 / batch])), this.typeIn(m, 'loss_coef')),
    };
  }

  /** One optimizer step on a batch; with `study`, its gradients are compared with the same step in fp32. */
  private async trainStep(x: Float32Array, y: Float32Array, study: boolean): Promise<void> {
    const { exec, step, runModel, tg } = this.s;
    const fd = { ...this.batchFeeds(runModel, x, y), ...step.stepFeed(this.pending) };
    const ref = study ? await this.fp32Gradients(x, y) : undefined;
    if (!this.steps) {
      await this.feedParams(fd, runModel);
      Object.assign(fd, step.initialState());
    }
    const out = await exec.run(fd, { outputs: study ? tg.grads : [], carry: step.carry });
    this.crossings = Math.max(this.crossings, (exec as { crossings?: number }).crossings ?? 0);
    if (ref) this.countUnderflow(ref, out);
    this.steps++;
    if (++this.pending === step.history.length) await this.drain();
  }

  /** Underflow study: the same step in fp32 (scale 1), for this run's gradients before unscaling to be compared with. */
  private async fp32Gradients(x: Float32Array, y: Float32Array): Promise<Record<string, RTensor>> {
    const { tg } = this.s;
    this.fp32Exec ??= await makeExecutor(this.cfg, tg.model);
    const rf = {
      ...this.batchFeeds(tg.model, x, y),
      grad_scale: f32t([], Float32Array.from([(this.cfg.lossMultiplier ?? 1) / this.batch])),
    };
    await this.feedParams(rf, tg.model);
    return this.fp32Exec.run(rf);
  }
  /** Gradient elements nonzero in fp32 that the run's precision flushed to zero. */
  private countUnderflow(ref: Record<string, RTensor>, out: Record<string, RTensor>): void {
    for (const g of this.s.tg.grads) {
      const r = toFloat32(ref[g]),
        got = toFloat32(out[g]);
      for (let i = 0; i < r.length; i++)
        if (r[i] !== 0) {
          this.underflowDen++;
          if (got[i] === 0) this.underflowNum++;
        }
    }
  }

  async finish(): Promise<TrainResult & { backend: string }> {
    const { exec, evalExec, step, scaler } = this.s,
      losses = this.losses;
    // The scale the device computed must be the one the scaler replayed (both follow LossScaler's rules).
    const deviceScale = this.steps ? toFloat32(await exec.readCarried(step.scale))[0] : scaler.scale;
    if (deviceScale !== scaler.scale)
      throw new Error(`train: the device's loss scale ${deviceScale} differs from the scaler's ${scaler.scale}`);
    const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 20)));
    const finalAccuracy = this.epochAccuracy[this.epochAccuracy.length - 1] ?? (await this.testAccuracy());
    for (const e of new Set([this.fp32Exec, exec, evalExec])) e?.dispose();
    return {
      backend: exec.name,
      mode: this.cfg.mode,
      testAccuracy: finalAccuracy,
      epochAccuracy: this.epochAccuracy,
      finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
      losses,
      skippedSteps: scaler.state.skippedSteps,
      scaleHistory: scaler.state.history.map((h) => ({ step: h.step, scale: h.scale })),
      underflow: this.underflowDen ? this.underflowNum / this.underflowDen : 0,
      steps: this.steps,
      crossings: this.crossings,
    };
  }
}

const makeExecutor = async (cfg: TrainConfig, m: Model): Promise<Executor> =>
  (await createExecutor(m, { backend: cfg.backend ?? 'cpu' })).executor;
