/** Gemm: Y = alpha·op(A)·op(B) + beta·C  →  dA, dB as Gemms, dC = beta·ΣdY over broadcast axes. */
import type { GradRule } from './types.js';

export const gemm: GradRule = (n, [dY], c) => {
  if (!dY) return;
  const [A, B, C] = n.inputs;
  const tA = n.attrInt('transA', 0),
    tB = n.attrInt('transB', 0);
  const alpha = n.attrFloat('alpha', 1),
    beta = n.attrFloat('beta', 1);
  if (c.needs(A)) {
    // dA = alpha·dY·op(B)ᵀ, laid out as A (transposed back when transA).
    const [g] = tA
      ? c.emit('Gemm', [B, dY], { transA: tB ? 0 : 1, transB: 1, alpha: { float: alpha } })
      : c.emit('Gemm', [dY, B], { transB: tB ? 0 : 1, alpha: { float: alpha } });
    c.accumulate(A, g);
  }
  if (c.needs(B)) {
    const [g] = tB
      ? c.emit('Gemm', [dY, A], { transA: 1, transB: tA ? 1 : 0, alpha: { float: alpha } })
      : c.emit('Gemm', [A, dY], { transA: tA ? 0 : 1, alpha: { float: alpha } });
    c.accumulate(B, g);
  }
  if (C && c.needs(C)) {
    let [g] = c.emit('ReduceSum', [dY, c.ints([0])], { keepdims: 0 });
    if (beta !== 1) [g] = c.emit('Mul', [g, c.scalar(beta)]);
    c.accumulate(C, g);
  }
};
