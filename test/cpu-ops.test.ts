/**
 * Ops of common public models that the shared node tests do not cover (LRN for AlexNet/Inception, GridSample,
 * detection post-processing, QDQ quantization, spectral front ends, losses...): each runs as a one-node model
 * on the CPU executor and on onnxruntime-node (the oracle), seeded inputs, outputs compared elementwise.
 */
import { describe, it, expect } from 'vitest';
import { ModelBuilder, type AttrValue } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { encodeModel } from '../src/onnx/io.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';
import { runOrt } from './helpers/ort.js';

const F = DataType.FLOAT,
  I64 = DataType.INT64;
let seed = 7;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2 ** 32;
};
const floats = (dims: number[], lo = -1, hi = 1): RTensor => ({
  dtype: F,
  dims,
  data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * rnd()),
});
const i64 = (dims: number[], v: number[]): RTensor => ({ dtype: I64, dims, data: BigInt64Array.from(v.map(BigInt)) });
const f32 = (dims: number[], v: number[]): RTensor => ({ dtype: F, dims, data: Float32Array.from(v) });
const bool = (dims: number[], v: number[]): RTensor => ({ dtype: DataType.BOOL, dims, data: Uint8Array.from(v) });

/** `scaled`: errors relative to the output's largest magnitude (onnxruntime's f32 FFT leaves ~1e-6 noise in bins that are 0). */
interface Case {
  op: string;
  inputs: RTensor[];
  attrs?: Record<string, AttrValue>;
  outputs?: number;
  opset?: number;
  scaled?: boolean;
}
const CASES: [string, Case][] = [
  [
    'LRN',
    {
      op: 'LRN',
      inputs: [floats([2, 7, 5, 5])],
      attrs: { size: 5, alpha: { float: 1e-3 }, beta: { float: 0.75 }, bias: { float: 2 } },
    },
  ],
  ['LpNormalization p=2', { op: 'LpNormalization', inputs: [floats([3, 4, 5])], attrs: { axis: 1, p: 2 } }],
  ['LpNormalization p=1', { op: 'LpNormalization', inputs: [floats([3, 6])], attrs: { axis: -1, p: 1 } }],
  ['MeanVarianceNormalization', { op: 'MeanVarianceNormalization', inputs: [floats([2, 3, 4, 5])] }],
  ['GlobalLpPool', { op: 'GlobalLpPool', inputs: [floats([2, 3, 4, 4])], attrs: { p: 3 } }],
  ['Det', { op: 'Det', inputs: [floats([3, 4, 4])] }],
  ['Compress axis', { op: 'Compress', inputs: [floats([3, 4]), bool([4], [1, 0, 1, 1])], attrs: { axis: 1 } }],
  ['Compress flat', { op: 'Compress', inputs: [floats([2, 3]), bool([5], [0, 1, 1, 0, 1])] }],
  [
    'ReverseSequence',
    { op: 'ReverseSequence', inputs: [floats([4, 3, 2]), i64([3], [4, 2, 1])], attrs: { batch_axis: 1, time_axis: 0 } },
  ],
  ['Unique sorted', { op: 'Unique', inputs: [f32([7], [2, 1, 1, 3, 4, 3, 1])], outputs: 4 }],
  [
    'Unique axis',
    { op: 'Unique', inputs: [f32([3, 3], [1, 0, 0, 1, 0, 0, 2, 3, 4])], attrs: { axis: 0, sorted: 1 }, outputs: 4 },
  ],
  [
    'QuantizeLinear per tensor',
    {
      op: 'QuantizeLinear',
      inputs: [
        floats([2, 8], -3, 3),
        f32([], [0.02]),
        { dtype: DataType.UINT8, dims: [], data: Uint8Array.from([128]) },
      ],
    },
  ],
  [
    'QuantizeLinear per axis int8',
    {
      op: 'QuantizeLinear',
      inputs: [
        floats([2, 3, 4], -3, 3),
        f32([3], [0.02, 0.05, 0.1]),
        { dtype: DataType.INT8, dims: [3], data: Int8Array.from([0, 3, -2]) },
      ],
      attrs: { axis: 1 },
    },
  ],
  [
    'DequantizeLinear',
    {
      op: 'DequantizeLinear',
      inputs: [
        { dtype: DataType.UINT8, dims: [2, 5], data: Uint8Array.from([0, 3, 128, 200, 255, 1, 2, 3, 4, 5]) },
        f32([], [0.1]),
        { dtype: DataType.UINT8, dims: [], data: Uint8Array.from([128]) },
      ],
    },
  ],
  ['DynamicQuantizeLinear', { op: 'DynamicQuantizeLinear', inputs: [floats([3, 4], -2, 5)], outputs: 3 }],
  [
    'GridSample bilinear zeros',
    { op: 'GridSample', inputs: [floats([1, 2, 4, 5]), floats([1, 3, 6, 2], -1.2, 1.2)], opset: 16 },
  ],
  [
    'GridSample nearest border',
    {
      op: 'GridSample',
      inputs: [floats([1, 2, 4, 5]), floats([1, 3, 3, 2], -1.3, 1.3)],
      attrs: { mode: 'nearest', padding_mode: 'border' },
      opset: 16,
    },
  ],
  [
    'GridSample bicubic reflection',
    {
      op: 'GridSample',
      inputs: [floats([2, 1, 5, 4]), floats([2, 2, 3, 2], -1.5, 1.5)],
      attrs: { mode: 'bicubic', padding_mode: 'reflection', align_corners: 1 },
      opset: 16,
    },
  ],
  [
    'NonMaxSuppression',
    {
      op: 'NonMaxSuppression',
      opset: 11,
      inputs: [
        f32([1, 6, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101]),
        f32([1, 2, 6], [0.9, 0.75, 0.6, 0.95, 0.5, 0.3, 0.1, 0.8, 0.7, 0.2, 0.9, 0.05]),
        i64([1], [3]),
        f32([1], [0.5]),
        f32([1], [0.15]),
      ],
    },
  ],
  [
    'RoiAlign avg',
    {
      op: 'RoiAlign',
      inputs: [floats([1, 2, 8, 8]), f32([3, 4], [0, 0, 7, 7, 1.5, 2, 5.2, 6.7, 3, 3, 4, 4]), i64([3], [0, 0, 0])],
      attrs: { output_height: 3, output_width: 2, sampling_ratio: 2, spatial_scale: { float: 1 } },
      opset: 16,
    },
  ],
  [
    'RoiAlign max, adaptive grid',
    {
      op: 'RoiAlign',
      inputs: [floats([2, 1, 6, 6]), f32([2, 4], [0.5, 0.5, 4.5, 5, 1, 0, 5, 3]), i64([2], [1, 0])],
      attrs: { mode: 'max', output_height: 2, output_width: 2, spatial_scale: { float: 0.9 } },
      opset: 16,
    },
  ],
  [
    'SoftmaxCrossEntropyLoss',
    {
      op: 'SoftmaxCrossEntropyLoss',
      inputs: [floats([4, 5, 3], -2, 2), i64([4, 3], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1])],
      outputs: 2,
      opset: 13,
    },
  ],
  [
    'SoftmaxCrossEntropyLoss weights ignore sum',
    {
      op: 'SoftmaxCrossEntropyLoss',
      inputs: [floats([3, 4], -2, 2), i64([3], [1, 3, 2]), f32([4], [0.5, 1, 2, 1.5])],
      attrs: { reduction: 'sum', ignore_index: 3 },
      opset: 13,
    },
  ],
  [
    'NegativeLogLikelihoodLoss none',
    {
      op: 'NegativeLogLikelihoodLoss',
      inputs: [floats([3, 4, 2], -3, 0), i64([3, 2], [0, 3, 2, 1, 1, 0])],
      attrs: { reduction: 'none' },
      opset: 13,
    },
  ],
  [
    'DFT real onesided',
    { op: 'DFT', inputs: [floats([2, 10, 1])], attrs: { onesided: 1, axis: 1 }, opset: 17, scaled: true },
  ],
  [
    'DFT complex inverse',
    { op: 'DFT', inputs: [floats([1, 8, 2])], attrs: { inverse: 1, axis: 1 }, opset: 17, scaled: true },
  ],
  [
    'STFT',
    {
      op: 'STFT',
      inputs: [
        floats([1, 64, 1]),
        i64([], [8]),
        f32(
          [16],
          Array.from({ length: 16 }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / 16)),
        ),
        i64([], [16]),
      ],
      opset: 17,
      scaled: true,
    },
  ],
  ['Swish', { op: 'Swish', inputs: [floats([3, 5], -4, 4)], attrs: { alpha: { float: 1.5 } }, opset: 24 }],
  [
    'RMSNormalization',
    {
      op: 'RMSNormalization',
      inputs: [floats([2, 3, 8]), floats([8])],
      attrs: { epsilon: { float: 1e-5 } },
      opset: 23,
    },
  ],
];

