/**
 * WebGPU runtime on Dawn (lavapipe in CI — scripts/setup-system.sh installs it, so these tests run for real;
 * without an adapter they fail with the install message). Every kernel is checked against the CPU reference
 * on shapes that are not multiples of the tile size: f32 within 1e-5 of the tensor's scale, f16 within 2e-3
 * (one half rounding of an f32-accumulated result, plus input rounding).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { WebGpuExecutor } from '../runtime/webgpu/executor.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { gpuKernels, VIEW_OPS } from '../runtime/webgpu/kernels/index.js';
import { ModelBuilder, type AttrValue } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { f32ArrayToF16 } from '../src/core/half.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';
import { agreement, fixtureInputs, fixtureModelPath } from './helpers/fixtures.js';
import { nodeTestNames, RANDOM_NODE_TESTS } from './helpers/nodetests.js';
import { loadNodeCase } from './helpers/nodecase.js';
import { loadModel } from '../src/onnx/io.js';
import { convertSync } from '../src/tools/convert.js';
import { cli } from './helpers/cli.js';
import { fixturePath } from './helpers/nodetests.js';

const F = DataType.FLOAT,
  H = DataType.FLOAT16;
let seed = 7;
const rnd = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32 - 0.5;
};
const tensor = (dtype: number, dims: number[], scale = 1): RTensor => {
  const v = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rnd() * 2 * scale);
  return dtype === H ? { dtype, dims, data: f32ArrayToF16(v) } : { dtype, dims, data: v };
};

/** One-node model with float inputs, run on both backends. */
async function compare(
  op: string,
  inputs: RTensor[],
  attrs: Record<string, AttrValue> = {},
  extra: { name: string; t: RTensor }[] = [],
) {
  const b = new ModelBuilder({ opset: 17 });
  const names = inputs.map((t, i) => b.input(`x${i}`, t.dtype, t.dims));
  for (const e of extra) b.init(e.name, e.t.dtype, e.t.dims, e.t.data as never);
  b.node(op, [...names, ...extra.map((e) => e.name)], attrs, { outputs: ['y'] });
  b.output('y');
  const m = b.build();
  const feeds = Object.fromEntries(inputs.map((t, i) => [`x${i}`, t]));
  const ref = new CpuExecutor(m).runSync(feeds).y;
  let worst = 0;
  // Kernels have a GPU form and a software-adapter form (register-block GEMMs, several elements per
  // invocation): both are tested here, whatever the adapter.
  for (const forms of ['gpu', 'software'] as const) {
    const ex = await WebGpuExecutor.create(m, { forms });
    const got = (await ex.run(feeds)).y;
    expect(ex.gpuNodes[op], `${op} ran on the GPU`).toBe(1);
    expect(got.dims).toEqual(ref.dims);
    expect(got.dtype).toBe(ref.dtype);
    worst = Math.max(worst, agreement(toFloat32(got), toFloat32(ref)).maxScaled);
  }
  return worst;
}
const bound = (dt: number) => (dt === H ? 2e-3 : 1e-5);

