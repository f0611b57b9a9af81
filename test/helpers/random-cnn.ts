/**
 * Seeded random image classifiers for differential tests of the executors: convolutions (kernel 1–7, stride,
 * dilation, explicit or SAME padding, depthwise), pools (ceil mode, count_include_pad), BatchNormalization,
 * residual adds, channel concats, broadcast arithmetic, Pad (constant/reflect/edge), then GlobalAveragePool,
 * Gemm (alpha, beta, bias) and Softmax.
 */
import { ModelBuilder } from '../../src/onnx/builder.js';
import { DataType } from '../../src/core/dtype.js';
import type { Model } from '../../src/ir/graph.js';
import type { RTensor } from '../../src/ir/rtensor.js';
import { rng, normal, uniform } from '../../fixtures/scripts/rng.js';

const F = DataType.FLOAT;

/** The classifier of `seed`, its input and a description of its layers. */
export function randomCnn(seed: number): { model: Model; feeds: Record<string, RTensor>; desc: string } {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const b = new ModelBuilder({ opset: 17 });
  let C = pick([1, 3, 4]),
    H = pick([8, 12, 16, 28, 32]);
  const batch = pick([1, 2]);
  let x = b.input('x', F, [batch, C, H, H]);
  const desc: string[] = [];
  const layers = 2 + Math.floor(r() * 4);
  for (let l = 0; l < layers; l++) {
    const kind = pick(['conv', 'conv', 'conv', 'dw', 'pool', 'avg', 'bn', 'res', 'cat', 'mulc', 'pad']);
    if (kind === 'conv' || kind === 'dw') {
      const k = pick([1, 3, 5, 7]),
        s = pick([1, 1, 2]),
        p = pick([0, Math.floor(k / 2)]),
        dil = pick([1, 1, 2]);
      const group = kind === 'dw' ? C : 1;
      const M = kind === 'dw' ? C : pick([4, 8, 16, 6]);
      const eff = dil * (k - 1) + 1;
      if (H + 2 * p < eff) continue;
      const w = b.init(`w${l}`, F, [M, C / group, k, k], normal(r, M * (C / group) * k * k, 0.3));
      const bias = b.init(`b${l}`, F, [M], uniform(r, M, -0.1, 0.1));
      const autoPad = pick(['NOTSET', 'NOTSET', 'SAME_UPPER', 'SAME_LOWER']);
      const attrs: Record<string, number | number[] | string> = {
        kernel_shape: [k, k],
        strides: [s, s],
        dilations: [dil, dil],
        group,
      };
      if (autoPad === 'NOTSET') attrs.pads = [p, p, p, p];
      else attrs.auto_pad = autoPad;
      [x] = b.node('Conv', [x, w, bias], attrs);
      desc.push(`conv k${k} s${s} ${autoPad === 'NOTSET' ? 'p' + p : autoPad} d${dil} g${group} ${C}->${M}`);
      H = autoPad === 'NOTSET' ? Math.floor((H + 2 * p - eff) / s) + 1 : Math.ceil(H / s);
      C = M;
      [x] = b.node(pick(['Relu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Clip']), [x]);
    } else if (kind === 'pool' || kind === 'avg') {
      const k = pick([2, 3]),
        s = pick([1, 2]);
      if (H < k) continue;
      const ceil = pick([0, 1]),
        p = pick([0, k === 3 ? 1 : 0]);
      const attrs: Record<string, number | number[]> = {
        kernel_shape: [k, k],
        strides: [s, s],
        pads: [p, p, p, p],
        ceil_mode: ceil,
      };
      if (kind === 'avg') attrs.count_include_pad = pick([0, 1]);
      [x] = b.node(kind === 'pool' ? 'MaxPool' : 'AveragePool', [x], attrs);
      desc.push(`${kind} k${k} s${s} p${p} ceil${ceil}${kind === 'avg' ? ' cip' + attrs.count_include_pad : ''}`);
      const num = H + 2 * p - k;
      H = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
      if (ceil && (H - 1) * s >= H + p) H--;
    } else if (kind === 'res') {
      const w = b.init(`rw${l}`, F, [C, C, 3, 3], normal(r, C * C * 9, 0.2));
      const [y] = b.node('Conv', [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
      [x] = b.node('Add', [x, y]);
      desc.push('res');
    } else if (kind === 'cat') {
      const [y] = b.node('Neg', [x]);
      [x] = b.node('Concat', [x, y], { axis: 1 });
      C *= 2;
      desc.push('cat');
    } else if (kind === 'mulc') {
      const sc = b.init(`sc${l}`, F, [1, C, 1, 1], uniform(r, C, 0.5, 1.5));
      [x] = b.node(pick(['Mul', 'Add', 'Sub', 'Div']), [x, sc]);
      desc.push('mulc');
    } else if (kind === 'pad') {
      const pads = b.init(`pd${l}`, DataType.INT64, [8], BigInt64Array.from([0n, 0n, 1n, 2n, 0n, 0n, 2n, 1n]));
      [x] = b.node('Pad', [x, pads], { mode: pick(['constant', 'reflect', 'edge']) });
      H += 3; // the smaller side grows by 3 as well: H stays a lower bound
      desc.push('pad');
    } else if (kind === 'bn') {
      const bn = [0, 1, 2, 3].map((i) =>
        b.init(`bn${l}_${i}`, F, [C], i === 3 ? uniform(r, C, 0.5, 2) : uniform(r, C, -0.5, 1.5)),
      );
      [x] = b.node('BatchNormalization', [x, ...bn], { epsilon: { float: 1e-5 } });
      desc.push('bn');
    }
    if (H < 1) break;
  }
  [x] = b.node('GlobalAveragePool', [x]);
  [x] = b.node('Flatten', [x], { axis: 1 });
  const w = b.init('fc', F, [10, C], normal(r, 10 * C, 0.5));
  const fb = b.init('fcb', F, [10], uniform(r, 10, -0.2, 0.2));
  [x] = b.node('Gemm', [x, w, fb], { transB: 1, alpha: { float: pick([1, 0.5]) }, beta: { float: pick([1, 2]) } });
  [x] = b.node('Softmax', [x], { axis: 1 });
  b.output(x, F);
  const m = b.build();
  const shape = m.graph.values.get('x')!.type!.shape as number[];
  const feeds: Record<string, RTensor> = {
    x: {
      dtype: F,
      dims: shape,
      data: uniform(
        r,
        shape.reduce((a, c) => a * c, 1),
        0,
        1,
      ),
    },
  };
  return { model: m, feeds, desc: desc.join(' | ') };
}
