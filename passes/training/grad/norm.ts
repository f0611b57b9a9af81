/**
 * BatchNormalization: gradients of X, scale and B. Inference form (running statistics fixed): Y is affine in X.
 * Training mode (batch statistics μ, σ² over every axis but the channel): with x̂ = (X − μ)/σ,
 * dX = scale/σ · (dY − mean(dY) − x̂ · mean(dY · x̂)), dscale = Σ dY · x̂, dB = Σ dY.
 */
import type { GradRule } from './types.js';

export const batchNorm: GradRule = (n, dYs, c) => {
  if (n.attrInt('training_mode', 0) === 1) return batchNormTraining(n, dYs, c);
  const [dY] = dYs;
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

const batchNormTraining: GradRule = (n, [dY], c) => {
  if (!dY) return;
  const [X, scale, B] = n.inputs;
  const rank = c.shapeOf(X)?.length ?? 4;
  const axes = c.ints([0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)]);
  const mean = (t: string) => c.emit('ReduceMean', [t, axes], { keepdims: 1 })[0];
  const chan = (t: string) =>
    rank > 2 ? c.emit('Unsqueeze', [t, c.ints(Array.from({ length: rank - 2 }, (_, i) => i + 1))])[0] : t; // [C] → [C,1,…]
  const [centered] = c.emit('Sub', [X, mean(X)]);
  const [varB] = c.emit('ReduceMean', [c.emit('Mul', [centered, centered])[0], axes], { keepdims: 1 });
  const [inv] = c.emit('Reciprocal', [
    c.emit('Sqrt', [c.emit('Add', [varB, c.scalar(n.attrFloat('epsilon', 1e-5))])[0]])[0],
  ]);
  const [xhat] = c.emit('Mul', [centered, inv]);
  const sum = (t: string) => c.emit('ReduceSum', [t, axes], { keepdims: 0 })[0];
  if (c.needs(X)) {
    const [dyXhat] = c.emit('Mul', [dY, xhat]);
    const [inner] = c.emit('Sub', [c.emit('Sub', [dY, mean(dY)])[0], c.emit('Mul', [xhat, mean(dyXhat)])[0]]);
    const [k] = c.emit('Mul', [chan(scale), inv]);
    c.accumulate(X, c.emit('Mul', [inner, k])[0]);
  }
  if (c.needs(scale)) c.accumulate(scale, sum(c.emit('Mul', [dY, xhat])[0]));
  if (c.needs(B)) c.accumulate(B, sum(dY));
};