async function compare(c: Case): Promise<number> {
  const b = new ModelBuilder({ opset: c.opset ?? 17, irVersion: (c.opset ?? 17) >= 21 ? 10 : 8 });
  const names = c.inputs.map((t, i) => b.input(`in${i}`, t.dtype, t.dims));
  const outs = Array.from({ length: c.outputs ?? 1 }, (_, i) => `out${i}`);
  b.node(c.op, names, c.attrs ?? {}, { outputs: outs });
  for (const o of outs) b.output(o);
  const model = b.build();
  const feeds = Object.fromEntries(c.inputs.map((t, i) => [`in${i}`, t]));
  const want = await runOrt(encodeModel(model), feeds);
  const got = new CpuExecutor(model).runSync(feeds);
  let worst = 0;
  for (const o of outs) {
    expect(got[o].dtype, `${c.op} ${o} dtype`).toBe(want[o].dtype);
    expect(got[o].dims, `${c.op} ${o} dims`).toEqual(want[o].dims);
    const g = toFloat32(got[o]),
      w = toFloat32(want[o]);
    const scale = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < w.length; i++)
      worst = Math.max(worst, Math.abs(g[i] - w[i]) / (c.scaled ? scale : 1e-4 + Math.abs(w[i])));
  }
  return worst;
}

