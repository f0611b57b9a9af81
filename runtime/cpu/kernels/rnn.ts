/** LSTM, GRU and RNN per the ONNX equations (gate orders: LSTM i,o,f,c; GRU z,r,h), all directions and layouts. */
import { AmpError } from '../../../src/core/errors.js';
import type { Kernel } from './types.js';
import { num, make, ints } from '../util.js';
import type { Node } from '../../../src/ir/graph.js';
import type { RTensor } from '../../../src/ir/rtensor.js';

type Act = (x: number) => number;
function activation(name: string, alpha?: number, beta?: number): Act {
  switch (name.toLowerCase()) {
    case 'sigmoid':
      return (x) => 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh;
    case 'relu':
      return (x) => Math.max(0, x);
    case 'leakyrelu':
      return (x) => (x >= 0 ? x : (alpha ?? 0.01) * x);
    case 'hardsigmoid':
      return (x) => Math.max(0, Math.min(1, (alpha ?? 0.2) * x + (beta ?? 0.5)));
    case 'elu':
      return (x) => (x >= 0 ? x : (alpha ?? 1) * (Math.exp(x) - 1));
    case 'softsign':
      return (x) => x / (1 + Math.abs(x));
    case 'softplus':
      return (x) => Math.log1p(Math.exp(x));
    case 'affine':
      return (x) => (alpha ?? 1) * x + (beta ?? 0);
    case 'scaledtanh':
      return (x) => (alpha ?? 1) * Math.tanh((beta ?? 1) * x);
    case 'thresholdedrelu':
      return (x) => (x > (alpha ?? 1) ? x : 0);
    default:
      throw new AmpError(
        `activation '${name}' is not one of Sigmoid, Tanh, Relu, LeakyRelu, HardSigmoid, Elu, Softsign, Softplus, Affine, ScaledTanh, ThresholdedRelu`,
      );
  }
}

interface Common {
  seq: number;
  batch: number;
  input: number;
  hidden: number;
  dirs: number;
  x: ArrayLike<number>;
  layout: number;
  lens: number[];
  clip: number;
  acts: Act[];
}

function common(
  node: Node,
  X: RTensor,
  W: RTensor,
  lensT: RTensor | undefined,
  nActs: number,
  defaults: string[],
): Common {
  const layout = node.attrInt('layout', 0);
  const [a, b, input] = X.dims;
  const seq = layout ? b : a,
    batch = layout ? a : b;
  const dirs = W.dims[0];
  const hidden = node.attrInt('hidden_size', W.dims[1] / nActs);
  const names = node.attr('activations')
    ? (node.attr('activations')!.strings ?? []).map((s) => new TextDecoder().decode(s))
    : [...defaults, ...(dirs === 2 ? defaults : [])];
  if (names.length !== defaults.length * dirs)
    throw new AmpError(
      `${names.length} activation(s) given; ${node.opType} takes ${defaults.length} per direction (${defaults.length * dirs} here)`,
    );
  const alphas = node.attrFloats('activation_alpha') ?? [],
    betas = node.attrFloats('activation_beta') ?? [];
  const acts = names.map((n, i) => activation(n, alphas[i], betas[i]));
  const lens = lensT ? ints(lensT) : new Array<number>(batch).fill(seq);
  return { seq, batch, input, hidden, dirs, x: num(X), layout, lens, clip: node.attrFloat('clip', Infinity), acts };
}
const xAt = (c: Common, t: number, bi: number, i: number) =>
  c.x[c.layout ? (bi * c.seq + t) * c.input + i : (t * c.batch + bi) * c.input + i];
const clipv = (v: number, c: number) => (c === Infinity ? v : Math.max(-c, Math.min(c, v)));

