import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadModel } from '../src/onnx/io.js';
import { buildTrainingGraph } from '../src/tools/trainer.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { readCsv } from '../runtime/train/data.js';
import { trainCheck } from '../src/tools/train-check.js';
import { fixtureModelPath } from './helpers/fixtures.js';
import { fixturePath } from './helpers/nodetests.js';
import { convertSync } from '../src/tools/convert.js';
import type { RTensor } from '../src/ir/rtensor.js';
import type { Model } from '../src/ir/graph.js';
import { ModelBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { gradRules } from '../passes/training/grad/index.js';

const f32 = (dims: number[], data: Float32Array): RTensor => ({ dtype: 1, dims, data });

/** Largest deviation of the gradients from central finite differences of the loss, over 3 entries per weight. */
function fdCheck(fwd: Model, xDims: readonly number[]): number {
  const tg = buildTrainingGraph(fwd);
  const ex = new CpuExecutor(tg.model);
  const N = xDims[0],
    nx = xDims.reduce((a: number, b: number) => a * b, 1),
    rnd = (i: number) => Math.sin(i * 12.9898) * 0.5;
  const feeds: Record<string, RTensor> = {
    x: f32(
      [...xDims],
      Float32Array.from({ length: nx }, (_, i) => rnd(i)),
    ),
    labels: f32(
      [N, 10],
      Float32Array.from({ length: N * 10 }, (_, i) => (i % 10 === (Math.floor(i / 10) * 3) % 10 ? 1 : 0)),
    ),
    grad_scale: f32([], Float32Array.from([1 / N])),
    loss_coef: f32([], Float32Array.from([-1 / N])),
  };
  for (const w of tg.weights) {
    const t = fwd.graph.initializers.get(w)!;
    feeds[w] = f32([...t.dims], Float32Array.from(t.data() as Float32Array));
  }
  const out = ex.runSync(feeds);
  const lossAt = (w: string, i: number, d: number) => {
    const data = Float32Array.from(feeds[w].data as Float32Array);
    data[i] += d;
    return (ex.runSync({ ...feeds, [w]: { ...feeds[w], data } }).loss.data as Float32Array)[0];
  };
  let checked = 0;
  for (const w of tg.weights) {
    const g = out[`grad/${w}`].data as Float32Array;
    for (const i of [0, 7 % g.length, g.length - 1]) {
      const h = 1e-3; // curvature bias ~h², fp32 loss rounding ~3e-7/h: both well inside the bound below
      const fd = (lossAt(w, i, h) - lossAt(w, i, -h)) / (2 * h);
      expect(Math.abs(g[i] - fd), `${w}[${i}]`).toBeLessThan(1.5e-3 + 3e-2 * Math.abs(fd));
      checked++;
    }
  }
  return checked;
}

describe.each([
  ['mlp', [4, 64], 18],
  ['cnn', [3, 1, 8, 8], 24],
] as const)('autodiff (%s)', (model, xDims, expected) => {
  it('gradients match central finite differences of the loss (fp32)', () => {
    // 3 entries of every trainable tensor (CNN: BN statistics stay constants)
    expect(fdCheck(loadModel(fixtureModelPath(model)), xDims)).toBe(expected);
  });
});

/**
 * Every gradient rule, each on a model that routes the gradient through it: x[4,6] → MatMul W1[6,8] → <op> →
 * Gemm W2 → logits[4,10]. Binary ops take a trainable [8] operand (broadcast, so the rule must reduce it).
 */
function opModel(op: string): Model {
  const b = new ModelBuilder({ opset: 17 });
  const r = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 7.1 + s) * 0.4);
  const x = b.input('x', DataType.FLOAT, [4, 6]);
  const w1 = b.init('w1', DataType.FLOAT, [6, 8], r(48, 1));
  let [h] = b.node('MatMul', [x, w1]);
  if (['Add', 'Sub', 'Mul'].includes(op))
    [h] = b.node(op, [
      h,
      b.init(
        'w3',
        DataType.FLOAT,
        [8],
        r(8, 2).map((v) => v + 1),
      ),
    ]);
  else if (op === 'Reshape') {
    [h] = b.node('Reshape', [h, b.init('s1', DataType.INT64, [3], BigInt64Array.from([4n, 2n, 4n]))]);
    [h] = b.node('Reshape', [h, b.init('s2', DataType.INT64, [2], BigInt64Array.from([4n, 8n]))]);
  } else if (op === 'Flatten') {
    [h] = b.node('Reshape', [h, b.init('s1', DataType.INT64, [3], BigInt64Array.from([4n, 2n, 4n]))]);
    [h] = b.node('Flatten', [h], { axis: 1 });
  } else if (op === 'AveragePool') {
    // [4, 8] as [4, 2, 2, 2] images; a 2×2 window, top/left padding excluded from the divisor, then back.
    [h] = b.node('Reshape', [h, b.init('s1', DataType.INT64, [4], BigInt64Array.from([4n, 2n, 2n, 2n]))]);
    [h] = b.node('AveragePool', [h], { kernel_shape: [2, 2], strides: [1, 1], pads: [1, 1, 0, 0] });
    [h] = b.node('Reshape', [h, b.init('s2', DataType.INT64, [2], BigInt64Array.from([4n, 8n]))]);
  } else if (op !== 'MatMul') [h] = b.node(op, [h]);
  const [y] = b.node(
    'Gemm',
    [h, b.init('w2', DataType.FLOAT, [8, 10], r(80, 3)), b.init('b2', DataType.FLOAT, [10], r(10, 4))],
    {},
    { outputs: ['logits'] },
  );
  b.output(y, DataType.FLOAT, [4, 10]);
  return b.build();
}
const OPS_IN_FIXTURES = new Set(['Gemm', 'Conv', 'MaxPool', 'GlobalAveragePool', 'BatchNormalization']);
describe('every gradient rule matches finite differences', () => {
  const ops = Object.keys(gradRules).filter((o) => !OPS_IN_FIXTURES.has(o));
  it('covers every rule not exercised by the MLP/CNN fixtures', () => {
    expect(ops.sort()).toEqual([
      'Add',
      'AveragePool',
      'Dropout',
      'Flatten',
      'Identity',
      'MatMul',
      'Mul',
      'Relu',
      'Reshape',
      'Sigmoid',
      'Sub',
      'Tanh',
    ]);
  });
  it.each(ops)('%s', (op) => {
    const m = opModel(op);
    expect(m.graph.nodes.some((n) => n.opType === op)).toBe(true);
    expect(fdCheck(m, [4, 6])).toBe(
      3 * m.graph.initializers.size - (op === 'Reshape' || op === 'AveragePool' ? 6 : op === 'Flatten' ? 3 : 0),
    );
  });
});

