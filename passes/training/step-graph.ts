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
import type { Model } from '../../src/ir/graph.js';
import { Node as IrNode } from '../../src/ir/graph.js';
import { makeAttr, type AttrValue } from '../../src/onnx/builder.js';
import { Tensor } from '../../src/ir/tensor.js';
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
  const model = cloneModel(tg.model);
  const g = model.graph;
  let counter = 0;
  const fresh = (p: string) => {
    let n;
    do n = `${OPT_PREFIX}${p}_${counter++}`;
    while (g.values.has(n));
    return n;
  };
  const emit = (
    op: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    out = fresh(op.toLowerCase()),
  ): string => {
    g.nodes.push(
      new IrNode(
        op,
        inputs,
        [out],
        g,
        `${OPT_PREFIX}${out.replace(OPT_PREFIX, '')}`,
        '',
        Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
      ),
    );
    return out;
  };
  const constant = (v: number, data = Float32Array.from([v]), dims: number[] = []) => {
    const n = fresh('c');
    g.initializers.set(n, Tensor.fromArray(n, DataType.FLOAT, dims, data));
    g.value(n).type = { elemType: DataType.FLOAT, shape: dims };
    return n;
  };
  const input = (name: string, shape: number[]) => {
    g.inputs.push(name);
    g.value(name).type = { elemType: DataType.FLOAT, shape };
    return name;
  };
  const output = (name: string, shape: number[], elemType: number = DataType.FLOAT) => {
    g.outputs.push(name);
    g.value(name).type = { elemType, shape };
  };
  const dimsOf = (w: string) => g.values.get(w)!.type!.shape as number[];

  const adam = o.optimizer === 'adam',
    sc = o.scaler,
    H = o.history ?? 256,
    mult = o.lossMultiplier ?? 1;
  // The scaler's state, carried; grad_scale (a training-graph input until now) is computed from it, first.
  const scale = input(`${OPT_PREFIX}scale`, []),
    tracker = input(`${OPT_PREFIX}tracker`, []),
    applied = input(`${OPT_PREFIX}applied`, []);
  const histF = input(`${OPT_PREFIX}hist/finite`, [H]),
    histL = input(`${OPT_PREFIX}hist/loss`, [H]),
    slot = input(`${OPT_PREFIX}slot`, []);
  const front: IrNode[] = [];
  const emitFront = (op: string, inputs: string[], out: string) => {
    front.push(new IrNode(op, inputs, [out], g, `${OPT_PREFIX}${out.replace(OPT_PREFIX, '')}`));
    return out;
  };
  g.inputs = g.inputs.filter((x) => x !== 'grad_scale');
  emitFront('Mul', [scale, constant(mult / o.batch)], 'grad_scale');
  const invScale = emitFront(
    'Div',
    [constant(1), emitFront('Mul', [scale, constant(mult)], fresh('scaled_mult'))],
    fresh('inv_scale'),
  );
  g.nodes.unshift(...front);
  const b1 = o.b1 ?? 0.9,
    b2 = o.b2 ?? 0.999;
  // Adam's bias corrections 1 / (1 − β^t) at t = applied updates + 1.
  const t1 = adam ? emit('Add', [applied, constant(1)]) : '';
  const bc = (b: number) => emit('Div', [constant(1), emit('Sub', [constant(1), emit('Pow', [constant(b), t1])])]);
  const bc1 = adam ? bc(b1) : undefined,
    bc2 = adam ? bc(b2) : undefined;
  // Unscaled gradients, and the count of non-finite values among them (IsInf/IsNaN test the bits). Read before
  // the `grad/…` outputs: a gradient computed in fp32 (a bias's batch sum) reaches the update unrounded.
  const source = (gname: string) => {
    const p = g.values.get(gname)?.producer;
    return p?.opType === 'Identity' ? p.inputs[0] : gname;
  };
  const gu = tg.weights.map((w, k) => emit('Mul', [source(tg.grads[k]), invScale], {}, fresh(`unscaled/${w}`)));
  const sumAll = (xs: string[]) => xs.reduce((acc, x) => emit('Add', [acc, x]));
  const bad = sumAll(
    gu.map((x) =>
      emit(
        'ReduceSum',
        [emit('Cast', [emit('Or', [emit('IsInf', [x]), emit('IsNaN', [x])])], { to: DataType.FLOAT })],
        { keepdims: 0 },
      ),
    ),
  );
  const finite = emit('Equal', [bad, constant(0)], {}, `${OPT_PREFIX}finite`);
  output(finite, [], DataType.BOOL);
  const skip = sc.enabled; // GradScaler skips the step on a non-finite gradient; without scaling it steps anyway
  let grads = gu;
  if (o.maxGradNorm !== undefined) {
    // clip_grad_norm_: k = max / (‖g‖ + 1e-6) where ‖g‖ > max, else 1.
    const norm = emit('Sqrt', [sumAll(gu.map((x) => emit('ReduceSum', [emit('Mul', [x, x])], { keepdims: 0 })))]);
    const max = constant(o.maxGradNorm);
    const k = emit('Where', [
      emit('Greater', [norm, max]),
      emit('Div', [max, emit('Add', [norm, constant(1e-6)])]),
      constant(1),
    ]);
    grads = gu.map((x) => emit('Mul', [x, k]));
  }
  const carry: Record<string, string> = {};
  const moments: { name: string; dims: number[] }[] = [];
  const keep: string[] = [slot];
  const lr = constant(o.lr);
  /** A carried fp32 value: input `name`, its update as output `${name}/next` (`guarded`: kept when the step is skipped). */
  const carried = (name: string, dims: number[], next: string, isMoment = false, guarded = true) => {
    const out = `${name}/next`;
    const kept = guarded && skip ? emit('Where', [finite, next, name], {}, out) : emit('Identity', [next], {}, out);
    output(kept, dims);
    carry[out] = name;
    keep.push(name, out);
    if (isMoment) moments.push({ name, dims });
  };
  tg.weights.forEach((w, k) => {
    const dims = dimsOf(w),
      gr = grads[k];
    let step: string;
    if (adam) {
      const m = input(`${OPT_PREFIX}m/${w}`, dims),
        v = input(`${OPT_PREFIX}v/${w}`, dims);
      const m1 = emit('Add', [emit('Mul', [m, constant(b1)]), emit('Mul', [gr, constant(1 - b1)])]);
      const v1 = emit('Add', [emit('Mul', [v, constant(b2)]), emit('Mul', [emit('Mul', [gr, gr]), constant(1 - b2)])]);
      step = emit('Div', [
        emit('Mul', [emit('Mul', [m1, bc1!]), lr]),
        emit('Add', [emit('Sqrt', [emit('Mul', [v1, bc2!])]), constant(o.eps ?? 1e-8)]),
      ]);
      carried(m, dims, m1, true);
      carried(v, dims, v1, true);
    } else {
      const v = input(`${OPT_PREFIX}m/${w}`, dims);
      const v1 = emit('Add', [emit('Mul', [v, constant(o.momentum ?? 0.9)]), gr]);
      step = emit('Mul', [v1, lr]);
      carried(v, dims, v1, true);
    }
    carried(w, dims, emit('Sub', [w, step]), false);
  });
  // The scaler (LossScaler.record): clean → tracker + 1, the scale × growthFactor when it reaches the interval;
  // non-finite → tracker 0, scale × backoffFactor. Disabled: both stay.
  const f = emit('Cast', [finite], { to: DataType.FLOAT });
  if (sc.enabled) {
    const t2 = emit('Add', [tracker, constant(1)]);
    const grow = emit('Equal', [t2, constant(sc.growthInterval)]);
    carried(
      scale,
      [],
      emit('Where', [
        finite,
        emit('Where', [grow, emit('Mul', [scale, constant(sc.growthFactor)]), scale]),
        emit('Mul', [scale, constant(sc.backoffFactor)]),
      ]),
      false,
      false,
    );
    carried(tracker, [], emit('Where', [finite, emit('Where', [grow, constant(0), t2]), constant(0)]), false, false);
  } else {
    carried(scale, [], scale, false, false);
    carried(tracker, [], tracker, false, false);
  }
  carried(applied, [], emit('Add', [applied, skip ? f : constant(1)]), false, false);
  // History: this step's finite flag and loss in its slot of the window (a select: a NaN loss stays in its slot).
  const at = emit('Equal', [
    constant(
      0,
      Float32Array.from({ length: H }, (_, i) => i),
      [H],
    ),
    slot,
  ]);
  carried(histF, [H], emit('Where', [at, f, histF]), false, false);
  carried(histL, [H], emit('Where', [at, 'loss', histL]), false, false);
  for (const s of tg.state) carry[s.output] = s.input;
  g.reindex();
  const t = (dims: number[], v = 0): RTensor => ({
    dtype: DataType.FLOAT,
    dims,
    data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(v),
  });
  const initialState = (): Record<string, RTensor> => ({
    ...Object.fromEntries(moments.map((m) => [m.name, t(m.dims)])),
    [scale]: t([], sc.enabled ? sc.initScale : 1),
    [tracker]: t([]),
    [applied]: t([]),
    [histF]: t([H]),
    [histL]: t([H]),
  });
  return {
    model,
    initialState,
    stepFeed: (k) => ({ [slot]: t([], k) }),
    history: { finite: histF, loss: histL, length: H },
    scale,
    applied,
    finite,
    carry,
    keepFp32Io: keep,
  };
}
