/**
 * The optimizer step as graph nodes appended to a training graph: one run does forward, backward, the loss
 * scaler's unscale, inf/NaN check and scale update, optional gradient clipping and the SGD-momentum / Adam
 * update, on the device that ran the backward pass. Weights, moments, the loss scale and its growth tracker,
 * Adam's update count and a window of per-step history (finite flag, loss) are carried between runs
 * (RunOptions.carry), so a WebGPU step reads nothing back: the trainer reads the history once per window.
 *
 * Semantics are those of optim.ts and LossScaler (GradScaler: the references the tests compare with): the loss
 * is scaled by `scale` (grad_scale = scale · lossMultiplier / batch), gradients are unscaled by
 * 1 / (scale · lossMultiplier); with dynamic scaling on, a step with any non-finite gradient changes nothing
 * (weights and moments kept, as GradScaler skips optimizer.step) and multiplies the scale by `backoffFactor`;
 * `growthInterval` clean steps in a row multiply it by `growthFactor`. Nodes are named `opt/…` and the master
 * weights, moments and state are listed in `keepFp32Io`, so the AMP lowering keeps all of it fp32 and casts
 * only the forward's copies of the weights.
 */
import type { Graph, Model } from '../../src/ir/graph.js';
import { Node } from '../../src/ir/graph.js';
import type { AttrValue } from '../../src/onnx/builder.js';
import { GraphWriter } from './writer.js';
import { DataType } from '../../src/core/dtype.js';
import type { TrainingGraph } from './autodiff.js';
import type { RTensor } from '../../src/ir/rtensor.js';
import { cloneModel } from '../../src/onnx/io.js';

export interface StepOptions {
  optimizer: 'sgd' | 'adam';
  lr: number;
  /** SGD momentum (0.9, as optim.ts). */
  momentum?: number;
  /** Adam β1, β2, ε (0.9, 0.999, 1e-8). */
  b1?: number;
  b2?: number;
  eps?: number;
  /** Clip the global L2 norm of the unscaled gradients (LossScalerOptions.maxGradNorm). */
  maxGradNorm?: number;
  /** The loss scaler (LossScaler's options: disabled = scale 1, never skips). */
  scaler: { enabled: boolean; initScale: number; growthFactor: number; backoffFactor: number; growthInterval: number };
  /** Minibatch size and loss multiplier: grad_scale = scale · lossMultiplier / batch. */
  batch: number;
  lossMultiplier?: number;
  /** Steps of history (finite flag, loss) kept on the device between readbacks. */
  history?: number;
}
export interface StepGraph {
  model: Model;
  /** The feeds of the first step: the optimizer's moments (zeros) and the scaler's state. Weights and running statistics come from the caller. */
  initialState: () => Record<string, RTensor>;
  /** The per-step feed: the step's slot in the history window. */
  stepFeed: (slot: number) => Record<string, RTensor>;
  /** Carried inputs holding, per slot of the window, the finite flag (1/0) and the loss; the window's length. */
  history: { finite: string; loss: string; length: number };
  /** Carried inputs: the loss scale and Adam's count of applied updates. */
  scale: string;
  applied: string;
  /** Bool output: every gradient of this step finite. */
  finite: string;
  /** Output → input: everything carried to the next step. */
  carry: Record<string, string>;
  /** Graph inputs and outputs that keep fp32 under AMP: master weights, moments, state, their updates. */
  keepFp32Io: string[];
}

/** `opt/` node-name prefix: the AMP lowering keeps these nodes fp32. */
export const OPT_PREFIX = 'opt/';

export function appendOptimizerStep(tg: TrainingGraph, o: StepOptions): StepGraph {
  const b = new StepBuilder(tg, o);
  const invScale = b.scaleFront();
  const { bc1, bc2 } = b.adamCorrections();
  const finite = b.finiteCheck(invScale);
  const grads = b.clip();
  b.updates(grads, bc1, bc2);
  const f = b.scalerUpdate(finite);
  b.history(f);
  return b.result(finite);
}

/** The step's nodes, appended in a fixed order (names are fresh in that order: the same model every time). */
class StepBuilder {
  readonly model: Model;
  private readonly w: GraphWriter;
  private readonly g: Graph;
  private readonly adam: boolean;
  private readonly H: number;
  private readonly skip: boolean;
  // The scaler's state and the history window, carried; grad_scale (a training-graph input until now) is computed from it.
  readonly scale: string;
  readonly tracker: string;
  readonly applied: string;
  readonly histF: string;
  readonly histL: string;
  readonly slot: string;
  readonly carry: Record<string, string> = {};
  readonly moments: { name: string; dims: number[] }[] = [];
  readonly keep: string[];
  private gu: string[] = [];
  private finite = '';

