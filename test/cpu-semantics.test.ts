/** The CPU executor's documented fp16/bf16 semantics, observability hook, single-node execution and liveness. */
import { describe, it, expect } from 'vitest';
import { CpuExecutor, executeNode } from '../runtime/cpu/executor.js';
import { ModelBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { f32ToF16Bits, f16BitsToF32, roundF16, f32ToBf16Bits, bf16BitsToF32 } from '../src/core/half.js';
import type { RTensor } from '../src/ir/rtensor.js';

const H = DataType.FLOAT16;
const half = (xs: number[]): RTensor => ({ dtype: H, dims: [xs.length], data: Uint16Array.from(xs, f32ToF16Bits) });
const vals = (t: RTensor) => Array.from(t.data as Uint16Array, f16BitsToF32);

function binaryModel(op: string, dtype: number, n: number) {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', dtype, [n]),
    y = b.input('y', dtype, [n]);
  b.node(op, [x, y], {}, { outputs: ['z'] });
  b.output('z', dtype, [n]);
  return b.build();
}

describe('fp16 semantics', () => {
  it('computes wide and rounds each output once to half (RNE), overflowing to Inf', () => {
    const ex = new CpuExecutor(binaryModel('Add', H, 4));
    const x = [1, 2048, 60000, 0.1],
      y = [2 ** -11, 1, 10000, 0.2];
    const z = vals(ex.runSync({ x: half(x), y: half(y) }).z);
    // Reference computed independently: exact sum of the half inputs, rounded once.
    const expected = x.map((a, i) => roundF16(roundF16(a) + roundF16(y[i])));
    expect(z).toEqual(expected);
    expect(z[0]).toBe(1); // 1 + 2^-11 is a tie → even (1.0)
    expect(z[1]).toBe(2048); // 2049 is not representable: tie → 2048
    expect(z[2]).toBe(Infinity);
  });

  it('fp16Accumulate shows accumulation error that fp32 accumulation does not have', () => {
    const K = 4096;
    const b = new ModelBuilder({ opset: 17 });
    const a = b.input('a', H, [1, K]);
    const w = b.input('w', H, [K, 1]);
    b.node('MatMul', [a, w], {}, { outputs: ['y'] });
    b.output('y', H, [1, 1]);
    const m = b.build();
    const ones = { dtype: H, dims: [1, K], data: new Uint16Array(K).fill(f32ToF16Bits(1)) };
    const w1 = { dtype: H, dims: [K, 1], data: new Uint16Array(K).fill(f32ToF16Bits(1)) };
    const wide = vals(new CpuExecutor(m).runSync({ a: ones, w: w1 }).y)[0];
    const narrow = vals(new CpuExecutor(m, { fp16Accumulate: true }).runSync({ a: ones, w: w1 }).y)[0];
    expect(wide).toBe(4096);
    // A half accumulator stops growing at 2048: 2048 + 1 rounds back to 2048.
    expect(narrow).toBe(2048);
  });

  it('bf16 tensors round to bf16 the same way', () => {
    const ex = new CpuExecutor(binaryModel('Mul', DataType.BFLOAT16, 2));
    const bf = (xs: number[]): RTensor => ({
      dtype: DataType.BFLOAT16,
      dims: [2],
      data: Uint16Array.from(xs, f32ToBf16Bits),
    });
    const z = ex.runSync({ x: bf([3, 1.5]), y: bf([1 / 3, 3e38]) }).z;
    const got = Array.from(z.data as Uint16Array, bf16BitsToF32);
    const exp = [
      bf16BitsToF32(f32ToBf16Bits(3 * bf16BitsToF32(f32ToBf16Bits(1 / 3)))),
      bf16BitsToF32(f32ToBf16Bits(1.5 * bf16BitsToF32(f32ToBf16Bits(3e38)))),
    ];
    expect(got).toEqual(exp);
  });
});

describe('observability and memory', () => {
  it('onValue sees every intermediate; any value can be requested as an output', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', DataType.FLOAT, [3]);
    const [r] = b.node('Relu', [x], {}, { outputs: ['r'] });
    const [e] = b.node('Neg', [r], {}, { outputs: ['n'] });
    b.node('Abs', [e], {}, { outputs: ['y'] });
    b.output('y', DataType.FLOAT, [3]);
    const ex = new CpuExecutor(b.build());
    const seen: string[] = [];
    const out = ex.runSync(
      { x: { dtype: 1, dims: [3], data: Float32Array.from([-1, 2, -3]) } },
      { onValue: (n) => seen.push(n), outputs: ['y', 'r'] },
    );
    expect(seen).toEqual(['x', 'r', 'n', 'y']);
    expect(Array.from(out.r.data as Float32Array)).toEqual([0, 2, 0]);
    expect(Array.from(out.y.data as Float32Array)).toEqual([0, 2, 0]);
  });

  it('frees each value after its last reader: live set stays near the largest two tensors in a long chain', () => {
    const b = new ModelBuilder({ opset: 17 });
    let x = b.input('x', DataType.FLOAT, [1 << 20]);
    for (let i = 0; i < 40; i++) [x] = b.node('Neg', [x]);
    b.output(x, DataType.FLOAT, [1 << 20]);
    const ex = new CpuExecutor(b.build());
    ex.runSync({ x: { dtype: 1, dims: [1 << 20], data: new Float32Array(1 << 20) } });
    // Without freeing, 41 tensors of 4 MiB would be live at the end; with liveness at most two at a time.
    expect(ex.peakLiveBytes).toBe(2 * 4 * 2 ** 20);
  });

  it('executeNode runs one node on given inputs', () => {
    const m = binaryModel('Sub', DataType.FLOAT, 2);
    const [z] = executeNode(m.graph.nodes[0], [
      { dtype: 1, dims: [2], data: Float32Array.from([5, 1]) },
      { dtype: 1, dims: [2], data: Float32Array.from([2, 3]) },
    ]);
    expect(Array.from(z.data as Float32Array)).toEqual([3, -2]);
  });
});

