/**
 * The optimizer step as graph nodes appended to a training graph: one run does forward, backward, the loss
 * scaler's unscale and inf/NaN check, optional gradient clipping and the SGD-momentum / Adam update, on the
 * device that ran the backward pass; weights and moments are carried between runs (RunOptions.carry), so a
 * WebGPU step reads back only the loss and the finite flag.
 *
 * Semantics are those of optim.ts and LossScaler.unscaleAndUpdate (the references the tests compare with):
 * gradients are unscaled by `opt/inv_scale` = 1 / (scale · lossMultiplier), fed per step (the scale itself
 * stays with the trainer's LossScaler: a scalar); with `skipNonFinite` a step with any non-finite gradient
 * changes nothing (weights and moments kept), as GradScaler skips optimizer.step; `opt/finite` says which.
 * Nodes are named `opt/…` and the master weights, moments and scalars are listed in `keepFp32Io`, so the AMP
 * lowering keeps the update in fp32 and casts only the forward's copies of the weights.
 */
import type { Model } from '../../src/ir/graph.js';
import { Node as IrNode } from '../../src/ir/graph.js';
import { makeAttr, type AttrValue } from '../../src/ir/builder.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DataType } from '../../src/ir/dtype.js';
import type { TrainingGraph } from './autodiff.js';
import type { RTensor } from '../../src/core/tensor.js';

export interface StepOptions {
  optimizer: 'sgd' | 'adam'; lr: number;
  /** SGD momentum (0.9, as optim.ts). */
  momentum?: number;
  /** Adam β1, β2, ε (0.9, 0.999, 1e-8). */
  b1?: number; b2?: number; eps?: number;
  /** Clip the global L2 norm of the unscaled gradients (LossScalerOptions.maxGradNorm). */
  maxGradNorm?: number;
  /** Skip the update when a gradient is non-finite (dynamic loss scaling on). */
  skipNonFinite: boolean;
}
export interface StepGraph {
  model: Model;
  /** The scalar fp32 feeds of a step: unscale factor 1 / (scale · lossMultiplier); for Adam, the bias corrections at update t (1-based). */
  scalars: (invScale: number, t: number) => Record<string, RTensor>;
  /** Bool output: every gradient finite. */
  finite: string;
  /** Output → input: updated weights, moments and running statistics, carried to the next step. */
  carry: Record<string, string>;
  /** The optimizer's moment inputs (fed zeros on the first step), with their dims. */
  moments: { name: string; dims: number[] }[];
  /** Graph inputs and outputs that keep fp32 under AMP: master weights, moments, their updates, the scalars. */
  keepFp32Io: string[];
}

/** `opt/` node-name prefix: the AMP lowering keeps these nodes fp32. */
export const OPT_PREFIX = 'opt/';