describe.each([F, H])('WebGPU kernels vs the CPU reference (dtype %i)', (dt) => {
  it('MatMul batched with broadcast, and Gemm with transposes and bias', async () => {
    expect(await compare('MatMul', [tensor(dt, [2, 17, 33]), tensor(dt, [33, 19])])).toBeLessThan(bound(dt));
    expect(await compare('MatMul', [tensor(dt, [3, 1, 5, 20]), tensor(dt, [4, 20, 7])])).toBeLessThan(bound(dt));
    expect(
      await compare('Gemm', [tensor(dt, [23, 18]), tensor(dt, [29, 23]), tensor(dt, [29])], {
        transA: 1,
        transB: 1,
        alpha: { float: 0.5 },
        beta: { float: 2 },
      }),
    ).toBeLessThan(bound(dt));
    // ≥ 64×64 outputs take the register-tiled kernel (edges not multiples of its 64×64 block or 16-deep k tile).
    expect(await compare('MatMul', [tensor(dt, [2, 70, 50]), tensor(dt, [50, 130])])).toBeLessThan(bound(dt));
    expect(
      await compare('Gemm', [tensor(dt, [37, 81]), tensor(dt, [66, 37]), tensor(dt, [81, 66])], {
        transA: 1,
        transB: 1,
        alpha: { float: 0.5 },
        beta: { float: 2 },
      }),
    ).toBeLessThan(bound(dt));
  });
  it('software-adapter GEMMs read operands packed into textures: weights packed once, the GPU forms’ bits', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', dt, [2, 19, 35]); // batches as rows of one product, K not a multiple of 4
    b.node('MatMul', [x, b.init('w', dt, [35, 21], tensor(dt, [35, 21]).data as never)], {}, { outputs: ['y'] });
    const g = b.input('g', dt, [37, 81]);
    const [wt, bias] = [
      b.init('wt', dt, [66, 37], tensor(dt, [66, 37]).data as never),
      b.init('c', dt, [66], tensor(dt, [66]).data as never),
    ];
    b.node(
      'Gemm',
      [g, wt, bias],
      { transA: 1, transB: 1, alpha: { float: 0.5 }, beta: { float: 2 } },
      { outputs: ['z'] },
    );
    const v = b.input('v', dt, [1, 35]); // a matrix-vector product: one row an invocation
    b.node('MatMul', [v, 'w'], {}, { outputs: ['r'] });
    // A product and its bias Add: one dispatch, the product rounded to its type before the bias is added.
    const [p] = b.node('MatMul', [x, 'w']);
    b.node('Add', [b.init('bias', dt, [21], tensor(dt, [21], 30).data as never), p], {}, { outputs: ['s'] });
    // A Conv of ≥ 128 output channels: its weight (kept) times im2col of the input, both textures; the bias per
    // output channel.
    const cw = b.init('cw', dt, [128, 6, 3, 3], tensor(dt, [128, 6, 3, 3]).data as never);
    const cb = b.init('cb', dt, [128], tensor(dt, [128]).data as never);
    b.node(
      'Conv',
      [b.input('im', dt, [2, 6, 11, 9]), cw, cb],
      { pads: [1, 0, 1, 2], strides: [2, 1] },
      { outputs: ['cv'] },
    );
    b.node('MatMul', [b.input('e', dt, [9, 0]), b.input('f', dt, [0, 5])], {}, { outputs: ['zero'] }); // K = 0: no texture
    // A bias along rows ([5, 1] on a 5 × 5 product) is not the epilogue's: the Add runs apart.
    const [p5] = b.node('MatMul', [
      b.input('x5', dt, [5, 7]),
      b.init('w5', dt, [7, 5], tensor(dt, [7, 5]).data as never),
    ]);
    b.node('Add', [p5, b.init('rows', dt, [5, 1], tensor(dt, [5, 1], 30).data as never)], {}, { outputs: ['t'] });
    for (const o of ['y', 'z', 'r', 's', 'cv', 'zero', 't']) b.output(o);
    const m = b.build();
    const feeds = {
      x: tensor(dt, [2, 19, 35]),
      g: tensor(dt, [37, 81]),
      v: tensor(dt, [1, 35]),
      im: tensor(dt, [2, 6, 11, 9]),
      e: tensor(dt, [9, 0]),
      f: tensor(dt, [0, 5]),
      x5: tensor(dt, [5, 7]),
    };
    const want = await (await WebGpuExecutor.create(m, { forms: 'gpu' })).run(feeds);
    const ex = await WebGpuExecutor.create(m, { forms: 'software' });
    for (const packed of [10, 6]) {
      const got = await ex.run(feeds);
      expect(ex.packedOperands).toBe(packed); // x twice, w, g, wt, v, cw, im2col(im), x5, w5; then only the inputs
      expect(ex.dispatches).toBe(packed + 8); // the products: y, z, r, s with its Add, cv, zero, t's and its Add
      expect(Array.from(got.zero.data as Float32Array)).toEqual(new Array(45).fill(0));
      for (const k of ['y', 'z', 'r', 's', 'cv', 'zero', 't'])
        expect(Array.from(got[k].data as Float32Array), k).toEqual(Array.from(want[k].data as Float32Array));
    }
    ex.dispose();
  });
  it('ReduceSum / ReduceMean over any axes, keepdims or not, axes as attribute (opset 11) or input (13/18)', async () => {
    const axes = (v: number[]) => ({
      name: 'axes',
      t: { dtype: DataType.INT64, dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) } as RTensor,
    });
    expect(await compare('ReduceSum', [tensor(dt, [3, 5, 7])], { keepdims: 0 }, [axes([0, 2])])).toBeLessThan(
      bound(dt),
    );
    expect(await compare('ReduceSum', [tensor(dt, [4, 9])], {}, [axes([-2])])).toBeLessThan(bound(dt));
    expect(await compare('ReduceSum', [tensor(dt, [2, 3, 4, 5])], { keepdims: 1 }, [])).toBeLessThan(bound(dt)); // all axes
    expect(await compare('ReduceMean', [tensor(dt, [6, 10, 3])], { axes: [1], keepdims: 0 })).toBeLessThan(bound(dt)); // opset 17: attribute
    expect(await compare('Sign', [tensor(dt, [41])])).toBe(0);
    // ConvTranspose: strides with output_padding and pads, groups, dilation, bias.
    expect(
      await compare('ConvTranspose', [tensor(dt, [2, 4, 5, 6]), tensor(dt, [4, 3, 3, 2]), tensor(dt, [6])], {
        group: 2,
        strides: [2, 3],
        pads: [1, 0, 0, 1],
        output_padding: [1, 2],
      }),
    ).toBeLessThan(bound(dt));
    expect(
      await compare('ConvTranspose', [tensor(dt, [1, 3, 7, 7]), tensor(dt, [3, 5, 3, 3])], {
        dilations: [2, 1],
        pads: [1, 1, 1, 1],
      }),
    ).toBeLessThan(bound(dt));
    // output_shape (the Conv input gradient's form) and auto_pad SAME_UPPER: pads derived as the spec says.
    expect(
      await compare('ConvTranspose', [tensor(dt, [2, 3, 4, 5]), tensor(dt, [3, 2, 3, 3])], {
        strides: [2, 2],
        output_shape: [9, 10],
      }),
    ).toBeLessThan(bound(dt));
    expect(
      await compare('ConvTranspose', [tensor(dt, [1, 2, 3, 4]), tensor(dt, [2, 2, 2, 3])], {
        strides: [2, 2],
        auto_pad: 'SAME_UPPER',
      }),
    ).toBeLessThan(bound(dt));
    const shape = (v: number[]) => ({
      name: 'shape',
      t: { dtype: DataType.INT64, dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) } as RTensor,
    });
    expect(await compare('Expand', [tensor(dt, [3, 1, 5])], {}, [shape([2, 3, 4, 5])])).toBe(0);
    expect(await compare('Expand', [tensor(dt, [1])], {}, [shape([7, 9])])).toBe(0);
    // Slice: negative axes and starts, a negative step, ends past the dims, an axis left whole.
    const i64 = (name: string, v: number[]) => ({
      name,
      t: { dtype: DataType.INT64, dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) } as RTensor,
    });
    expect(
      await compare('Slice', [tensor(dt, [4, 7, 9])], {}, [
        i64('st', [1, -2]),
        i64('en', [100, 0]),
        i64('ax', [0, -1]),
        i64('sp', [2, -3]),
      ]),
    ).toBe(0);
    expect(await compare('Slice', [tensor(dt, [5, 6])], {}, [i64('st', [-4]), i64('en', [-1])])).toBe(0);
  });
  it('elementwise with broadcasting, unary activations, Cast', async () => {
    for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min'])
      expect(await compare(op, [tensor(dt, [3, 1, 5]), tensor(dt, [4, 5])]), op).toBeLessThan(bound(dt));
    const base = tensor(dt, [37]);
    const absBase: RTensor =
      dt === H
        ? { dtype: H, dims: [37], data: (base.data as Uint16Array).map((b) => b & 0x7fff) }
        : { dtype: F, dims: [37], data: (base.data as Float32Array).map(Math.abs) };
    expect(await compare('Pow', [absBase, tensor(dt, [1])])).toBeLessThan(dt === H ? 2e-3 : 2e-6);
    const neg = tensor(dt, [19]); // negative bases with an integer exponent stay real (WGSL pow alone gives NaN)
    const two: RTensor =
      dt === H
        ? { dtype: H, dims: [1], data: f32ArrayToF16(Float32Array.from([3])) }
        : { dtype: F, dims: [1], data: Float32Array.from([3]) };
    expect(await compare('Pow', [neg, two])).toBeLessThan(dt === H ? 2e-3 : 2e-6);
    for (const op of ['Relu', 'Sigmoid', 'Tanh', 'Erf', 'Neg', 'Abs', 'Exp'])
      expect(await compare(op, [tensor(dt, [5, 13])]), op).toBeLessThan(dt === H ? 2e-3 : 2e-6);
    expect(await compare('Cast', [tensor(dt, [101])], { to: dt === F ? H : F })).toBeLessThan(1e-3);
  });
  it('Softmax, LayerNormalization, Transpose, BatchNormalization, LRN', async () => {
    expect(await compare('Softmax', [tensor(dt, [7, 37], 4)], { axis: -1 })).toBeLessThan(bound(dt));
    expect(
      await compare('LayerNormalization', [tensor(dt, [3, 5, 24]), tensor(dt, [24]), tensor(dt, [24])], { axis: -1 }),
    ).toBeLessThan(dt === H ? 4e-3 : 1e-5);
    expect(await compare('Transpose', [tensor(dt, [2, 3, 5, 7])], { perm: [3, 1, 0, 2] })).toBe(0);
    const c = 6;
    const varT = { ...tensor(dt, [c]) };
    const pos = toFloat32(varT).map((v) => Math.abs(v) + 0.5);
    expect(
      await compare('BatchNormalization', [
        tensor(dt, [2, c, 5, 3]),
        tensor(dt, [c]),
        tensor(dt, [c]),
        tensor(dt, [c]),
        dt === H ? { dtype: H, dims: [c], data: f32ArrayToF16(pos) } : { dtype: F, dims: [c], data: pos },
      ]),
    ).toBeLessThan(bound(dt));
    expect(
      await compare('LRN', [tensor(dt, [2, 7, 3, 5], 3)], { size: 4, alpha: 0.02, beta: 0.6, bias: 1.5 }),
    ).toBeLessThan(bound(dt));
    expect(await compare('LRN', [tensor(dt, [1, 5, 6])], { size: 3 })).toBeLessThan(bound(dt));
  });
  it('Concat, Pad (constant, edge, reflect, wrap; a constant input; cropping), Tile, Gather: exact copies (Pad with axes: the node tests)', async () => {
    const i64 = (name: string, v: number[], dims = [v.length]) => ({
      name,
      t: { dtype: DataType.INT64, dims, data: BigInt64Array.from(v.map(BigInt)) } as RTensor,
    });
    expect(
      await compare('Concat', [tensor(dt, [2, 3, 4]), tensor(dt, [2, 1, 4]), tensor(dt, [2, 5, 4])], { axis: 1 }),
    ).toBe(0);
    expect(await compare('Concat', [tensor(dt, [3, 2]), tensor(dt, [3, 7])], { axis: -1 })).toBe(0);
    for (const mode of ['constant', 'edge', 'reflect', 'wrap']) {
      expect(
        await compare('Pad', [tensor(dt, [2, 3, 4, 5])], { mode }, [i64('pads', [0, 1, 2, 1, 0, 2, 1, 3])]),
        mode,
      ).toBe(0);
    }
    const val = {
      name: 'v',
      t:
        dt === H
          ? { dtype: H, dims: [], data: f32ArrayToF16(Float32Array.from([2.5])) }
          : { dtype: F, dims: [], data: Float32Array.from([2.5]) },
    } as { name: string; t: RTensor };
    expect(await compare('Pad', [tensor(dt, [3, 4])], {}, [i64('pads', [1, -1, 2, 3]), val])).toBe(0); // a negative pad crops
    expect(await compare('Tile', [tensor(dt, [2, 3, 1])], {}, [i64('reps', [2, 1, 4])])).toBe(0);
    expect(
      await compare('Gather', [tensor(dt, [5, 4, 3])], { axis: 1 }, [i64('idx', [3, -1, 0, 0, 2, 1], [2, 3])]),
    ).toBe(0);
    expect(await compare('Gather', [tensor(dt, [6, 2])], {}, [i64('idx', [4], [])])).toBe(0);
  });
  it('Resize: nearest (exact), linear and cubic over two axes, scales or sizes, several coordinate modes', async () => {
    const f32s = (name: string, v: number[]) => ({
      name,
      t: { dtype: F, dims: [v.length], data: Float32Array.from(v) } as RTensor,
    });
    const i64 = (name: string, v: number[]) => ({
      name,
      t: { dtype: DataType.INT64, dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) } as RTensor,
    });
    const roi = f32s('roi', []);
    expect(
      await compare('Resize', [tensor(dt, [1, 2, 5, 7])], { mode: 'nearest' }, [roi, f32s('sc', [1, 1, 2, 0.6])]),
    ).toBe(0);
    for (const [mode, ctm] of [
      ['linear', 'half_pixel'],
      ['linear', 'align_corners'],
      ['linear', 'asymmetric'],
      ['cubic', 'pytorch_half_pixel'],
    ]) {
      expect(
        await compare('Resize', [tensor(dt, [2, 3, 6, 5])], { mode, coordinate_transformation_mode: ctm }, [
          roi,
          f32s('sc', [1, 1, 1.5, 2.4]),
        ]),
        `${mode} ${ctm}`,
      ).toBeLessThan(bound(dt) * 2);
    }
    expect(
      await compare('Resize', [tensor(dt, [1, 1, 9, 4])], { mode: 'linear' }, [
        roi,
        f32s('sc', []),
        i64('sizes', [1, 1, 4, 11]),
      ]),
    ).toBeLessThan(bound(dt) * 2);
  });
  it('LSTM and GRU (forward, reverse, bidirectional; bias, initial states, linear_before_reset) and 1-D Conv', async () => {
    const [T, Bn, In, Hn] = [5, 2, 3, 70]; // 70 hidden units: two per invocation for some
    for (const direction of ['forward', 'reverse', 'bidirectional']) {
      const D = direction === 'bidirectional' ? 2 : 1;
      const ins = [
        tensor(dt, [T, Bn, In]),
        tensor(dt, [D, 4 * Hn, In], 0.4),
        tensor(dt, [D, 4 * Hn, Hn], 0.1),
        tensor(dt, [D, 8 * Hn], 0.2),
      ];
      expect(await compare('LSTM', ins, { hidden_size: Hn, direction }), direction).toBeLessThan(
        dt === H ? 4e-3 : 1e-5,
      );
    }
    for (const [direction, lbr] of [
      ['forward', 0],
      ['reverse', 1],
      ['bidirectional', 0],
      ['bidirectional', 1],
    ] as const) {
      const D = direction === 'bidirectional' ? 2 : 1;
      const ins = [
        tensor(dt, [T, Bn, In]),
        tensor(dt, [D, 3 * Hn, In], 0.4),
        tensor(dt, [D, 3 * Hn, Hn], 0.1),
        tensor(dt, [D, 6 * Hn], 0.2),
      ];
      expect(
        await compare('GRU', ins, { hidden_size: Hn, direction, linear_before_reset: lbr }),
        `GRU ${direction} ${lbr}`,
      ).toBeLessThan(dt === H ? 4e-3 : 1e-5);
    }
    const states = [tensor(dt, [1, Bn, Hn]), tensor(dt, [1, Bn, Hn])];
    const b = new ModelBuilder({ opset: 17 });
    const names = ['x', 'w', 'r', 'bias'].map((k, i) =>
      b.input(
        k,
        dt,
        [
          [T, Bn, In],
          [1, 4 * Hn, In],
          [1, 4 * Hn, Hn],
          [1, 8 * Hn],
        ][i],
      ),
    );
    const [h0, c0] = [b.input('h0', dt, [1, Bn, Hn]), b.input('c0', dt, [1, Bn, Hn])];
    b.node('LSTM', [...names, '', h0, c0], { hidden_size: Hn }, { outputs: ['', 'yh', 'yc'] }); // no sequence_lens, no Y
    b.output('yh');
    b.output('yc');
    const m = b.build();
    const feeds = {
      x: tensor(dt, [T, Bn, In]),
      w: tensor(dt, [1, 4 * Hn, In], 0.4),
      r: tensor(dt, [1, 4 * Hn, Hn], 0.1),
      bias: tensor(dt, [1, 8 * Hn], 0.2),
      h0: states[0],
      c0: states[1],
    };
    const want = new CpuExecutor(m).runSync(feeds),
      ex = await WebGpuExecutor.create(m),
      got = await ex.run(feeds);
    expect(ex.gpuNodes.LSTM).toBe(1);
    for (const k of ['yh', 'yc'])
      expect(agreement(toFloat32(got[k]), toFloat32(want[k])).maxScaled, k).toBeLessThan(dt === H ? 4e-3 : 1e-5);
    expect(
      await compare('Conv', [tensor(dt, [2, 4, 19]), tensor(dt, [6, 2, 3]), tensor(dt, [6])], {
        group: 2,
        strides: [2],
        pads: [1, 2],
        dilations: [2],
      }),
    ).toBeLessThan(bound(dt));
    expect(await compare('Conv', [tensor(dt, [1, 8, 40]), tensor(dt, [32, 8, 5])], { pads: [2, 2] })).toBeLessThan(
      bound(dt),
    ); // the implicit-GEMM form
  });
  it('Conv 2-D (groups, strides, pads, dilations, bias) and pools', async () => {
    expect(
      await compare('Conv', [tensor(dt, [2, 4, 11, 9]), tensor(dt, [6, 2, 3, 3]), tensor(dt, [6])], {
        group: 2,
        strides: [2, 1],
        pads: [1, 2, 1, 0],
        dilations: [1, 2],
      }),
    ).toBeLessThan(bound(dt));
    expect(
      await compare('Conv', [tensor(dt, [1, 3, 10, 10]), tensor(dt, [5, 3, 3, 3])], { auto_pad: 'SAME_UPPER' }),
    ).toBeLessThan(bound(dt));
    // The implicit-GEMM form (no groups, ≥ 32 output channels, ≥ 64 pixels): edges of the 64×64 tiles, dilation, stride, bias.
    expect(
      await compare('Conv', [tensor(dt, [2, 6, 20, 18]), tensor(dt, [48, 6, 3, 3]), tensor(dt, [48])], {
        pads: [1, 1, 1, 1],
        strides: [1, 2],
        dilations: [2, 1],
      }),
    ).toBeLessThan(bound(dt));
    expect(await compare('Conv', [tensor(dt, [1, 70, 9, 9]), tensor(dt, [65, 70, 1, 1])], {})).toBeLessThan(bound(dt));
    expect(
      await compare('MaxPool', [tensor(dt, [2, 3, 9, 7])], {
        kernel_shape: [3, 2],
        strides: [2, 2],
        pads: [1, 0, 1, 1],
      }),
    ).toBe(0);
    expect(
      await compare('AveragePool', [tensor(dt, [2, 3, 9, 7])], {
        kernel_shape: [3, 3],
        strides: [2, 2],
        pads: [1, 1, 1, 1],
        count_include_pad: 1,
      }),
    ).toBeLessThan(bound(dt));
    expect(await compare('GlobalAveragePool', [tensor(dt, [2, 5, 6, 7])])).toBeLessThan(bound(dt));
  });
});

