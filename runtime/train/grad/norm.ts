/** BatchNormalization in inference form (running statistics fixed): gradients of X, scale and B. */
import type { GradRule } from './types.js';

export const batchNorm: GradRule = (n, [dY], c) => {
  if (!dY) return;
  const [X, scale, B, mean, v] = n.inputs;
  const [ve] = c.emit('Add', [v, c.scalar(n.attrFloat('epsilon', 1e-5))]);
  const [sd] = c.emit('Sqrt', [ve]);
  const [inv] = c.emit('Reciprocal', [sd]);
  const chan = (t: string) => c.emit('Unsqueeze', [t, c.ints([1, 2])])[0]; // [C] → [C,1,1]
  if (c.needs(X)) {
    const [k] = c.emit('Mul', [scale, inv]);
    c.accumulate(X, c.emit('Mul', [dY, chan(k)])[0]);
  }
  if (c.needs(scale)) {
    const [centered] = c.emit('Sub', [X, chan(mean)]);
    const [xhat] = c.emit('Mul', [centered, chan(inv)]);
    const [p] = c.emit('Mul', [dY, xhat]);
    c.accumulate(scale, c.emit('ReduceSum', [p, c.ints([0, 2, 3])], { keepdims: 0 })[0]);
  }
  if (c.needs(B)) c.accumulate(B, c.emit('ReduceSum', [dY, c.ints([0, 2, 3])], { keepdims: 0 })[0]);
};