describe('CPU executor ops beyond the node tests agree with onnxruntime', () => {
  it.each(CASES)('%s', async (_name, c) => {
    expect(await compare(c)).toBeLessThan(c.scaled ? 1e-5 : 2e-4);
  });
});

describe('Loop scan outputs', () => {
  it('stacks per-iteration values of any size and type (float, int32), as onnxruntime does', async () => {
    const { GraphBuilder } = await import('../src/onnx/builder.js');
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', DataType.FLOAT, [5]);
    const body = new GraphBuilder('body', b.graph);
    body.input('i', DataType.INT64, []);
    body.input('cin', DataType.BOOL, []);
    const acc = body.input('acc', DataType.FLOAT, [5]);
    const [a2] = body.node('Add', [acc, x], {}, { name: 'body.add' });
    const [sq] = body.node('Mul', [a2, a2], {}, { name: 'body.mul' });
    const [ci] = body.node('Cast', [sq], { to: DataType.INT32 }, { name: 'body.cast' });
    body.node('Identity', ['cin'], {}, { name: 'body.cond', outputs: ['cout'] });
    body.output('cout', DataType.BOOL, []);
    body.output(a2, DataType.FLOAT, [5]);
    body.output(sq, DataType.FLOAT, [5]);
    body.output(ci, DataType.INT32, [5]);
    b.node(
      'Loop',
      [
        b.init('trip', DataType.INT64, [], BigInt64Array.from([6n])),
        b.init('yes', DataType.BOOL, [], Uint8Array.from([1])),
        x,
      ],
      { body: body.graph },
      { name: 'loop', outputs: ['y', 'ys', 'yi'] },
    );
    b.output('y', DataType.FLOAT, [5]);
    b.output('ys', DataType.FLOAT, [6, 5]);
    b.output('yi', DataType.INT32, [6, 5]);
    const m = b.build();
    const feeds = { x: { dtype: DataType.FLOAT, dims: [5], data: Float32Array.from([1, -2, 0.5, 3, 0]) } };
    const got = new CpuExecutor(m).runSync(feeds),
      want = await runOrt(encodeModel(m), feeds);
    for (const k of ['y', 'ys', 'yi']) {
      expect(got[k].dims).toEqual(want[k].dims);
      expect(Array.from(toFloat32(got[k]))).toEqual(Array.from(toFloat32(want[k])));
    }
    expect(got.yi.data).toBeInstanceOf(Int32Array);
  });
});