describe.each([F, H])('booleans on the GPU (dtype %i)', (dt) => {
  it('comparisons, logic, IsInf/IsNaN on the stored bits, Where, Cast to and from bool: bit-equal to the CPU', async () => {
    const special = [0, -0, 1, -2.5, Infinity, -Infinity, NaN, 65504, 1e-7, -3];
    const sp: RTensor =
      dt === H
        ? { dtype: H, dims: [2, 5], data: f32ArrayToF16(Float32Array.from(special)) }
        : { dtype: F, dims: [2, 5], data: Float32Array.from(special) };
    const bool = (dims: number[], v: number[]): RTensor => ({ dtype: DataType.BOOL, dims, data: Uint8Array.from(v) });
    for (const op of ['Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Equal'])
      expect(await compare(op, [tensor(dt, [3, 1, 4]), tensor(dt, [2, 4])]), op).toBe(0);
    expect(await compare('Equal', [sp, sp])).toBe(0); // NaN ≠ NaN, −0 = 0
    for (const op of ['And', 'Or', 'Xor', 'Equal'])
      expect(await compare(op, [bool([2, 3], [1, 0, 1, 1, 0, 0]), bool([3], [1, 1, 0])]), op).toBe(0);
    expect(await compare('Not', [bool([5], [1, 0, 0, 1, 1])])).toBe(0);
    expect(await compare('IsNaN', [sp])).toBe(0);
    for (const [detect_positive, detect_negative] of [
      [1, 1],
      [1, 0],
      [0, 1],
    ])
      expect(await compare('IsInf', [sp], { detect_positive, detect_negative })).toBe(0);
    expect(await compare('Where', [bool([2, 1], [1, 0]), tensor(dt, [2, 3]), tensor(dt, [3])])).toBe(0);
    expect(await compare('Cast', [sp], { to: DataType.BOOL })).toBe(0);
    expect(await compare('Cast', [bool([2, 2], [1, 0, 0, 1])], { to: dt })).toBe(0);
    expect(await compare('Cast', [bool([3], [0, 1, 1])], { to: DataType.BOOL })).toBe(0);
  });
});

