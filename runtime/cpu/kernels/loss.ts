/**
 * SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss (class axis 1, optional per-class weights,
 * ignore_index, reduction none / sum / mean — mean divides by the summed weights of the counted elements).
 */
import type { Kernel } from './types.js';
import { num, make, size, ints } from '../util.js';
import type { Node } from '../../../src/ir/graph.js';
import type { RTensor } from '../../../src/ir/rtensor.js';

/** The loss from log-probabilities lp[N, C, d...] and integer labels[N, d...]. */
function nll(
  node: Node,
  lp: ArrayLike<number>,
  dims: number[],
  labels: RTensor,
  weights: RTensor | undefined,
  dtype: number,
): RTensor {
  const [N, C, ...rest] = dims,
    D = size(rest);
  const y = ints(labels),
    w = weights ? num(weights) : undefined;
  const ignore = node.attr('ignore_index') ? node.attrInt('ignore_index', 0) : undefined;
  const loss = new Float64Array(N * D);
  let wsum = 0;
  for (let n = 0; n < N; n++)
    for (let d = 0; d < D; d++) {
      const i = n * D + d,
        c = y[i];
      if (c === ignore) continue;
      const wc = w ? w[c] : 1;
      loss[i] = -lp[(n * C + c) * D + d] * wc;
      wsum += wc;
    }
  const red = node.attrString('reduction', 'mean');
  if (red === 'none') return make(dtype, [N, ...rest], loss);
  const total = loss.reduce((a, b) => a + b, 0);
  return make(dtype, [], [red === 'sum' ? total : total / wsum]);
}

export const lossKernels: Record<string, Kernel> = {
  NegativeLogLikelihoodLoss: (node, [input, target, weight]) => [
    nll(node, num(input!), input!.dims, target!, weight, input!.dtype),
  ],
  SoftmaxCrossEntropyLoss: (node, [scores, labels, weights]) => {
    const [N, C, ...rest] = scores!.dims,
      D = size(rest);
    const x = num(scores!),
      lp = new Float64Array(x.length);
    for (let n = 0; n < N; n++)
      for (let d = 0; d < D; d++) {
        let m = -Infinity;
        for (let c = 0; c < C; c++) m = Math.max(m, x[(n * C + c) * D + d]);
        let s = 0;
        for (let c = 0; c < C; c++) s += Math.exp(x[(n * C + c) * D + d] - m);
        const ls = Math.log(s) + m;
        for (let c = 0; c < C; c++) lp[(n * C + c) * D + d] = x[(n * C + c) * D + d] - ls;
      }
    return [nll(node, lp, scores!.dims, labels!, weights, scores!.dtype), make(scores!.dtype, [...scores!.dims], lp)];
  },
};