describe('autodiff and the pass', () => {
  it('the AMP training graph is made by the same pass: backward Gemms fp16, the fused loss fp32', () => {
    const tg = buildTrainingGraph(loadModel(fixtureModelPath('mlp')));
    const { summary, model } = convertSync(tg.model, { keepFp32: ['/^loss\\//'] });
    expect(summary.nodes.byOp.Gemm.low).toBe(8); // 3 forward + 3 dW + 2 dX (the input needs no gradient)
    const ls = model.graph.nodes.find((n) => n.name === 'loss/logsoftmax')!;
    expect(model.graph.values.get(ls.outputs[0])?.type?.elemType).toBe(1);
  });
});

describe('train-check on digits (CPU, short run)', () => {
  it('AMP with loss scaling matches fp32; without scaling a small-gradient regime underflows and fails; bf16 needs no scaling', async () => {
    const r = await trainCheck({ data: 'digits', epochs: 4, seeds: [1], lossMultiplier: 1e-6 });
    const [fp32, amp, noscale, bf16] = r.modes;
    expect(r.modes.map((m) => m.mode)).toEqual(['fp32', 'amp', 'amp-noscale', 'amp-bf16']);
    // bf16 has fp32's exponent range: the same small gradients do not underflow, without any loss scaling.
    expect(bf16.underflow).toBeLessThan(0.01);
    expect(Math.abs(fp32.accMean - bf16.accMean)).toBeLessThan(0.02);
    expect(bf16.skipped).toBe(0);
    expect(fp32.accMean).toBeGreaterThan(0.9);
    expect(Math.abs(fp32.accMean - amp.accMean)).toBeLessThan(0.02);
    expect(noscale.underflow).toBeGreaterThan(0.5);
    expect(noscale.accMean).toBeLessThan(amp.accMean - 0.3);
    expect(amp.runs[0].scaleHistory.length).toBe(amp.runs[0].steps);
  }, 60_000);

  it('bad CSV data gets one clear error naming the file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amp-csv-'));
    const cases: [string, RegExp][] = [
      ['1,2,0\n3,4\n', /line 2 has 2 columns, expected 3/],
      ['1,2,0\n3,x,1\n', /line 2, column 2: 'x' is not a number/],
      ['1,2,0\n3,4,0\n', /single class/],
      ['1,2,0.5\n3,4,1\n', /label '0.5' must be an integer class in 0..9999/],
    ];
    for (const [text, re] of cases) {
      writeFileSync(join(dir, 'd.csv'), text);
      expect(() => readCsv(join(dir, 'd.csv'))).toThrow(re);
    }
    expect(() => readCsv(join(dir, 'missing.csv'))).toThrow(/no such file/);
    expect(readCsv(fixturePath('data', 'digits.csv.gz')).features).toBe(64);
  });
});

