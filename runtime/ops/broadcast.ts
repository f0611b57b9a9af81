import { AmpError } from '../../src/core/errors.js';
import { size } from '../../src/ir/rtensor.js';
import type { Node } from '../../src/ir/graph.js';

/** Shape arithmetic every backend shares: strides, broadcasting (with the node named on a mismatch), axes, SAME pads. */
export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

export function broadcastShape(shapes: number[][], node?: Node): number[] {
  const rank = shapes.reduce((m, s) => Math.max(m, s.length), 0);
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i];
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else
        throw new AmpError(
          `cannot broadcast shapes ${shapes.map((x) => `[${x}]`).join(' and ')}${node ? ` in ${node.label}` : ''}`,
        );
    }
  }
  return out;
}

/** For each output element, the index into an input broadcast to `outDims`. */
export function broadcastIndex(inDims: readonly number[], outDims: readonly number[]): Int32Array {
  const n = size(outDims);
  const idx = new Int32Array(n);
  const rank = outDims.length;
  const ist = strides(inDims);
  // Effective input stride per output axis (0 where broadcast).
  const eff = new Array<number>(rank).fill(0);
  for (let i = 0; i < inDims.length; i++) {
    const j = rank - inDims.length + i;
    eff[j] = inDims[i] === 1 ? 0 : ist[i];
  }
  if (size(inDims) === n) {
    for (let i = 0; i < n; i++) idx[i] = i;
    return idx;
  }
  const cnt = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = off;
    for (let a = rank - 1; a >= 0; a--) {
      cnt[a]++;
      off += eff[a];
      if (cnt[a] < outDims[a]) break;
      off -= eff[a] * cnt[a];
      cnt[a] = 0;
    }
  }
  return idx;
}

/** An axis in [−rank, upper] (upper: rank − 1, or rank where an op allows it) as its index in [0, upper]. */
export function normAxis(a: number, rank: number, upper = rank - 1): number {
  if (!Number.isInteger(a) || a < -rank || a > upper)
    throw new AmpError(`axis ${a} is out of range for a rank-${rank} tensor`);
  return a < 0 ? a + rank : a;
}

/** Begin/end pads for auto_pad SAME_UPPER / SAME_LOWER: output ceil(in/stride), padding split (extra at end for UPPER). */
export function samePads(spatial: number[], strides: number[], effKernel: number[], auto: string): number[] {
  const r = spatial.length;
  const pads = new Array<number>(2 * r).fill(0);
  for (let i = 0; i < r; i++) {
    const o = Math.ceil(spatial[i] / strides[i]);
    const total = Math.max(0, (o - 1) * strides[i] + effKernel[i] - spatial[i]);
    const small = Math.floor(total / 2);
    pads[i] = auto === 'SAME_UPPER' ? small : total - small;
    pads[i + r] = total - pads[i];
  }
  return pads;
}
