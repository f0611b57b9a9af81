/** MatMul (2-D): dA = dY·Bᵀ, dB = Aᵀ·dY. */
import type { GradRule } from './types.js';

export const matmul: GradRule = (n, [dY], c) => {
  if (!dY) return;
  const [A, B] = n.inputs;
  if (c.needs(A)) c.accumulate(A, c.emit('Gemm', [dY, B], { transB: 1 })[0]);
  if (c.needs(B)) c.accumulate(B, c.emit('Gemm', [A, dY], { transA: 1 })[0]);
};