describe('the training report page', () => {
  it('shows accuracy per epoch, the loss scale as a 2^k step plot, no ± for one seed, and renders cleanly', async () => {
    const { trainCheck } = await import('../src/tools/train-check.js');
    const { renderTrainHtml } = await import('../src/tools/report/train-html.js');
    const { screenshotReport } = await import('../src/tools/report/screenshot.js');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const r = await trainCheck({
      data: 'digits',
      epochs: 3,
      seeds: [1],
      lr: 0.05,
      optimizer: 'sgd',
      lossMultiplier: 1,
      backend: 'cpu',
    });
    expect(
      r.modes.every(
        (m) => m.runs[0].epochAccuracy.length === 3 && m.runs[0].epochAccuracy[2] === m.runs[0].testAccuracy,
      ),
    ).toBe(true);
    const html = renderTrainHtml(r);
    expect(html).not.toMatch(/± 0\.00/);
    expect(html).toMatch(/test accuracy % \(seed 1\)/);
    expect((html.match(/<circle /g) ?? []).length).toBe(3 * r.modes.length); // one dot per epoch and mode
    expect(html).toMatch(/2<tspan dy="-5" font-size="9">16<\/tspan>/); // 2^16, the initial scale
    const dir = mkdtempSync(join(tmpdir(), 'amp-train-html-'));
    writeFileSync(join(dir, 't.html'), html);
    const page = await screenshotReport(join(dir, 't.html'));
    expect(page.errors).toEqual([]);
    expect(page.png.subarray(1, 4).toString()).toBe('PNG');
  }, 120_000);
});

describe('AveragePool gradient with a stride that leaves a border and the padding counted', () => {
  it('matches finite differences (output_padding path, count_include_pad = 1)', () => {
    const b = new ModelBuilder({ opset: 17 });
    const r = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 7.1 + s) * 0.4);
    const x = b.input('x', DataType.FLOAT, [4, 6]);
    let [h] = b.node('MatMul', [x, b.init('w1', DataType.FLOAT, [6, 9], r(54, 1))]);
    [h] = b.node('Reshape', [h, b.init('s1', DataType.INT64, [4], BigInt64Array.from([4n, 1n, 3n, 3n]))]);
    // 3×3 image, 2×2 window, stride 2, one row/column of padding counted: windows at 0 and 2 (the last row is covered once).
    [h] = b.node('AveragePool', [h], {
      kernel_shape: [2, 2],
      strides: [2, 2],
      pads: [0, 0, 1, 1],
      count_include_pad: 1,
    });
    [h] = b.node('Reshape', [h, b.init('s2', DataType.INT64, [2], BigInt64Array.from([4n, 4n]))]);
    const [y] = b.node(
      'Gemm',
      [h, b.init('w2', DataType.FLOAT, [4, 10], r(40, 3)), b.init('b2', DataType.FLOAT, [10], r(10, 4))],
      {},
      { outputs: ['logits'] },
    );
    b.output(y, DataType.FLOAT, [4, 10]);
    expect(fdCheck(b.build(), [4, 6])).toBe(9);
    // And a stride that leaves the last row/column outside every window (it gets no gradient).
    const b2 = new ModelBuilder({ opset: 17 });
    const x2 = b2.input('x', DataType.FLOAT, [4, 6]);
    let [g] = b2.node('MatMul', [x2, b2.init('w1', DataType.FLOAT, [6, 9], r(54, 5))]);
    [g] = b2.node('Reshape', [g, b2.init('s1', DataType.INT64, [4], BigInt64Array.from([4n, 1n, 3n, 3n]))]);
    [g] = b2.node('AveragePool', [g], { kernel_shape: [2, 2], strides: [2, 2] });
    [g] = b2.node('Reshape', [g, b2.init('s2', DataType.INT64, [2], BigInt64Array.from([4n, 1n]))]);
    const [y2] = b2.node(
      'Gemm',
      [g, b2.init('w2', DataType.FLOAT, [1, 10], r(10, 3)), b2.init('b2', DataType.FLOAT, [10], r(10, 4))],
      {},
      { outputs: ['logits'] },
    );
    b2.output(y2, DataType.FLOAT, [4, 10]);
    expect(fdCheck(b2.build(), [4, 6])).toBe(9);
  });
});

