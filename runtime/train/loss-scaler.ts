/**
 * Dynamic loss scaling with PyTorch GradScaler semantics. The loss is multiplied by `scale` before the
 * backward pass so small gradients do not underflow in fp16; `unscale` checks the scaled gradients for
 * inf/NaN and divides them by the scale in fp32. A step with any non-finite gradient is skipped and the
 * scale multiplied by `backoffFactor`; after `growthInterval` consecutive clean steps it is multiplied by
 * `growthFactor`. Disabled, it is the identity (scale 1, never skips) — "AMP without loss scaling".
 */
export interface LossScalerOptions {
  enabled?: boolean;
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  /** Clip the global L2 norm of the unscaled gradients to this value (after unscaling, like clip_grad_norm_). */
  maxGradNorm?: number;
}
export interface ScalerState {
  scale: number;
  growthTracker: number;
  steps: number;
  skippedSteps: number;
  history: { step: number; scale: number; skipped: boolean }[];
}
export interface StepDecision {
  skip: boolean;
  scale: number;
  gradNorm: number;
  clipped: boolean;
}

/** Dynamic loss scaling with PyTorch GradScaler semantics (init 2^16, growth 2, backoff 0.5, interval 2000). */
export class LossScaler {
  readonly enabled: boolean;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  readonly maxGradNorm?: number;
  private s: ScalerState;

  constructor(opts: LossScalerOptions = {}) {
    this.enabled = opts.enabled ?? true;
    this.growthFactor = opts.growthFactor ?? 2;
    this.backoffFactor = opts.backoffFactor ?? 0.5;
    this.growthInterval = opts.growthInterval ?? 2000;
    this.maxGradNorm = opts.maxGradNorm;
    if (
      !(this.growthFactor > 1) ||
      !(this.backoffFactor > 0 && this.backoffFactor < 1) ||
      !(this.growthInterval >= 1)
    ) {
      throw new RangeError('loss scaler: growthFactor must be > 1, backoffFactor in (0, 1), growthInterval ≥ 1');
    }
    this.s = {
      scale: this.enabled ? (opts.initScale ?? 2 ** 16) : 1,
      growthTracker: 0,
      steps: 0,
      skippedSteps: 0,
      history: [],
    };
  }

  get scale(): number {
    return this.s.scale;
  }
  get state(): Readonly<ScalerState> {
    return this.s;
  }

  /**
   * Given the gradients of the SCALED loss (fp32 views, modified in place): checks for inf/NaN, unscales,
   * optionally clips, then updates the scale. Returns whether the optimizer step must be skipped.
   */
  unscaleAndUpdate(grads: Float32Array[]): StepDecision {
    const scale = this.s.scale;
    let finite = true;
    for (const g of grads) {
      for (let i = 0; i < g.length; i++)
        if (!Number.isFinite(g[i])) {
          finite = false;
          break;
        }
      if (!finite) break;
    }
    if (!finite && this.enabled) return { ...this.record(false), gradNorm: NaN, clipped: false };
    const inv = 1 / scale;
    let sq = 0;
    for (const g of grads)
      for (let i = 0; i < g.length; i++) {
        g[i] *= inv;
        sq += g[i] * g[i];
      }
    let gradNorm = Math.sqrt(sq),
      clipped = false;
    if (this.maxGradNorm !== undefined && gradNorm > this.maxGradNorm) {
      const k = this.maxGradNorm / (gradNorm + 1e-6);
      for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= k;
      clipped = true;
      gradNorm = this.maxGradNorm;
    }
    return { ...this.record(finite), gradNorm, clipped };
  }

  /**
   * The scale bookkeeping alone, for a step whose gradients were checked and unscaled elsewhere (on the device:
   * step-graph.ts): a non-finite step is skipped and backs the scale off; clean steps grow it every interval.
   */
  record(finite: boolean): { skip: boolean; scale: number } {
    const scale = this.s.scale;
    this.s.steps++;
    if (!finite && this.enabled) {
      this.s.skippedSteps++;
      this.s.scale = scale * this.backoffFactor;
      this.s.growthTracker = 0;
      this.s.history.push({ step: this.s.steps, scale: this.s.scale, skipped: true });
      return { skip: true, scale };
    }
    if (this.enabled && ++this.s.growthTracker === this.growthInterval) {
      this.s.scale = scale * this.growthFactor;
      this.s.growthTracker = 0;
    }
    this.s.history.push({ step: this.s.steps, scale: this.s.scale, skipped: false });
    return { skip: false, scale };
  }

  toJSON(): ScalerState & LossScalerOptions {
    return {
      ...this.s,
      history: [...this.s.history],
      enabled: this.enabled,
      growthFactor: this.growthFactor,
      backoffFactor: this.backoffFactor,
      growthInterval: this.growthInterval,
      maxGradNorm: this.maxGradNorm,
    };
  }
  static fromJSON(j: ScalerState & LossScalerOptions): LossScaler {
    const sc = new LossScaler({
      enabled: j.enabled,
      growthFactor: j.growthFactor,
      backoffFactor: j.backoffFactor,
      growthInterval: j.growthInterval,
      maxGradNorm: j.maxGradNorm,
      initScale: j.scale,
    });
    sc.s = {
      scale: j.scale,
      growthTracker: j.growthTracker,
      steps: j.steps,
      skippedSteps: j.skippedSteps,
      history: [...j.history],
    };
    return sc;
  }
}