  constructor(
    readonly tg: TrainingGraph,
    readonly o: StepOptions,
  ) {
    this.model = cloneModel(tg.model);
    this.g = this.model.graph;
    this.w = new GraphWriter(this.g, OPT_PREFIX);
    this.adam = o.optimizer === 'adam';
    this.H = o.history ?? 256;
    // GradScaler skips the step on a non-finite gradient; without scaling it steps anyway.
    this.skip = o.scaler.enabled;
    const input = (name: string, shape: number[]) => this.w.input(`${OPT_PREFIX}${name}`, shape);
    this.scale = input('scale', []);
    this.tracker = input('tracker', []);
    this.applied = input('applied', []);
    this.histF = input('hist/finite', [this.H]);
    this.histL = input('hist/loss', [this.H]);
    this.slot = input('slot', []);
    this.keep = [this.slot];
  }

  private emit(
    op: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    out = this.w.fresh(op.toLowerCase()),
  ): string {
    this.w.node(op, inputs, [out], `${OPT_PREFIX}${out.replace(OPT_PREFIX, '')}`, attrs);
    return out;
  }
  private constant(v: number, data?: Float32Array<ArrayBuffer>, dims?: number[]): string {
    return this.w.constant(v, data, dims);
  }

  /** grad_scale = scale · lossMultiplier / batch and 1 / (scale · lossMultiplier), computed first (before the forward). */
  scaleFront(): string {
    const { g, w, scale, o } = this,
      mult = o.lossMultiplier ?? 1;
    const front: Node[] = [];
    const emitFront = (op: string, inputs: string[], out: string) => {
      front.push(new Node(op, inputs, [out], g, `${OPT_PREFIX}${out.replace(OPT_PREFIX, '')}`));
      return out;
    };
    g.inputs = g.inputs.filter((x) => x !== 'grad_scale');
    emitFront('Mul', [scale, this.constant(mult / o.batch)], 'grad_scale');
    const invScale = emitFront(
      'Div',
      [this.constant(1), emitFront('Mul', [scale, this.constant(mult)], w.fresh('scaled_mult'))],
      w.fresh('inv_scale'),
    );
    g.nodes.unshift(...front);
    return invScale;
  }

  /** Adam's bias corrections 1 / (1 − β^t) at t = applied updates + 1. */
  adamCorrections(): { bc1?: string; bc2?: string } {
    if (!this.adam) return {};
    const t1 = this.emit('Add', [this.applied, this.constant(1)]);
    const bc = (b: number) =>
      this.emit('Div', [
        this.constant(1),
        this.emit('Sub', [this.constant(1), this.emit('Pow', [this.constant(b), t1])]),
      ]);
    return { bc1: bc(this.o.b1 ?? 0.9), bc2: bc(this.o.b2 ?? 0.999) };
  }

  private sumAll(xs: string[]): string {
    return xs.reduce((acc, x) => this.emit('Add', [acc, x]));
  }

  /**
   * Unscaled gradients, and the count of non-finite values among them (IsInf/IsNaN test the bits). Read before
   * the `grad/…` outputs: a gradient computed in fp32 (a bias's batch sum) reaches the update unrounded.
   */
  finiteCheck(invScale: string): string {
    const { g, tg } = this;
    const source = (gname: string) => {
      const p = g.values.get(gname)?.producer;
      return p?.opType === 'Identity' ? p.inputs[0] : gname;
    };
    this.gu = tg.weights.map((wt, k) =>
      this.emit('Mul', [source(tg.grads[k]), invScale], {}, this.w.fresh(`unscaled/${wt}`)),
    );
    const bad = this.sumAll(
      this.gu.map((x) =>
        this.emit(
          'ReduceSum',
          [
            this.emit('Cast', [this.emit('Or', [this.emit('IsInf', [x]), this.emit('IsNaN', [x])])], {
              to: DataType.FLOAT,
            }),
          ],
          { keepdims: 0 },
        ),
      ),
    );
    this.finite = this.emit('Equal', [bad, this.constant(0)], {}, `${OPT_PREFIX}finite`);
    this.w.output(this.finite, [], DataType.BOOL);
    return this.finite;
  }

  /** clip_grad_norm_: k = max / (‖g‖ + 1e-6) where ‖g‖ > max, else 1. */
  clip(): string[] {
    const { gu, o } = this;
    if (o.maxGradNorm === undefined) return gu;
    const norm = this.emit('Sqrt', [
      this.sumAll(gu.map((x) => this.emit('ReduceSum', [this.emit('Mul', [x, x])], { keepdims: 0 }))),
    ]);
    const max = this.constant(o.maxGradNorm);
    const k = this.emit('Where', [
      this.emit('Greater', [norm, max]),
      this.emit('Div', [max, this.emit('Add', [norm, this.constant(1e-6)])]),
      this.constant(1),
    ]);
    return gu.map((x) => this.emit('Mul', [x, k]));
  }

  /** A carried fp32 value: input `name`, its update as output `${name}/next` (`guarded`: kept when the step is skipped). */
  private carried(name: string, dims: number[], next: string, isMoment = false, guarded = true): void {
    const out = `${name}/next`;
    const kept =
      guarded && this.skip
        ? this.emit('Where', [this.finite, next, name], {}, out)
        : this.emit('Identity', [next], {}, out);
    this.w.output(kept, dims);
    this.carry[out] = name;
    this.keep.push(name, out);
    if (isMoment) this.moments.push({ name, dims });
  }