describe('constant folding', () => {
  it('nodes computed from constants alone run once per executor (kept for later runs, seen by onValue); random ops (Dropout among them) every run', async () => {
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    const { CpuExecutor } = await import('../runtime/cpu/executor.js');
    const { cpuKernels } = await import('../runtime/cpu/kernels/index.js');
    const { Tensor } = await import('../src/ir/tensor.js');
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 1, [2, 4]);
    // A weight made at run time: ConstantOfShape → Mul by a constant → the MatMul's B.
    const [w0] = b.node('ConstantOfShape', [b.init('shape', 7, [2], BigInt64Array.from([4n, 4n]))], {
      value: Tensor.fromArray('v', 1, [1], Float32Array.from([0.5])),
    });
    const [w] = b.node('Mul', [w0, b.init('k', 1, [], Float32Array.from([3]))]);
    const [y] = b.node('MatMul', [x, w]);
    const [n] = b.node('Dropout', [x]);
    b.node('Add', [y, n], {}, { outputs: ['z'] });
    b.output('z', 1, [2, 4]);
    const calls: Record<string, number> = {};
    const spied = ['ConstantOfShape', 'Mul', 'Dropout', 'MatMul'];
    const saved = spied.map((op) => cpuKernels[op]);
    spied.forEach((op, i) => {
      cpuKernels[op] = (...a) => {
        calls[op] = (calls[op] ?? 0) + 1;
        return saved[i](...a);
      };
    });
    try {
      const seen: string[] = [];
      const ex = new CpuExecutor(b.build());
      const feeds = { x: { dtype: 1, dims: [2, 4], data: new Float32Array(8).fill(1) } };
      const onValue = (name: string) => {
        seen.push(name);
      };
      const first = ex.runSync(feeds, { onValue }),
        second = ex.runSync(feeds, { onValue });
      expect(calls).toEqual({ ConstantOfShape: 1, Mul: 1, MatMul: 2, Dropout: 2 });
      expect(seen.filter((s) => s === w).length).toBe(2);
      expect(first.z.dims).toEqual(second.z.dims);
    } finally {
      spied.forEach((op, i) => {
        cpuKernels[op] = saved[i];
      });
    }
  });
});