/** Writes Y (per layout) and returns the output tensors. */
function outputs(node: Node, dtype: number, c: Common, Y: Float64Array, H: Float64Array, C?: Float64Array): RTensor[] {
  const { seq, dirs, batch, hidden } = c;
  let ydims = [seq, dirs, batch, hidden];
  let y = Y;
  if (c.layout) {
    ydims = [batch, seq, dirs, hidden];
    y = new Float64Array(Y.length);
    for (let t = 0; t < seq; t++)
      for (let d = 0; d < dirs; d++)
        for (let b = 0; b < batch; b++)
          for (let h = 0; h < hidden; h++)
            y[((b * seq + t) * dirs + d) * hidden + h] = Y[((t * dirs + d) * batch + b) * hidden + h];
  }
  const sdims = c.layout ? [batch, dirs, hidden] : [dirs, batch, hidden];
  const st = (s: Float64Array) => {
    if (!c.layout) return s;
    const o = new Float64Array(s.length);
    for (let d = 0; d < dirs; d++)
      for (let b = 0; b < batch; b++)
        for (let h = 0; h < hidden; h++) o[(b * dirs + d) * hidden + h] = s[(d * batch + b) * hidden + h];
    return o;
  };
  const outs = [make(dtype, ydims, y), make(dtype, sdims, st(H))];
  if (C) outs.push(make(dtype, sdims, st(C)));
  return outs.slice(0, node.outputs.length);
}

/** Runs one recurrence; `cell(d, b, t, x→gates)` updates state in place. */
function runDirs(
  c: Common,
  direction: string,
  step: (d: number, b: number, t: number) => void,
  Y: Float64Array,
  H: Float64Array,
): void {
  for (let d = 0; d < c.dirs; d++) {
    const reverse = direction === 'reverse' || (direction === 'bidirectional' && d === 1);
    for (let b = 0; b < c.batch; b++) {
      const L = c.lens[b];
      for (let s = 0; s < L; s++) {
        const t = reverse ? L - 1 - s : s;
        step(d, b, t);
        for (let h = 0; h < c.hidden; h++)
          Y[((t * c.dirs + d) * c.batch + b) * c.hidden + h] = H[(d * c.batch + b) * c.hidden + h];
      }
    }
  }
}

