/**
 * onnxruntime's fused transformer ops (com.microsoft): each CPU kernel against onnxruntime-node, which
 * implements them all, on seeded inputs — fp32, and fp16 I/O where onnxruntime's CPU provider takes it.
 */
import { describe, it, expect } from 'vitest';
import { ModelBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { encodeModel } from '../src/onnx/io.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';
import { runOrt } from './helpers/ort.js';
import { rng, normal, uniform } from '../fixtures/scripts/rng.js';

const F = DataType.FLOAT,
  MS = 'com.microsoft';
const f32 = (dims: number[], data: Float32Array): RTensor => ({ dtype: F, dims, data });
const i32 = (dims: number[], v: number[]): RTensor => ({ dtype: DataType.INT32, dims, data: Int32Array.from(v) });
const i64 = (dims: number[], v: number[]): RTensor => ({
  dtype: DataType.INT64,
  dims,
  data: BigInt64Array.from(v.map(BigInt)),
});

interface Case {
  name: string;
  op: string;
  inputs: (RTensor | undefined)[];
  attrs?: Record<string, number | { float: number }>;
  outputs?: number;
  inits?: number[];
  /** The op's domain (default com.microsoft). */
  domain?: string;
  /** Primitive ONNX ops computing the same, for ops onnxruntime's CPU provider has no kernel for. */
  reference?: (b: ModelBuilder, inputs: string[], out: string) => void;
}

/** One-node model: inputs listed in order ('' where omitted); those in `inits` become initializers. */
function oneNode(c: Case) {
  const b = new ModelBuilder({ opset: 17, extraOpsets: { [MS]: 1 } });
  const names = c.inputs.map((t, i) => {
    if (!t) return '';
    if (c.inits?.includes(i)) return b.init(`w${i}`, t.dtype, t.dims, t.data as never);
    return b.input(`x${i}`, t.dtype, t.dims);
  });
  const outs = Array.from({ length: c.outputs ?? 1 }, (_, i) => `y${i}`);
  const ref = new ModelBuilder({ opset: 17, extraOpsets: { [MS]: 1 } });
  b.node(c.op, names, c.attrs ?? {}, { domain: c.domain ?? MS, outputs: outs, name: c.op });
  for (const o of outs) b.output(o);
  const feeds = Object.fromEntries(c.inputs.flatMap((t, i) => (t && !c.inits?.includes(i) ? [[`x${i}`, t]] : [])));
  const model = b.build();
  if (!c.reference) return { model, oracle: model, feeds, outs };
  // The same inputs and initializers, computed by primitive ops.
  for (const i of model.graph.inputs)
    ref.input(i, model.graph.values.get(i)!.type!.elemType, model.graph.values.get(i)!.type!.shape);
  c.inputs.forEach((t, i) => {
    if (t && c.inits?.includes(i)) ref.init(`w${i}`, t.dtype, t.dims, t.data as never);
  });
  c.reference(ref, names, outs[0]);
  ref.output(outs[0]);
  return { model, oracle: ref.build(), feeds, outs };
}

function worst(a: RTensor, b: RTensor): number {
  expect(a.dims).toEqual(b.dims);
  const x = toFloat32(a),
    y = toFloat32(b);
  let w = 0;
  for (let i = 0; i < y.length; i++) w = Math.max(w, Math.abs(x[i] - y[i]) / (1e-4 + 1e-3 * Math.abs(y[i])));
  return w;
}

const r = rng(7);
const B = 2,
  S = 5,
  D = 32,
  H = 4;
const x = () => f32([B, S, D], normal(r, B * S * D));
const vec = (n: number, s = 0.5) => f32([n], normal(r, n, s));
const bytes = (n: number) =>
  ({ dtype: DataType.UINT8, dims: [n], data: Uint8Array.from({ length: n }, () => Math.floor(r() * 256)) }) as RTensor;

const cases: Case[] = [
  {
    name: 'SkipLayerNormalization with bias and sum output',
    op: 'SkipLayerNormalization',
    inputs: [x(), x(), vec(D), vec(D), vec(D)],
    attrs: { epsilon: { float: 1e-5 } },
    outputs: 4,
    inits: [2, 3, 4],
  },
  {
    name: 'SkipSimplifiedLayerNormalization',
    op: 'SkipSimplifiedLayerNormalization',
    inputs: [x(), x(), vec(D), vec(D)],
    attrs: { epsilon: { float: 1e-5 } },
    outputs: 1,
    inits: [2, 3],
  },
  // onnxruntime registers SimplifiedLayerNormalization in the ONNX domain.
  {
    name: 'SimplifiedLayerNormalization',
    op: 'SimplifiedLayerNormalization',
    domain: '',
    inputs: [x(), vec(D)],
    attrs: { epsilon: { float: 1e-6 } },
    inits: [1],
  },
  { name: 'FastGelu with bias', op: 'FastGelu', inputs: [x(), vec(D)], inits: [1] },
  { name: 'BiasGelu', op: 'BiasGelu', inputs: [x(), vec(D)], inits: [1] },
  { name: 'Gelu', op: 'Gelu', inputs: [x()] },
  { name: 'QuickGelu', op: 'QuickGelu', inputs: [x()], attrs: { alpha: { float: 1.5 } } },
  // BiasAdd has CUDA/WebGPU kernels only: its oracle is X + bias + skip in primitive ops.
  {
    name: 'BiasAdd',
    op: 'BiasAdd',
    inputs: [x(), vec(D), x()],
    inits: [1],
    reference: (b, [X, bias, skip], out) => {
      const [t] = b.node('Add', [X, bias]);
      b.node('Add', [t, skip], {}, { outputs: [out] });
    },
  },
  {
    name: 'EmbedLayerNormalization',
    op: 'EmbedLayerNormalization',
    outputs: 3,
    attrs: { epsilon: { float: 1e-12 } },
    inits: [2, 3, 4, 5, 6],
    inputs: [
      i32([B, S], [1, 5, 7, 3, 2, 9, 0, 4, 4, 8]),
      i32([B, S], [0, 0, 1, 1, 1, 0, 0, 0, 1, 1]),
      f32([10, D], normal(r, 10 * D)),
      f32([16, D], normal(r, 16 * D, 0.1)),
      f32([2, D], normal(r, 2 * D, 0.1)),
      vec(D),
      vec(D),
      i32([B, S], [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]),
    ],
  },
  {
    name: 'Attention (packed QKV, mask_index, unidirectional)',
    op: 'Attention',
    attrs: { num_heads: H, unidirectional: 1 },
    inits: [1, 2],
    inputs: [x(), f32([D, 3 * D], normal(r, 3 * D * D, 0.2)), vec(3 * D), i32([B], [5, 3])],
  },
  {
    name: 'Attention with a 2-D mask and past',
    op: 'Attention',
    attrs: { num_heads: H },
    inits: [1, 2],
    outputs: 2,
    inputs: [
      x(),
      f32([D, 3 * D], normal(r, 3 * D * D, 0.2)),
      vec(3 * D),
      i32([B, 3 + S], [1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1]),
      f32([2, B, H, 3, D / H], normal(r, 2 * B * H * 3 * (D / H))),
    ],
  },
  {
    name: 'MultiHeadAttention with bias, padding mask and past',
    op: 'MultiHeadAttention',
    attrs: { num_heads: H },
    outputs: 3,
    inits: [3],
    inputs: [
      x(),
      x(),
      x(),
      vec(3 * D),
      i32([B, 2 + S], [1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1]),
      undefined,
      f32([B, H, 2, D / H], normal(r, B * H * 2 * (D / H))),
      f32([B, H, 2, D / H], normal(r, B * H * 2 * (D / H))),
    ],
  },
  // With do_rotary onnxruntime wants head_size a multiple of 16: 4 heads of 16.
  {
    name: 'GroupQueryAttention, prompt with rotary',
    op: 'GroupQueryAttention',
    attrs: { num_heads: H, kv_num_heads: 2, do_rotary: 1 },
    outputs: 3,
    inits: [7, 8],
    inputs: [
      f32([1, S, 64], normal(r, S * 64)),
      f32([1, S, 32], normal(r, S * 32)),
      f32([1, S, 32], normal(r, S * 32)),
      undefined,
      undefined,
      i32([1], [S - 1]),
      i32([], [S]),
      f32([16, 8], uniform(r, 128, -1, 1)),
      f32([16, 8], uniform(r, 128, -1, 1)),
    ],
  },
  {
    name: 'GroupQueryAttention, decode step into a shared buffer',
    op: 'GroupQueryAttention',
    attrs: { num_heads: H, kv_num_heads: 2 },
    outputs: 3,
    inputs: [
      f32([1, 1, D], normal(r, D)),
      f32([1, 1, D / 2], normal(r, D / 2)),
      f32([1, 1, D / 2], normal(r, D / 2)),
      f32([1, 2, 8, D / H], normal(r, 2 * 8 * (D / H))),
      f32([1, 2, 8, D / H], normal(r, 2 * 8 * (D / H))),
      i32([1], [4]),
      i32([], [5]),
    ],
  },
  {
    name: 'RotaryEmbedding, 3-D with position ids',
    op: 'RotaryEmbedding',
    attrs: { num_heads: H },
    inits: [2, 3],
    inputs: [
      x(),
      i64([B, S], [0, 1, 2, 3, 4, 3, 4, 5, 6, 7]),
      f32([16, 4], uniform(r, 64, -1, 1)),
      f32([16, 4], uniform(r, 64, -1, 1)),
    ],
  },
  {
    name: 'RotaryEmbedding, interleaved, offset position',
    op: 'RotaryEmbedding',
    attrs: { num_heads: H, interleaved: 1 },
    inits: [2, 3],
    inputs: [x(), i64([1], [3]), f32([16, 4], uniform(r, 64, -1, 1)), f32([16, 4], uniform(r, 64, -1, 1))],
  },
  {
    name: 'MatMulNBits (4-bit, block 32, default zero point, bias)',
    op: 'MatMulNBits',
    attrs: { K: 64, N: 8, bits: 4, block_size: 32 },
    inits: [1, 2, 5],
    inputs: [
      f32([3, 64], normal(r, 192)),
      { ...bytes(8 * 2 * 16), dims: [8, 2, 16] },
      f32([16], uniform(r, 16, 0.01, 0.1)),
      undefined,
      undefined,
      vec(8),
    ],
  },
  {
    name: 'MatMulNBits (4-bit, packed zero points)',
    op: 'MatMulNBits',
    attrs: { K: 64, N: 8, bits: 4, block_size: 32 },
    inits: [1, 2, 3],
    inputs: [
      f32([2, 64], normal(r, 128)),
      { ...bytes(8 * 2 * 16), dims: [8, 2, 16] },
      f32([16], uniform(r, 16, 0.01, 0.1)),
      bytes(8),
    ],
  },
  {
    name: 'GatherBlockQuantized (uint8-packed 4-bit rows)',
    op: 'GatherBlockQuantized',
    attrs: { block_size: 32, bits: 4, gather_axis: 0, quantize_axis: 1 },
    inits: [0, 2],
    inputs: [{ ...bytes(10 * 32), dims: [10, 32] }, i64([3], [7, 0, 9]), f32([10, 2], uniform(r, 20, 0.01, 0.1))],
  },
];

describe('com.microsoft kernels agree with onnxruntime-node', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const { model, oracle, feeds, outs } = oneNode(c);
    const ref = await runOrt(encodeModel(oracle), feeds);
    const got = new CpuExecutor(model).runSync(feeds);
    for (const o of outs) expect(worst(got[o], ref[o]), o).toBeLessThan(1);
  });

  it('every com.microsoft op the policy lists has a kernel checked here', async () => {
    const { OP_POLICY } = await import('../passes/policy.js');
    const listed = Object.keys(OP_POLICY)
      .filter((k) => k.startsWith(`${MS}.`))
      .map((k) => k.slice(MS.length + 1));
    const tested = new Set(cases.map((c) => c.op));
    expect(listed.filter((op) => !tested.has(op))).toEqual([]);
  });
});