describe.each([F, H])('fused elementwise chains (dtype %i)', (dt) => {
  it('run as one kernel with results bit-equal to the unfused kernels (fp16 rounding per op kept); an intermediate asked for is still there', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', dt, [3, 5]),
      y = b.input('y', dt, [1, 5]),
      s = b.input('s', dt, [1]);
    const [m] = b.node('Mul', [x, s]);
    const [sg] = b.node('Sigmoid', [m]);
    const [c] = b.node('Greater', [
      sg,
      b.init('half', dt, [], dt === H ? f32ArrayToF16(Float32Array.from([0.5])) : Float32Array.from([0.5])),
    ]);
    const [ng] = b.node('Neg', [m]);
    const [w] = b.node('Where', [c, m, ng]);
    const [up] = b.node('Cast', [w], { to: dt === H ? F : H });
    const [back] = b.node('Cast', [up], { to: dt });
    const [e] = b.node('Exp', [back]);
    const [bad] = b.node('Or', [b.node('IsNaN', [e])[0], b.node('IsInf', [e])[0]]);
    b.node('Cast', [bad], { to: dt }, { outputs: ['flags'] });
    b.node('Add', [e, y], {}, { outputs: ['z'] }); // y broadcasts over rows: not fused, e is a group output
    b.node('Identity', [sg], {}, { outputs: ['side'] }); // a value inside read outside: another output
    // A reduction over rows ends a group: the squares are summed as they are computed, never stored.
    const x2 = b.input('x2', dt, [40, 30]);
    b.node(
      'ReduceSum',
      [b.node('Mul', [x2, x2])[0], b.init('last', DataType.INT64, [1], BigInt64Array.from([-1n]))],
      { keepdims: 1 },
      { outputs: ['sq'] },
    );
    for (const o of ['flags', 'z', 'side', 'sq']) b.output(o);
    const model = b.build();
    const feeds = { x: tensor(dt, [3, 5], 2), y: tensor(dt, [1, 5]), s: tensor(dt, [1], 1), x2: tensor(dt, [40, 30]) }; // Exp stays within fp16
    const want = await (await WebGpuExecutor.create(model, { fuse: false })).run(feeds);
    for (const forms of ['gpu', 'software'] as const) {
      const ex = await WebGpuExecutor.create(model, { forms });
      const got = await ex.run(feeds);
      expect(ex.fusedGroups).toBe(2);
      for (const k of ['flags', 'z', 'side'])
        expect(Array.from(got[k].data as Uint16Array), k).toEqual(Array.from(want[k].data as Uint16Array));
      expect(got.sq.dims).toEqual([40, 1]);
      expect(agreement(toFloat32(got.sq), toFloat32(want.sq)).maxScaled).toBeLessThan(bound(dt)); // another summation order
      // Asking for a value inside the group runs its nodes one by one: same results, the value is there.
      const again = await ex.run(feeds, { outputs: ['z', w] });
      expect(ex.fusedGroups).toBe(1); // the reduction's group still fused
      expect(Array.from(again.z.data as Uint16Array)).toEqual(Array.from(want.z.data as Uint16Array));
      expect(again[w].dims).toEqual([3, 5]);
    }
    const ref = new CpuExecutor(model).runSync(feeds);
    for (const k of Object.keys(ref))
      expect(agreement(toFloat32(want[k]), toFloat32(ref[k])).maxScaled, k).toBeLessThan(bound(dt) * 4);
  });
});