  /** SGD with momentum or Adam, per weight; the weight and its moments carried. */
  updates(grads: string[], bc1?: string, bc2?: string): void {
    const { o, tg } = this,
      b1 = o.b1 ?? 0.9,
      b2 = o.b2 ?? 0.999;
    const lr = this.constant(o.lr);
    tg.weights.forEach((wt, k) => {
      const dims = this.g.values.get(wt)!.type!.shape as number[],
        gr = grads[k];
      let step: string;
      if (this.adam) {
        const m = this.w.input(`${OPT_PREFIX}m/${wt}`, dims),
          v = this.w.input(`${OPT_PREFIX}v/${wt}`, dims);
        const m1 = this.emit('Add', [
          this.emit('Mul', [m, this.constant(b1)]),
          this.emit('Mul', [gr, this.constant(1 - b1)]),
        ]);
        const v1 = this.emit('Add', [
          this.emit('Mul', [v, this.constant(b2)]),
          this.emit('Mul', [this.emit('Mul', [gr, gr]), this.constant(1 - b2)]),
        ]);
        step = this.emit('Div', [
          this.emit('Mul', [this.emit('Mul', [m1, bc1!]), lr]),
          this.emit('Add', [this.emit('Sqrt', [this.emit('Mul', [v1, bc2!])]), this.constant(o.eps ?? 1e-8)]),
        ]);
        this.carried(m, dims, m1, true);
        this.carried(v, dims, v1, true);
      } else {
        const v = this.w.input(`${OPT_PREFIX}m/${wt}`, dims);
        const v1 = this.emit('Add', [this.emit('Mul', [v, this.constant(o.momentum ?? 0.9)]), gr]);
        step = this.emit('Mul', [v1, lr]);
        this.carried(v, dims, v1, true);
      }
      this.carried(wt, dims, this.emit('Sub', [wt, step]), false);
    });
  }

  /**
   * The scaler (LossScaler.record): clean → tracker + 1, the scale × growthFactor when it reaches the interval;
   * non-finite → tracker 0, scale × backoffFactor. Disabled: both stay. Returns the finite flag as a float.
   */
  scalerUpdate(finite: string): string {
    const { scale, tracker, applied } = this,
      sc = this.o.scaler;
    const f = this.emit('Cast', [finite], { to: DataType.FLOAT });
    if (sc.enabled) {
      const t2 = this.emit('Add', [tracker, this.constant(1)]);
      const grow = this.emit('Equal', [t2, this.constant(sc.growthInterval)]);
      const next = this.emit('Where', [
        finite,
        this.emit('Where', [grow, this.emit('Mul', [scale, this.constant(sc.growthFactor)]), scale]),
        this.emit('Mul', [scale, this.constant(sc.backoffFactor)]),
      ]);
      this.carried(scale, [], next, false, false);
      this.carried(
        tracker,
        [],
        this.emit('Where', [finite, this.emit('Where', [grow, this.constant(0), t2]), this.constant(0)]),
        false,
        false,
      );
    } else {
      this.carried(scale, [], scale, false, false);
      this.carried(tracker, [], tracker, false, false);
    }
    this.carried(applied, [], this.emit('Add', [applied, this.skip ? f : this.constant(1)]), false, false);
    return f;
  }

  /** History: this step's finite flag and loss in its slot of the window (a select: a NaN loss stays in its slot). */
  history(f: string): void {
    const { H, histF, histL } = this;
    const at = this.emit('Equal', [
      this.constant(
        0,
        Float32Array.from({ length: H }, (_, i) => i),
        [H],
      ),
      this.slot,
    ]);
    this.carried(histF, [H], this.emit('Where', [at, f, histF]), false, false);
    this.carried(histL, [H], this.emit('Where', [at, 'loss', histL]), false, false);
  }

  result(finite: string): StepGraph {
    const { tg, H, scale, tracker, applied, histF, histL, slot } = this,
      sc = this.o.scaler;
    for (const st of tg.state) this.carry[st.output] = st.input;
    this.g.reindex();
    const t = (dims: number[], v = 0): RTensor => ({
      dtype: DataType.FLOAT,
      dims,
      data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(v),
    });
    const initialState = (): Record<string, RTensor> => ({
      ...Object.fromEntries(this.moments.map((m) => [m.name, t(m.dims)])),
      [scale]: t([], sc.enabled ? sc.initScale : 1),
      [tracker]: t([]),
      [applied]: t([]),
      [histF]: t([H]),
      [histL]: t([H]),
    });
    return {
      model: this.model,
      initialState,
      stepFeed: (k) => ({ [slot]: t([], k) }),
      history: { finite: histF, loss: histL, length: H },
      scale,
      applied,
      finite,
      carry: this.carry,
      keepFp32Io: this.keep,
    };
  }
}