describe('4-bit weights converted (transformers.js q4f16)', () => {
  it('MatMulNBits and GatherBlockQuantized go fp16 with fp16 scales; onnxruntime and the CPU oracle agree with the fp32 model', async () => {
    const { convertSync } = await import('../src/tools/convert.js');
    const { feedsFor } = await import('../src/tools/verify.js');
    const q = rng(3);
    const b = new ModelBuilder({ opset: 17, extraOpsets: { [MS]: 1 } });
    const x = b.input('x', F, [2, 64]);
    const B = b.init(
      'B',
      DataType.UINT8,
      [16, 2, 16],
      Uint8Array.from({ length: 512 }, () => Math.floor(q() * 256)),
    );
    const [y] = b.node(
      'MatMulNBits',
      [x, B, b.init('S', F, [32], uniform(q, 32, 0.01, 0.05))],
      { K: 64, N: 16, bits: 4, block_size: 32 },
      { domain: MS, outputs: ['y'] },
    );
    const D = b.init(
      'D',
      DataType.UINT8,
      [10, 32],
      Uint8Array.from({ length: 320 }, () => Math.floor(q() * 256)),
    );
    const [g] = b.node(
      'GatherBlockQuantized',
      [D, b.input('ids', DataType.INT64, [3]), b.init('DS', F, [10, 2], uniform(q, 20, 0.01, 0.1))],
      { block_size: 32, bits: 4, gather_axis: 0, quantize_axis: 1 },
      { domain: MS },
    );
    b.node('MatMul', [g, b.init('W', F, [64, 16], normal(q, 1024, 0.1))], {}, { outputs: ['z'] });
    b.output(y, F);
    b.output('z', F);
    const m = b.build();
    const feeds = { x: f32([2, 64], normal(q, 128)), ids: i64([3], [1, 5, 9]) };
    const ref = await runOrt(encodeModel(m), feeds);
    const { model, summary } = convertSync(m);
    expect(summary.nodes.byOp.MatMulNBits).toEqual({ low: 1, high: 0 });
    expect(summary.nodes.byOp.GatherBlockQuantized).toEqual({ low: 1, high: 0 });
    expect([model.graph.initializers.get('S')!.dataType, model.graph.initializers.get('DS')!.dataType]).toEqual([
      DataType.FLOAT16,
      DataType.FLOAT16,
    ]);
    const f = feedsFor(model, feeds);
    const got = await runOrt(encodeModel(model), f),
      cpu = new CpuExecutor(model).runSync(f);
    for (const k of ['y', 'z']) {
      const a = toFloat32(got[k]),
        c = toFloat32(cpu[k]),
        e = toFloat32(ref[k]);
      const mx = Math.max(...Array.from(e, Math.abs));
      expect(Math.max(...Array.from(e, (v, i) => Math.abs(a[i] - v))) / mx, k).toBeLessThan(2e-3);
      expect(Math.max(...Array.from(e, (v, i) => Math.abs(c[i] - v))) / mx, k).toBeLessThan(2e-3);
    }
  });
});