export const rnnKernels: Record<string, Kernel> = {
  LSTM: (node, [X, W, R, B, lensT, h0, c0, P]) => {
    const c = common(node, X!, W!, lensT, 4, ['Sigmoid', 'Tanh', 'Tanh']);
    const { hidden: Hn, input: In, batch, dirs } = c;
    const w = num(W!),
      r = num(R!),
      bias = B ? num(B) : new Float64Array(dirs * 8 * Hn),
      p = P ? num(P) : undefined;
    const H = h0 ? new Float64Array(num(h0)) : new Float64Array(dirs * batch * Hn);
    const Cs = c0 ? new Float64Array(num(c0)) : new Float64Array(dirs * batch * Hn);
    const Y = new Float64Array(c.seq * dirs * batch * Hn);
    const inputForget = node.attrInt('input_forget', 0) === 1;
    const g = new Float64Array(4 * Hn);
    runDirs(
      c,
      node.attrString('direction', 'forward'),
      (d, b, t) => {
        const [fa, ga, ha] = c.acts.slice(d * 3, d * 3 + 3);
        const so = (d * batch + b) * Hn;
        for (let j = 0; j < 4 * Hn; j++) {
          let s = bias[d * 8 * Hn + j] + bias[d * 8 * Hn + 4 * Hn + j];
          const wo = (d * 4 * Hn + j) * In,
            ro = (d * 4 * Hn + j) * Hn;
          for (let i = 0; i < In; i++) s += xAt(c, t, b, i) * w[wo + i];
          for (let i = 0; i < Hn; i++) s += H[so + i] * r[ro + i];
          g[j] = s;
        }
        for (let h = 0; h < Hn; h++) {
          const cPrev = Cs[so + h];
          const pi = p ? p[d * 3 * Hn + h] : 0,
            po = p ? p[d * 3 * Hn + Hn + h] : 0,
            pf = p ? p[d * 3 * Hn + 2 * Hn + h] : 0;
          const it = fa(clipv(g[h] + pi * cPrev, c.clip));
          const ft = inputForget ? 1 - it : fa(clipv(g[2 * Hn + h] + pf * cPrev, c.clip));
          const ct = ga(clipv(g[3 * Hn + h], c.clip));
          const cNew = ft * cPrev + it * ct;
          const ot = fa(clipv(g[Hn + h] + po * cNew, c.clip));
          Cs[so + h] = cNew;
          H[so + h] = ot * ha(cNew);
        }
      },
      Y,
      H,
    );
    return outputs(node, X!.dtype, c, Y, H, Cs);
  },
  GRU: (node, [X, W, R, B, lensT, h0]) => {
    const c = common(node, X!, W!, lensT, 3, ['Sigmoid', 'Tanh']);
    const { hidden: Hn, input: In, batch, dirs } = c;
    const w = num(W!),
      r = num(R!),
      bias = B ? num(B) : new Float64Array(dirs * 6 * Hn);
    const H = h0 ? new Float64Array(num(h0)) : new Float64Array(dirs * batch * Hn);
    const Y = new Float64Array(c.seq * dirs * batch * Hn);
    const lbr = node.attrInt('linear_before_reset', 0) !== 0;
    const xw = new Float64Array(3 * Hn),
      hr = new Float64Array(3 * Hn);
    runDirs(
      c,
      node.attrString('direction', 'forward'),
      (d, b, t) => {
        const [fa, ga] = c.acts.slice(d * 2, d * 2 + 2);
        const so = (d * batch + b) * Hn;
        for (let j = 0; j < 3 * Hn; j++) {
          let s = bias[d * 6 * Hn + j],
            s2 = bias[d * 6 * Hn + 3 * Hn + j];
          const wo = (d * 3 * Hn + j) * In,
            ro = (d * 3 * Hn + j) * Hn;
          for (let i = 0; i < In; i++) s += xAt(c, t, b, i) * w[wo + i];
          if (j < 2 * Hn || lbr) for (let i = 0; i < Hn; i++) s2 += H[so + i] * r[ro + i];
          xw[j] = s;
          hr[j] = s2;
        }
        const zt = new Float64Array(Hn),
          rt = new Float64Array(Hn);
        for (let h = 0; h < Hn; h++) {
          zt[h] = fa(clipv(xw[h] + hr[h], c.clip));
          rt[h] = fa(clipv(xw[Hn + h] + hr[Hn + h], c.clip));
        }
        const hNew = new Float64Array(Hn);
        for (let h = 0; h < Hn; h++) {
          let pre: number;
          if (lbr) pre = xw[2 * Hn + h] + rt[h] * hr[2 * Hn + h];
          else {
            let s = bias[d * 6 * Hn + 5 * Hn + h];
            const ro = (d * 3 * Hn + 2 * Hn + h) * Hn;
            for (let i = 0; i < Hn; i++) s += rt[i] * H[so + i] * r[ro + i];
            pre = xw[2 * Hn + h] + s;
          }
          hNew[h] = ga(clipv(pre, c.clip));
        }
        for (let h = 0; h < Hn; h++) H[so + h] = (1 - zt[h]) * hNew[h] + zt[h] * H[so + h];
      },
      Y,
      H,
    );
    return outputs(node, X!.dtype, c, Y, H);
  },
  RNN: (node, [X, W, R, B, lensT, h0]) => {
    const c = common(node, X!, W!, lensT, 1, ['Tanh']);
    const { hidden: Hn, input: In, batch, dirs } = c;
    const w = num(W!),
      r = num(R!),
      bias = B ? num(B) : new Float64Array(dirs * 2 * Hn);
    const H = h0 ? new Float64Array(num(h0)) : new Float64Array(dirs * batch * Hn);
    const Y = new Float64Array(c.seq * dirs * batch * Hn);
    runDirs(
      c,
      node.attrString('direction', 'forward'),
      (d, b, t) => {
        const so = (d * batch + b) * Hn;
        const nh = new Float64Array(Hn);
        for (let h = 0; h < Hn; h++) {
          let s = bias[d * 2 * Hn + h] + bias[d * 2 * Hn + Hn + h];
          for (let i = 0; i < In; i++) s += xAt(c, t, b, i) * w[(d * Hn + h) * In + i];
          for (let i = 0; i < Hn; i++) s += H[so + i] * r[(d * Hn + h) * Hn + i];
          nh[h] = c.acts[d](clipv(s, c.clip));
        }
        H.set(nh, so);
      },
      Y,
      H,
    );
    return outputs(node, X!.dtype, c, Y, H);
  },
};
