/**
 * Fixture models on the CPU executor vs onnxruntime-node: fp32 within 1e-4 of the output's scale
 * (max|Δ| ≤ 1e-4·max|ref|, and cosine ≥ 0.99999); the same models converted to fp16 vs ORT running the
 * converted model within 1e-2 of the output's scale (two fp16 implementations differ by where they round:
 * ORT runs many fp16 ops in fp32 internally, we round every op's output to half).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { goodFixtures, fixtureModelPath, fixtureInputs, agreement } from './helpers/fixtures.js';
import { runOrt } from './helpers/ort.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { convertSync } from '../src/tools/convert.js';
import { encodeModel, loadModel } from '../src/onnx/io.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';
import { DataType } from '../src/core/dtype.js';
import { f32ArrayToF16 } from '../src/core/half.js';

const rows: Record<string, string>[] = [];
function check(
  name: string,
  mode: string,
  got: Record<string, RTensor>,
  ref: Record<string, RTensor>,
  scaled: number,
  cos: number,
) {
  for (const [k, r] of Object.entries(ref)) {
    expect(got[k]?.dtype, `${name} ${k}`).toBe(r.dtype);
    expect(got[k].dims).toEqual(r.dims);
    const a = agreement(toFloat32(got[k]), toFloat32(r));
    rows.push({
      model: name,
      mode,
      output: k,
      cosine: a.cosine.toFixed(7),
      'max|Δ|/max|ref|': a.maxScaled.toExponential(2),
    });
    expect(a.maxScaled, `${name} ${mode} ${k}`).toBeLessThanOrEqual(scaled);
    expect(a.cosine, `${name} ${mode} ${k}`).toBeGreaterThanOrEqual(cos);
  }
}

describe('CPU executor vs onnxruntime on the fixtures', () => {
  it.each(goodFixtures())('%s in fp32 and converted to fp16', async (name) => {
    const feeds = fixtureInputs(name);
    const ref = await runOrt(readFileSync(fixtureModelPath(name)), feeds);
    check(name, 'fp32', new CpuExecutor(loadModel(fixtureModelPath(name))).runSync(feeds), ref, 1e-4, 0.99999);
    const { model } = convertSync(fixtureModelPath(name));
    const f16feeds: Record<string, RTensor> = Object.fromEntries(
      Object.entries(feeds).map(([k, t]) => [
        k,
        model.graph.values.get(k)?.type?.elemType === DataType.FLOAT16
          ? { dtype: DataType.FLOAT16, dims: t.dims, data: f32ArrayToF16(t.data as Float32Array) }
          : t,
      ]),
    );
    const ref16 = await runOrt(encodeModel(model), f16feeds);
    check(name, 'fp16', new CpuExecutor(model).runSync(f16feeds), ref16, 1e-2, 0.9999);
  });
  afterAll(() => console.table(rows));
});