export function appendOptimizerStep(tg: TrainingGraph, o: StepOptions): StepGraph {
  const model = tg.model.clone();
  const g = model.graph;
  let counter = 0;
  const fresh = (p: string) => { let n; do n = `${OPT_PREFIX}${p}_${counter++}`; while (g.values.has(n)); return n; };
  const emit = (op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out = fresh(op.toLowerCase())): string => {
    g.nodes.push(new IrNode(op, inputs, [out], g, `${OPT_PREFIX}${out.replace(OPT_PREFIX, '')}`, '', Object.entries(attrs).map(([k, v]) => makeAttr(k, v))));
    return out;
  };
  const constant = (v: number) => { const n = fresh('c'); g.initializers.set(n, Tensor.fromArray(n, DataType.FLOAT, [], Float32Array.from([v]))); g.value(n).type = { elemType: DataType.FLOAT, shape: [] }; return n; };
  const input = (name: string, shape: number[]) => { g.inputs.push(name); g.value(name).type = { elemType: DataType.FLOAT, shape }; return name; };
  const output = (name: string, shape: number[], elemType: number = DataType.FLOAT) => { g.outputs.push(name); g.value(name).type = { elemType, shape }; };
  const dimsOf = (w: string) => g.values.get(w)!.type!.shape as number[];

  const invScale = input(`${OPT_PREFIX}inv_scale`, []);
  const adam = o.optimizer === 'adam';
  const bc1 = adam ? input(`${OPT_PREFIX}bc1`, []) : undefined, bc2 = adam ? input(`${OPT_PREFIX}bc2`, []) : undefined;
  // Unscaled gradients, and the count of non-finite values among them (IsInf/IsNaN test the bits). Read before
  // the `grad/…` outputs: a gradient computed in fp32 (a bias's batch sum) reaches the update unrounded.
  const source = (gname: string) => { const p = g.values.get(gname)?.producer; return p?.opType === 'Identity' ? p.inputs[0] : gname; };
  const gu = tg.weights.map((w, k) => emit('Mul', [source(tg.grads[k]), invScale], {}, fresh(`unscaled/${w}`)));
  const sumAll = (xs: string[]) => xs.reduce((acc, x) => emit('Add', [acc, x]));
  const bad = sumAll(gu.map((x) => emit('ReduceSum', [emit('Cast', [emit('Or', [emit('IsInf', [x]), emit('IsNaN', [x])])], { to: DataType.FLOAT })], { keepdims: 0 })));
  const finite = emit('Equal', [bad, constant(0)], {}, `${OPT_PREFIX}finite`);
  output(finite, [], DataType.BOOL);
  let grads = gu;
  if (o.maxGradNorm !== undefined) {
    // clip_grad_norm_: k = max / (‖g‖ + 1e-6) where ‖g‖ > max, else 1.
    const norm = emit('Sqrt', [sumAll(gu.map((x) => emit('ReduceSum', [emit('Mul', [x, x])], { keepdims: 0 })))]);
    const max = constant(o.maxGradNorm);
    const k = emit('Where', [emit('Greater', [norm, max]), emit('Div', [max, emit('Add', [norm, constant(1e-6)])]), constant(1)]);
    grads = gu.map((x) => emit('Mul', [x, k]));
  }
  const carry: Record<string, string> = {};
  const moments: StepGraph['moments'] = [];
  const keep = [invScale, ...(adam ? [bc1!, bc2!] : [])];
  const lr = constant(o.lr);
  const b1 = o.b1 ?? 0.9, b2 = o.b2 ?? 0.999;
  /** A carried fp32 value: input `name`, its update as output `${name}/next` (kept when the step is skipped). */
  const carried = (name: string, dims: number[], next: string, isMoment: boolean) => {
    const out = `${name}/next`;
    const kept = o.skipNonFinite ? emit('Where', [finite, next, name], {}, out) : emit('Identity', [next], {}, out);
    output(kept, dims);
    carry[out] = name;
    keep.push(name, out);
    if (isMoment) moments.push({ name, dims });
  };
  tg.weights.forEach((w, k) => {
    const dims = dimsOf(w), gr = grads[k];
    let step: string;
    if (adam) {
      const m = input(`${OPT_PREFIX}m/${w}`, dims), v = input(`${OPT_PREFIX}v/${w}`, dims);
      const m1 = emit('Add', [emit('Mul', [m, constant(b1)]), emit('Mul', [gr, constant(1 - b1)])]);
      const v1 = emit('Add', [emit('Mul', [v, constant(b2)]), emit('Mul', [emit('Mul', [gr, gr]), constant(1 - b2)])]);
      step = emit('Div', [emit('Mul', [emit('Mul', [m1, bc1!]), lr]), emit('Add', [emit('Sqrt', [emit('Mul', [v1, bc2!])]), constant(o.eps ?? 1e-8)])]);
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
  for (const s of tg.state) carry[s.output] = s.input;
  g.reindex();
  const scalar = (v: number): RTensor => ({ dtype: DataType.FLOAT, dims: [], data: Float32Array.from([v]) });
  const scalars = (inv: number, t: number): Record<string, RTensor> => ({
    [invScale]: scalar(inv), ...(adam ? { [bc1!]: scalar(1 / (1 - b1 ** t)), [bc2!]: scalar(1 / (1 - b2 ** t)) } : {}),
  });
  return { model, scalars, finite, carry, moments, keepFp32Io: keep };
}
