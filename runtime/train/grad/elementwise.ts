/** Add / Sub / Mul (same-shape or a bias broadcast over the leading axis), Relu, Sigmoid, Tanh, Identity, Dropout. */
import type { GradRule } from './types.js';

export const add: GradRule = (n, [dY], c) => {
  if (!dY) return;
  n.inputs.forEach((x, i) => {
    if (!c.needs(x)) return;
    let g = n.opType === 'Sub' && i === 1 ? c.emit('Neg', [dY])[0] : dY;
    // A bias broadcast over the batch axis gets the batch-summed gradient.
    if ((c.weightDims(x)?.length ?? 2) < 2) g = c.emit('ReduceSum', [g, c.ints([0])], { keepdims: 0 })[0];
    c.accumulate(x, g);
  });
};
export const mul: GradRule = (n, [dY], c) => {
  if (!dY) return;
  const [A, B] = n.inputs;
  if (c.needs(A)) c.accumulate(A, c.emit('Mul', [dY, B])[0]);
  if (c.needs(B)) c.accumulate(B, c.emit('Mul', [dY, A])[0]);
};
export const relu: GradRule = (n, [dY], c) => {
  if (!dY || !c.needs(n.inputs[0])) return;
  const [pos] = c.emit('Greater', [n.inputs[0], c.scalar(0)]);
  c.accumulate(n.inputs[0], c.emit('Where', [pos, dY, c.scalar(0)])[0]);
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
export const identity: GradRule = (n, [dY], c) => { if (dY && c.needs(n.inputs[0])) c.accumulate(n.inputs[0], dY); };