describe.each([F, H])('MaxPool indices and ScatterElements on the GPU (dtype %i)', (dt) => {
  it('routes values back through overlapping MaxPool windows with an atomic scatter-add, as the CPU does', async () => {
    // The MaxPool gradient's pattern, with windows that overlap (kernel 3, stride 1): positions repeat.
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', dt, [2, 3, 7, 6]);
    const [y, idx] = b.node(
      'MaxPool',
      [x],
      { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] },
      { outputs: 2 },
    );
    const flat = (v: string) =>
      b.node('Reshape', [v, b.init(`${v}_shape`, DataType.INT64, [1], BigInt64Array.from([-1n]))])[0];
    const [zeros] = b.node('Mul', [
      flat(x),
      b.init('zero', dt, [], (dt === H ? Uint16Array.from([0]) : Float32Array.from([0])) as never),
    ]);
    b.node('ScatterElements', [zeros, flat(idx), flat(y)], { axis: 0, reduction: 'add' }, { outputs: ['g'] });
    b.node('ScatterElements', [zeros, flat(idx), flat(y)], { axis: 0 }, { outputs: ['s'] });
    b.output('g');
    b.output('s');
    b.output(idx);
    const m = b.build(),
      feeds = { x: tensor(dt, [2, 3, 7, 6]) };
    const want = new CpuExecutor(m).runSync(feeds);
    for (const forms of ['gpu', 'software'] as const) {
      const ex = await WebGpuExecutor.create(m, { forms });
      const got = await ex.run(feeds);
      expect(ex.gpuNodes).toMatchObject({ MaxPool: 1, ScatterElements: 2 });
      expect(ex.crossings).toBe(0);
      expect(Array.from(got[idx].data as BigInt64Array)).toEqual(Array.from(want[idx].data as BigInt64Array));
      expect(agreement(toFloat32(got.g), toFloat32(want.g)).maxScaled).toBeLessThan(dt === H ? 5e-3 : 1e-6);
      expect(agreement(toFloat32(got.s), toFloat32(want.s)).maxScaled).toBe(0); // repeated positions carry equal values (the same max)
      ex.dispose();
    }
  }, 60_000);
});

