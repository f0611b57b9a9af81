/**
 * The CPU reference executor against the ONNX backend node tests (both sets) of every op it claims, within the
 * backend tolerances (|got − expected| ≤ 1e-7·max(1, max|expected|) + 1e-3·|expected|: float32 rounding noise
 * in the expected values grows with the output's scale, e.g. an inverse DFT's zeros; exact for integers, bools
 * and strings).
 */
import { describe, it, expect } from 'vitest';
import { nodeTestNames, RANDOM_NODE_TESTS } from './helpers/nodetests.js';
import { loadNodeCase } from './helpers/nodecase.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { claimedOps } from '../runtime/cpu/kernels/index.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';

function compare(got: RTensor | undefined, exp: RTensor): string {
  if (!got) return 'missing';
  if (got.dtype !== exp.dtype) return `dtype ${got.dtype} vs ${exp.dtype}`;
  if (JSON.stringify(got.dims) !== JSON.stringify(exp.dims)) return `dims [${got.dims}] vs [${exp.dims}]`;
  if (typeof exp.data[0] === 'string')
    return JSON.stringify(got.data) === JSON.stringify(exp.data) ? '' : 'strings differ';
  const a = toFloat32(got),
    b = toFloat32(exp);
  const atol = 1e-7 * Math.max(1, ...Array.from(b, (v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
  for (let i = 0; i < b.length; i++) {
    if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    if (!(Math.abs(a[i] - b[i]) <= atol + 1e-3 * Math.abs(b[i]))) return `[${i}] ${a[i]} vs ${b[i]}`;
  }
  return '';
}

describe('CPU executor on the shared node tests', () => {
  it('passes every node test whose ops it claims', () => {
    const claimed = new Set(claimedOps());
    const passed: string[] = [],
      failed: string[] = [],
      unclaimed: string[] = [];
    for (const name of nodeTestNames()) {
      if (RANDOM_NODE_TESTS.test(name)) continue;
      const c = loadNodeCase(name);
      if (!c) continue; // sequence / optional / 4-bit I/O the runtime tensor cannot hold
      const m = c.model();
      if ([...m.graph.allNodes()].some((n) => !claimed.has(n.key))) {
        unclaimed.push(name);
        continue;
      }
      try {
        const out = new CpuExecutor(m).runSync(c.inputs);
        const bad = Object.entries(c.outputs)
          .map(([k, e]) => [k, compare(out[k], e)])
          .filter(([, r]) => r);
        if (bad.length) failed.push(`${name}: ${bad.map(([k, r]) => `${k} ${r}`).join('; ')}`);
        else passed.push(name);
      } catch (e) {
        failed.push(`${name}: threw ${(e as Error).message}`);
      }
    }
    console.log(`claimed ops (${claimed.size}): ${[...claimed].join(' ')}`);
    console.log(`node tests: ${passed.length} passed, ${unclaimed.length} use unclaimed ops, ${failed.length} failed`);
    expect(failed).toEqual([]);
    expect(passed.length).toBeGreaterThanOrEqual(1503);
  });

  it('names the missing op when a model uses one it lacks, and the input when feeds are wrong', async () => {
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    const { DataType } = await import('../src/core/dtype.js');
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', DataType.FLOAT, [2]);
    b.node('Relu', [x], {}, { outputs: ['y'] });
    b.node('ImageDecoder', [x], {}, { outputs: ['z'], name: 'my_decoder' });
    b.output('y', DataType.FLOAT, [2]);
    expect(() => new CpuExecutor(b.build())).toThrow(/no kernel for ImageDecoder \(first used by node 'my_decoder'\)/);
    const ok = new ModelBuilder({ opset: 17 });
    ok.node('Relu', [ok.input('x', DataType.FLOAT, [2])], {}, { outputs: ['y'] });
    ok.output('y', DataType.FLOAT, [2]);
    const ex = new CpuExecutor(ok.build());
    expect(() => ex.runSync({})).toThrow(/input 'x' is missing/);
    expect(() => ex.runSync({ x: { dtype: DataType.INT32, dims: [2], data: new Int32Array(2) } })).toThrow(
      /input 'x' must be FLOAT, got INT32/,
    );
    expect(() => ex.runSync({ x: { dtype: DataType.FLOAT, dims: [3], data: new Float32Array(3) } })).toThrow(
      /input 'x' must have shape \[2\], got \[3\]/,
    );
    expect(() =>
      ex.runSync({
        x: { dtype: DataType.FLOAT, dims: [2], data: new Float32Array(2) },
        q: { dtype: 1, dims: [1], data: new Float32Array(1) },
      }),
    ).toThrow(/input 'q' is not an input/);
  });
});
