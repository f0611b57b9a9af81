import { AmpError } from '../../src/core/errors.js';
import type { Node } from '../../src/ir/graph.js';
import { samePads } from './broadcast.js';
import { checkPositions, checkWindow } from './conv.js';

/** Pooling geometry from a node's attributes (windows checked like Conv's), and the taps of one output position. */
export interface PoolGeom {
  k: number[];
  st: number[];
  dl: number[];
  pads: number[];
  out: number[];
}

export function poolGeometry(node: Node, sp: number[]): PoolGeom {
  const r = sp.length;
  const k = node.attrInts('kernel_shape') ?? [];
  const st = node.attrInts('strides') ?? new Array(r).fill(1);
  const dl = node.attrInts('dilations') ?? new Array(r).fill(1);
  let pads = node.attrInts('pads') ?? new Array(2 * r).fill(0);
  const auto = node.attrString('auto_pad', 'NOTSET');
  const ceil = node.attrInt('ceil_mode', 0) === 1;
  checkWindow(r, { kernel: k, strides: st, dilations: dl, pads });
  // As onnxruntime requires: a pad smaller than the kernel (a window of only padding has no value).
  if (auto === 'NOTSET' && pads.some((p, i) => p >= k[i % r]))
    throw new AmpError(`pads ${pads.join(',')} must each be smaller than the kernel (${k.join('×')})`);
  const ek = k.map((x, i) => (x - 1) * dl[i] + 1);
  const out: number[] = [];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    pads = samePads(sp, st, ek, auto);
    for (let i = 0; i < r; i++) out.push(Math.ceil(sp[i] / st[i]));
  } else {
    if (auto === 'VALID') pads = new Array(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const span = sp[i] + pads[i] + pads[i + r] - ek[i];
      let o = (ceil ? Math.ceil(span / st[i]) : Math.floor(span / st[i])) + 1;
      if (ceil && (o - 1) * st[i] >= sp[i] + pads[i]) o--; // a last window starting in the end padding is dropped
      out.push(o);
    }
  }
  checkPositions(node, k, dl, out);
  return { k, st, dl, pads, out };
}

/** The taps j ∈ [0, K) of a window starting at `first` (step d) with first + j·d in [lo, hi): [j0, j1], empty if j1 < j0. */
export function tapRange(first: number, d: number, K: number, lo: number, hi: number): [number, number] {
  return [Math.max(0, Math.ceil((lo - first) / d)), Math.min(K - 1, Math.floor((hi - 1 - first) / d))];
}