describe('BatchNormalization gradient in training mode (batch statistics)', () => {
  it('matches finite differences, for [N, C, H, W] and [N, C] inputs', () => {
    const r = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 7.1 + s) * 0.4);
    for (const dims of [
      [4n, 2n, 2n, 2n],
      [4n, 8n],
    ]) {
      const b = new ModelBuilder({ opset: 15 });
      const x = b.input('x', DataType.FLOAT, [4, 6]);
      let [h] = b.node('MatMul', [x, b.init('w1', DataType.FLOAT, [6, 8], r(48, 1))]);
      [h] = b.node('Reshape', [h, b.init('s1', DataType.INT64, [dims.length], BigInt64Array.from(dims))]);
      const C = Number(dims[1]);
      const bn = ['scale', 'bias', 'mean', 'var'].map((k, i) =>
        b.init(
          `bn.${k}`,
          DataType.FLOAT,
          [C],
          i === 3 ? new Float32Array(C).fill(1) : i === 0 ? r(C, 2).map((v) => v + 1) : r(C, 5 + i),
        ),
      );
      [h] = b.node('BatchNormalization', [h, ...bn], { training_mode: 1, epsilon: { float: 1e-5 } });
      [h] = b.node('Reshape', [h, b.init('s2', DataType.INT64, [2], BigInt64Array.from([4n, 8n]))]);
      const [y] = b.node(
        'Gemm',
        [h, b.init('w2', DataType.FLOAT, [8, 10], r(80, 3)), b.init('b2', DataType.FLOAT, [10], r(10, 4))],
        {},
        { outputs: ['logits'] },
      );
      b.output(y, DataType.FLOAT, [4, 10]);
      // Trainable: w1, bn.scale, bn.bias, w2, b2 (the running statistics get no gradient): 3 entries each.
      expect(fdCheck(b.build(), [4, 6])).toBe(15);
    }
  });
});

describe('the CNN trains with BatchNormalization in training mode', () => {
  it('batch statistics in the training graph, running statistics updated and used for the test', async () => {
    const { trainCheck } = await import('../src/tools/train-check.js');
    const tg = buildTrainingGraph(loadModel(fixtureModelPath('cnn')), { bnTraining: true });
    const bns = tg.model.graph.nodes.filter((n) => n.opType === 'BatchNormalization' && !n.name.startsWith('bwd'));
    expect(bns.length).toBeGreaterThan(0);
    expect(bns.every((n) => n.attrInt('training_mode', 0) === 1 && n.outputs.length === 3)).toBe(true);
    expect(tg.state).toHaveLength(2 * bns.length);
    expect(tg.model.graph.outputs.slice(-tg.state.length)).toEqual(tg.state.map((s) => s.output));
    const r = await trainCheck({
      data: 'digits',
      model: fixtureModelPath('cnn'),
      epochs: 3,
      seeds: [1],
      bnTraining: true,
    });
    const [fp32, amp, , bf16] = r.modes;
    expect(fp32.accMean).toBeGreaterThan(0.7);
    expect(Math.abs(fp32.accMean - amp.accMean)).toBeLessThan(0.04);
    expect(Math.abs(fp32.accMean - bf16.accMean)).toBeLessThan(0.04);
  }, 120_000);
});