describe('WebGPU executor', () => {
  it('passes the shared node tests of the ops it implements (fallback to the CPU for declined attribute forms)', async () => {
    const implemented = new Set([...Object.keys(gpuKernels), ...VIEW_OPS, 'If', 'Loop']);
    let passed = 0,
      onGpu = 0;
    const failed: string[] = [];
    for (const name of nodeTestNames()) {
      const c = RANDOM_NODE_TESTS.test(name) ? undefined : loadNodeCase(name);
      if (!c) continue;
      const m = c.model();
      const ops = [...m.graph.allNodes()].map((n) => n.opType);
      if (!ops.length || !ops.every((o) => implemented.has(o))) continue;
      const ok = (t: RTensor) =>
        t.dtype === F || t.dtype === H || t.dtype === DataType.INT64 || t.dtype === DataType.BOOL;
      if (!Object.values(c.inputs).every(ok) || !Object.values(c.outputs).every(ok)) continue;
      const ex = await WebGpuExecutor.create(m);
      const out = await ex.run(c.inputs);
      if (Object.keys(ex.gpuNodes).length) onGpu++;
      const bad = Object.entries(c.outputs).filter(([k, e]) => {
        const a = toFloat32(out[k]),
          b = toFloat32(e);
        return (
          a.length !== b.length ||
          b.some(
            (v, i) =>
              a[i] !== v &&
              !(Math.abs(a[i] - v) <= 1e-5 + 1e-3 * Math.abs(v)) &&
              !(Number.isNaN(v) && Number.isNaN(a[i])),
          )
        );
      });
      if (bad.length) failed.push(name);
      else passed++;
    }
    console.log(`WebGPU: ${passed} node tests passed (${onGpu} with at least one GPU kernel)`);
    expect(failed).toEqual([]);
    expect(onGpu).toBeGreaterThan(80);
  }, 120_000);

  // (bad_deep_cnn and bad_overflow are built to overflow a blind fp16 conversion: Inf on both sides.)
  it.each([
    'mlp',
    'cnn',
    'transformer_block',
    'hello_deepa',
    'lrn_cnn',
    'bad_bn_stats',
    'bad_near_zero',
    'bad_variance',
  ])('fixture %s (fp32 and converted fp16) agrees with the CPU reference, with no crossing', async (name) => {
    for (const f16 of [false, true]) {
      const m = f16 ? convertSync(fixtureModelPath(name)).model : loadModel(fixtureModelPath(name));
      let feeds = fixtureInputs(name);
      if (f16)
        feeds = Object.fromEntries(
          Object.entries(feeds).map(([k, t]) => [
            k,
            t.dtype === F ? { dtype: H, dims: t.dims, data: f32ArrayToF16(t.data as Float32Array) } : t,
          ]),
        );
      const ref = new CpuExecutor(m).runSync(feeds);
      const ex = await WebGpuExecutor.create(m);
      const got = await ex.run(feeds);
      expect(Object.keys(ex.gpuNodes).length).toBeGreaterThan(0);
      expect(ex.crossings, `${name} ${JSON.stringify(ex.cpuNodes)}`).toBe(0);
      for (const k of Object.keys(ref)) {
        const a = agreement(toFloat32(got[k]), toFloat32(ref[k]));
        expect(a.maxScaled, `${name} ${f16 ? 'fp16' : 'fp32'} ${k}`).toBeLessThan(f16 ? 5e-3 : 1e-5);
      }
    }
  });

  it('runs models with If/Loop on the GPU (branches and bodies as kernels; LSTM, 1-D Conv) with no crossing, fp32 and fp16, and agrees with the CPU', async () => {
    for (const name of ['if_loop', 'silero_vad_v5', 'silero_vad_legacy'])
      for (const f16 of [false, true]) {
        const m = f16 ? convertSync(fixtureModelPath(name)).model : loadModel(fixtureModelPath(name));
        let feeds = fixtureInputs(name);
        if (f16)
          feeds = Object.fromEntries(
            Object.entries(feeds).map(([k, t]) => [
              k,
              m.graph.values.get(k)?.type?.elemType === H
                ? { dtype: H, dims: t.dims, data: f32ArrayToF16(t.data as Float32Array) }
                : t,
            ]),
          );
        const ref = new CpuExecutor(m).runSync(feeds);
        const ex = await WebGpuExecutor.create(m);
        const got = await ex.run(feeds);
        expect(ex.crossings, `${name} ${JSON.stringify(ex.cpuNodes)}`).toBe(0);
        expect(ex.gpuNodes.If ?? ex.gpuNodes.Loop, `${name}: control flow on the GPU`).toBeGreaterThan(0);
        if (name !== 'if_loop') expect(ex.gpuNodes.LSTM).toBeGreaterThan(0);
        for (const k of Object.keys(ref))
          expect(
            agreement(toFloat32(got[k]), toFloat32(ref[k])).maxScaled,
            `${name} ${f16 ? 'fp16' : 'fp32'} ${k}`,
          ).toBeLessThan(f16 ? 5e-3 : 1e-5);
      }
  });

  it('trains on WebGPU: AMP with loss scaling matches fp32 on digits (catches upload/command ordering bugs)', async () => {
    const { trainCheck } = await import('../src/tools/train-check.js');
    const r = await trainCheck({ data: 'digits', epochs: 2, seeds: [1], backend: 'webgpu' });
    expect(r.backend).toBe('webgpu');
    const [fp32, amp] = r.modes;
    expect(fp32.accMean).toBeGreaterThan(0.9);
    expect(Math.abs(fp32.accMean - amp.accMean)).toBeLessThan(0.02);
    expect(Number.isFinite(amp.finalLoss)).toBe(true);
    // The whole step — optimizer and loss-scaler checks included — stays on the GPU, and the report says so.
    expect(r.modes.map((m) => m.crossings)).toEqual([0, 0, 0, 0]);
    const { formatTrainCheck } = await import('../src/tools/train-check.js');
    expect(formatTrainCheck(r)).toMatch(/crossings per training step \(at most\): fp32 0, AMP \+ loss scaling 0/);
  }, 60_000);

  it('CLI: --backend webgpu prints the adapter; auto takes the CPU over a software adapter unless one is named; a missing adapter is a clear error', () => {
    const r = cli([
      'run',
      fixtureModelPath('cnn'),
      '--inputs',
      fixturePath('inputs', 'cnn'),
      '--backend',
      'webgpu',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(j.backend).toBe('webgpu');
    expect(j.note).toMatch(/webgpu adapter: .*shader-f16/);
    expect(j.adapter.features).toContain('shader-f16');
    expect(cli(['--verbose', 'run', fixtureModelPath('mlp'), '--random', '--backend', 'webgpu']).stdout).toMatch(
      /adapter features: .*shader-f16/,
    );
    const c = JSON.parse(
      cli(['run', fixtureModelPath('cnn'), '--inputs', fixturePath('inputs', 'cnn'), '--json']).stdout,
    );
    const a = agreement(Float32Array.from(j.outputs[0].values), Float32Array.from(c.outputs[0].values));
    expect(a.maxScaled).toBeLessThan(1e-5);
    // auto: here the only adapter is lavapipe, a software rasterizer, so the (faster) CPU executor — unless named.
    expect(
      cli(['run', fixtureModelPath('if_loop'), '--inputs', fixturePath('inputs', 'if_loop'), '--backend', 'auto'])
        .stdout,
    ).toMatch(/backend auto: using cpu \(the only WebGPU adapter, '.*(llvmpipe|lavapipe).*', is a software rasterizer/);
    expect(
      cli([
        'run',
        fixtureModelPath('if_loop'),
        '--inputs',
        fixturePath('inputs', 'if_loop'),
        '--backend',
        'auto',
        '--adapter',
        'llvmpipe',
      ]).stdout,
    ).toMatch(/backend auto: using webgpu; webgpu adapter/);
    const bad = cli(['run', fixtureModelPath('mlp'), '--random', '--backend', 'webgpu', '--adapter', 'no-such-gpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no WebGPU adapter named 'no-such-gpu'.*mesa-vulkan-drivers/);
  });
});

afterAll(() => {
  /* the device is shared per process and released when the worker exits */
});

describe('Loop scan outputs on the GPU', () => {
  it('stacks a float scan output per iteration on the device (no crossing); an integer one falls back to the CPU reference; both agree with it', async () => {
    const { GraphBuilder } = await import('../src/onnx/builder.js');
    for (const [dt, scanInt] of [
      [F, false],
      [H, false],
      [F, true],
    ] as const) {
      const b = new ModelBuilder({ opset: 17 });
      const x = b.input('x', dt, [3]);
      const body = new GraphBuilder('body', b.graph);
      body.input('i', DataType.INT64, []);
      body.input('cin', DataType.BOOL, []);
      const acc = body.input('acc', dt, [3]);
      const [a2] = body.node('Add', [acc, x], {}, { name: 'body.add' });
      const [sc] = body.node('Mul', [a2, a2], {}, { name: 'body.mul' });
      const scan = scanInt ? body.node('Cast', [sc], { to: DataType.INT32 }, { name: 'body.cast' })[0] : sc;
      body.node('Identity', ['cin'], {}, { name: 'body.cond', outputs: ['cout'] });
      body.output('cout', DataType.BOOL, []);
      body.output(a2, dt, [3]);
      body.output(scan, scanInt ? DataType.INT32 : dt, [3]);
      b.node(
        'Loop',
        [
          b.init('trip', DataType.INT64, [], BigInt64Array.from([4n])),
          b.init('yes', DataType.BOOL, [], Uint8Array.from([1])),
          x,
        ],
        { body: body.graph },
        { name: 'loop', outputs: ['y', 'ys'] },
      );
      b.output('y', dt, [3]);
      b.output('ys', scanInt ? DataType.INT32 : dt, [4, 3]);
      const m = b.build();
      const feeds = { x: tensor(dt, [3]) };
      const want = new CpuExecutor(m).runSync(feeds);
      const ex = await WebGpuExecutor.create(m);
      const got = await ex.run(feeds);
      expect(got.ys.dims).toEqual([4, 3]);
      for (const k of ['y', 'ys'])
        expect(agreement(toFloat32(got[k]), toFloat32(want[k])).maxScaled, `${dt} ${scanInt} ${k}`).toBeLessThan(
          dt === H ? 5e-3 : 1e-6,
        );
      if (scanInt) expect(ex.cpuNodes.Loop).toBe(1);
      else {
        expect(ex.gpuNodes.Loop).toBe(1);
        expect(ex.crossings).toBe(0);
      }
    }
  });
});

describe('bf16 on the GPU (f32 buffers, every store rounded to bf16)', () => {
  it.each(['mlp', 'cnn', 'transformer_block', 'lrn_cnn'])(
    'fixture %s converted with --bf16 runs with no crossing and agrees with the CPU reference',
    async (name) => {
      const { f32ArrayToBf16 } = await import('../src/core/half.js');
      const m = convertSync(fixtureModelPath(name), { target: 'bf16' }).model;
      const feeds = Object.fromEntries(
        Object.entries(fixtureInputs(name)).map(([k, t]) => [
          k,
          m.graph.values.get(k)?.type?.elemType === DataType.BFLOAT16
            ? { dtype: DataType.BFLOAT16, dims: t.dims, data: f32ArrayToBf16(t.data as Float32Array) }
            : t,
        ]),
      );
      const ref = new CpuExecutor(m).runSync(feeds);
      const ex = await WebGpuExecutor.create(m);
      const got = await ex.run(feeds);
      expect(ex.crossings, JSON.stringify(ex.cpuNodes)).toBe(0);
      // Nodes computing in bf16 ran as kernels (the converted model has them: else this test would prove nothing).
      const bfNodes = m.graph.nodes.filter(
        (n) => n.opType !== 'Cast' && m.graph.values.get(n.outputs[0])?.type?.elemType === DataType.BFLOAT16,
      ).length;
      expect(bfNodes).toBeGreaterThan(0);
      if (name !== 'cnn') expect(ex.cpuNodes).toEqual({}); // the CNN's Shape arithmetic runs on dims alone
      for (const k of Object.keys(ref)) {
        expect(got[k].dtype).toBe(ref[k].dtype);
        // bf16 keeps 8 bits: one rounding of an f32-accumulated result differs by at most 2^-8 relative, plus order.
        expect(agreement(toFloat32(got[k]), toFloat32(ref[k])).maxScaled, `${name} ${k}`).toBeLessThan(2e-2);
      }
    },
  );
});

describe('fp16 without shader-f16', () => {
  it.each(['mlp', 'cnn', 'transformer_block'])(
    'fixture %s converted to fp16 runs with emulated fp16 storage (f32 buffers, rounded per store) like native f16',
    async (name) => {
      const m = convertSync(fixtureModelPath(name)).model;
      const feeds = Object.fromEntries(
        Object.entries(fixtureInputs(name)).map(([k, t]) => [
          k,
          t.dtype === F ? { dtype: H, dims: t.dims, data: f32ArrayToF16(t.data as Float32Array) } : t,
        ]),
      );
      const ref = new CpuExecutor(m).runSync(feeds);
      const emu = await WebGpuExecutor.create(m, { emulateHalf: true }),
        native = await WebGpuExecutor.create(m);
      expect(emu.note).toMatch(/emulated/);
      const a = await emu.run(feeds),
        b = await native.run(feeds);
      expect(Object.keys(emu.gpuNodes).length).toBeGreaterThan(0);
      expect(emu.cpuNodes).toEqual(native.cpuNodes); // the same placement as with shader-f16
      for (const k of Object.keys(ref)) {
        expect(a[k].dtype).toBe(ref[k].dtype);
        expect(agreement(toFloat32(a[k]), toFloat32(ref[k])).maxScaled, `${name} ${k} vs CPU`).toBeLessThan(5e-3);
        expect(agreement(toFloat32(a[k]), toFloat32(b[k])).maxScaled, `${name} ${k} vs native f16`).toBeLessThan(1e-3);
      }
      emu.dispose();
      native.dispose();
    },
    120_000,
  );
});

describe('training on the GPU', () => {
  it('the MLP and CNN training graphs (fp32 and AMP; BatchNormalization in training mode too) run without crossings, and agree with the CPU reference', async () => {
    const { buildTrainingGraph } = await import('../src/tools/trainer.js');
    const { lowerForAmp } = await import('../src/tools/train-check.js');
    for (const [name, bnTraining] of [
      ['mlp', false],
      ['cnn', false],
      ['cnn', true],
    ] as const) {
      const tg = buildTrainingGraph(loadModel(fixtureModelPath(name)), { bnTraining });
      for (const m of [tg.model, lowerForAmp(tg.model)]) {
        const ex = await WebGpuExecutor.create(m);
        const feeds: Record<string, RTensor> = {};
        // Random values (the MaxPool gradient routes through its Indices: ties in zeros would hide a wrong index).
        for (const i of m.graph.inputs) {
          const t = m.graph.values.get(i)!.type!;
          feeds[i] = tensor(
            t.elemType,
            (t.shape ?? []).map((d) => (typeof d === 'number' ? d : 4)),
          );
        }
        const got = await ex.run(feeds);
        // The MLP's nodes all have kernels; the CNN's shape arithmetic (Shape → Slice → ReduceProd → Cast) runs on the CPU on dims alone.
        if (name === 'mlp') expect(ex.cpuNodes).toEqual({});
        expect(ex.gpuNodes.ScatterElements ?? 0).toBe(name === 'cnn' ? 1 : 0);
        if (bnTraining) expect(ex.gpuNodes.BatchNormalization).toBeGreaterThan(0); // training mode, batch statistics
        expect(ex.crossings, `${name} ${JSON.stringify(ex.cpuNodes)}`).toBe(0);
        const want = new CpuExecutor(m).runSync(feeds);
        const low = m.graph.values.get(m.graph.outputs[0])?.type?.elemType === H || m !== tg.model;
        // Scaled by the largest value of the output, or of all gradients when an output is ~0 (a bias before a
        // training-mode BatchNormalization has a zero gradient: float64 vs f32 rounding noise only).
        const scale = Math.max(...m.graph.outputs.map((o) => Math.max(...Array.from(toFloat32(want[o]), Math.abs))));
        for (const o of m.graph.outputs) {
          const a = agreement(toFloat32(got[o]), toFloat32(want[o]));
          const ref = Math.max(...Array.from(toFloat32(want[o]), Math.abs));
          expect(a.maxAbs / (ref < 1e-3 * scale ? scale : ref), `${name} ${o}`).toBeLessThan(low ? 5e-3 : 1e-5);
        }
        ex.dispose();
      }
    }
  }, 120_000);
});

describe('the whole training step on the GPU', () => {
  it('forward, backward, unscale + inf/NaN check, the scale update, SGD and Adam: no crossing and nothing read back, state on the device, agrees with the CPU; a non-finite step changes nothing but the scale', async () => {
    const { buildTrainingGraph } = await import('../src/tools/trainer.js');
    const { appendOptimizerStep } = await import('../passes/training/step-graph.js');
    const { lowerForAmp } = await import('../src/tools/train-check.js');
    for (const [name, bnTraining, optimizer] of [
      ['mlp', false, 'adam'],
      ['cnn', true, 'sgd'],
    ] as const) {
      const tg = buildTrainingGraph(loadModel(fixtureModelPath(name)), { bnTraining });
      const step = appendOptimizerStep(tg, {
        optimizer,
        lr: 0.05,
        maxGradNorm: 1,
        batch: 4,
        history: 4,
        scaler: { enabled: true, initScale: 64, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2 },
      });
      for (const m of [step.model, lowerForAmp(step.model, 'fp16', step.keepFp32Io)]) {
        const low = m !== step.model;
        const [gpu, cpu] = [await WebGpuExecutor.create(m), new CpuExecutor(m)];
        const typeOf = (i: string) => m.graph.values.get(i)!.type!;
        const first: Record<string, RTensor> = {};
        for (const i of m.graph.inputs) {
          const t = typeOf(i);
          first[i] = tensor(
            t.elemType,
            (t.shape ?? []).map((d) => (typeof d === 'number' ? d : 4)),
            0.5,
          );
        }
        Object.assign(first, step.initialState());
        if (low) for (const w of tg.weights) expect(typeOf(w).elemType, `${w}: master weight`).toBe(F);
        const x = m.graph.inputs[0];
        let before: RTensor | undefined;
        for (let s = 0; s < 3; s++) {
          const fd = s === 0 ? { ...first } : { [x]: first[x], labels: first.labels, loss_coef: first.loss_coef };
          Object.assign(fd, step.stepFeed(s));
          if (s === 2) {
            const bad = { ...fd[x], data: (fd[x].data as Float32Array | Uint16Array).slice() };
            bad.data[0] = typeOf(x).elemType === H ? 0x7c00 : Infinity;
            fd[x] = bad as RTensor;
          }
          const opts = { outputs: [], carry: step.carry };
          await gpu.run(fd, opts);
          await cpu.run(fd, opts);
          expect(gpu.crossings, `${name} ${JSON.stringify(gpu.cpuNodes)}`).toBe(0);
          const w = tg.weights[0],
            gw = await gpu.readCarried(w),
            cw = await cpu.readCarried(w);
          // Adam's first steps move a weight by ±lr whatever its gradient's size, so a near-zero gradient's last
          // bit can flip it: its first moment (linear in the gradient) is compared instead; SGD's weights directly.
          const [gq, cq] =
            optimizer === 'adam'
              ? [await gpu.readCarried(`opt/m/${w}`), await cpu.readCarried(`opt/m/${w}`)]
              : [gw, cw];
          // (From the second step on, Adam's moments see gradients of weights that already differ that way: 1e-4.)
          expect(
            agreement(toFloat32(gq), toFloat32(cq)).maxScaled,
            `${name} ${low ? 'AMP' : 'fp32'} step ${s}`,
          ).toBeLessThan(low ? 5e-3 : optimizer === 'adam' && s > 0 ? 1e-4 : 1e-5);
          if (s === 2) expect(Array.from(toFloat32(gw))).toEqual(Array.from(toFloat32(before!))); // skipped: unchanged
          before = gw;
        }
        // The scaler on the device: 64 → 128 after two clean steps → 64 after the non-finite one; flags 1, 1, 0.
        for (const ex of [gpu, cpu]) {
          expect(toFloat32(await ex.readCarried(step.scale))[0]).toBe(64);
          expect(Array.from(toFloat32(await ex.readCarried(step.history.finite))).slice(0, 3)).toEqual([1, 1, 0]);
        }
        gpu.dispose();
      }
    }
  }, 120_000);
});

describe('large tensors', () => {
  it('uploads weights that live in shared memory (Tensor.share): f32, and fp16 of an odd byte length', async () => {
    const K = 1031;
    for (const [dtype, N] of [
      [F, 257], // 1 059 868 bytes
      [DataType.FLOAT16, 513], // 1 060 806 bytes: not a whole number of words
    ]) {
      const vals = Float32Array.from({ length: K * N }, (_, i) => Math.sin(i) * 0.05);
      const b = new ModelBuilder({ opset: 17 });
      const w = dtype === F ? vals : f32ArrayToF16(vals);
      b.node('MatMul', [b.input('x', dtype, [3, K]), b.init('w', dtype, [K, N], w)], {}, { outputs: ['y'] });
      b.output('y', dtype, [3, N]);
      const m = b.build();
      const t = m.graph.initializers.get('w')!;
      t.share();
      expect(t.raw().buffer).toBeInstanceOf(SharedArrayBuffer);
      const x = Float32Array.from({ length: 3 * K }, (_, i) => Math.cos(i));
      const feeds = { x: { dtype, dims: [3, K], data: dtype === F ? x : f32ArrayToF16(x) } };
      const gpu = await WebGpuExecutor.create(m);
      const got = await gpu.run(feeds);
      gpu.dispose();
      const want = new CpuExecutor(m).runSync(feeds);
      expect(agreement(toFloat32(got.y), toFloat32(want.y)).maxScaled).toBeLessThan(5e-3);
    }
  });
  it("requests the adapter's binding limit; a weight beyond it is split into column blocks of the product, on the GPU", async () => {
    const { run } = await import('../src/tools/run.js');
    const K = 8224,
      N = 4096; // 134.7 MB of f32 weights: beyond a 128 MiB binding
    const wdata = Float32Array.from({ length: K * N }, (_, i) => ((i * 2654435761) % 1000) / 1e6 - 5e-4);
    const models = {
      matmul: () => {
        const b = new ModelBuilder({ opset: 17 });
        const [h] = b.node('MatMul', [b.input('x', F, [2, K]), b.init('w', F, [K, N], wdata)]);
        b.node('Relu', [h], {}, { outputs: ['y'] });
        b.output('y', F, [2, N]);
        return b.build();
      },
      // Gemm with a transposed weight (B stored [N, K], as exporters write fully connected layers) and a bias.
      gemm: () => {
        const b = new ModelBuilder({ opset: 17 });
        b.node(
          'Gemm',
          [
            b.input('x', F, [2, K]),
            b.init('w', F, [N, K], wdata),
            b.init(
              'c',
              F,
              [N],
              Float32Array.from({ length: N }, (_, i) => i / N),
            ),
          ],
          { transB: 1 },
          { outputs: ['y'] },
        );
        b.output('y', F, [2, N]);
        return b.build();
      },
    };
    const feeds = { x: tensor(F, [2, K]) };
    for (const [name, make] of Object.entries(models)) {
      const m = make();
      const gpu = await WebGpuExecutor.create(m);
      expect(gpu.ctx.maxBinding).toBeGreaterThanOrEqual(128 * 2 ** 20);
      const op = name === 'gemm' ? 'Gemm' : 'MatMul';
      for (let rep = 0; rep < 2; rep++) {
        // the second run reuses the uploaded blocks
        const got = await gpu.run(feeds);
        expect(gpu.cpuNodes, name).toEqual({});
        expect(gpu.gpuNodes[op]).toBe(1);
        const want = new CpuExecutor(m).runSync(feeds).y.data as Float32Array;
        expect(agreement(toFloat32(got.y), want).maxScaled, name).toBeLessThan(1e-5);
      }
      gpu.dispose();
      const r = await run(m, feeds, { backend: 'webgpu' });
      expect(r.crossings).toBe(0);
      expect(r.note).toMatch(/0 on the CPU/);
    }
  }, 180_000);
});
