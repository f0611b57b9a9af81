/** Add / Sub / Mul with numpy broadcasting, Relu, Sigmoid, Tanh, Identity, Dropout. */
import type { GradRule, GradContext } from './types.js';

/**
 * Sums gradient `g` (shaped like output `y`) over the axes operand `x` was broadcast along: the leading axes
 * it lacks, and its size-1 axes. A weight's dims are static, so all its size-1 axes are summed (a no-op where
 * the output has size 1 too); an activation's dims are probed at batch 1, so only axes the probe shows
 * broadcast are summed (its batch axis is never collapsed).
 */
export function unbroadcast(c: GradContext, x: string, y: string, g: string): string {
  const w = c.weightDims(x),
    xd = w ?? c.shapeOf(x),
    yd = c.shapeOf(y);
  if (!xd || !yd) return g;
  const lead = yd.length - xd.length;
  let out = g;
  if (lead > 0) [out] = c.emit('ReduceSum', [out, c.ints(Array.from({ length: lead }, (_, i) => i))], { keepdims: 0 });
  const ones = xd.flatMap((d, i) => (d === 1 && (w || yd[lead + i] !== 1) ? [i] : []));
  if (ones.length) [out] = c.emit('ReduceSum', [out, c.ints(ones)], { keepdims: 1 });
  return out;
}

export const add: GradRule = (n, [dY], c) => {
  if (!dY) return;
  n.inputs.forEach((x, i) => {
    if (!c.needs(x)) return;
    const g = n.opType === 'Sub' && i === 1 ? c.emit('Neg', [dY])[0] : dY;
    c.accumulate(x, unbroadcast(c, x, n.outputs[0], g));
  });
};
export const mul: GradRule = (n, [dY], c) => {
  if (!dY) return;
  const [A, B] = n.inputs;
  if (c.needs(A)) c.accumulate(A, unbroadcast(c, A, n.outputs[0], c.emit('Mul', [dY, B])[0]));
  if (c.needs(B)) c.accumulate(B, unbroadcast(c, B, n.outputs[0], c.emit('Mul', [dY, A])[0]));
};
// dX = dY where X > 0: Sign of the output (0 or 1) as the mask — float ops only, so it runs on the GPU too.
export const relu: GradRule = (n, [dY], c) => {
  if (!dY || !c.needs(n.inputs[0])) return;
  const [mask] = c.emit('Sign', [n.outputs[0]]);
  c.accumulate(n.inputs[0], c.emit('Mul', [dY, mask])[0]);
};
export const sigmoid: GradRule = (n, [dY], c) => {
  if (!dY || !c.needs(n.inputs[0])) return;
  const y = n.outputs[0];
  const [one] = c.emit('Sub', [c.scalar(1), y]);
  const [d] = c.emit('Mul', [y, one]);
  c.accumulate(n.inputs[0], c.emit('Mul', [dY, d])[0]);
};
export const tanh: GradRule = (n, [dY], c) => {
  if (!dY || !c.needs(n.inputs[0])) return;
  const y = n.outputs[0];
  const [sq] = c.emit('Mul', [y, y]);
  const [d] = c.emit('Sub', [c.scalar(1), sq]);
  c.accumulate(n.inputs[0], c.emit('Mul', [dY, d])[0]);
};
export const identity: GradRule = (n, [dY], c) => {
  if (dY && c.needs(n.inputs[0])) c.accumulate(n.inputs[0], dY);
};
