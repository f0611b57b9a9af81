/**
 * Fixture models (real: silero VAD v5 and legacy with If + LSTM, openWakeWord's hello_deepa; generated:
 * MLP, CNN, transformer block, If/Loop) convert to fp16 models that load in onnxruntime-node and agree
 * with the fp32 original: cosine similarity ≥ 0.999 on every output, and the worst elementwise error at
 * most 2% of the output's largest magnitude. The elementwise max relative error is printed too.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { fixtureModels, goodFixtures, fixtureModelPath, fixtureInputs, agreement } from './helpers/fixtures.js';
import { runOrt } from './helpers/ort.js';
import { convertSync } from '../src/tools/convert.js';
import { encodeModel, loadModel } from '../src/onnx/io.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';
import { DataType } from '../src/core/dtype.js';
import { f32ArrayToF16 } from '../src/core/half.js';

// Worst elementwise error relative to the output's largest magnitude: fp16 (≈1e-3 per rounding) through
// tens of layers and recurrent steps stays within 2% of the output's scale.
const MAX_SCALED = 0.02;

describe('fixtures', () => {
  it('are all present and round-trip byte-identically through the IR', () => {
    const names = fixtureModels();
    expect(names).toEqual(
      expect.arrayContaining([
        'cnn',
        'hello_deepa',
        'if_loop',
        'mlp',
        'silero_vad_legacy',
        'silero_vad_v5',
        'transformer_block',
      ]),
    );
    for (const n of names) {
      const p = fixtureModelPath(n);
      expect(Buffer.compare(Buffer.from(encodeModel(loadModel(p))), readFileSync(p)), n).toBe(0);
    }
  });
});

describe.each([false, true])(
  'converted fixture models agree with fp32 in onnxruntime (keepIoTypes=%s)',
  (keepIoTypes) => {
    const rows: Record<string, string | number>[] = [];
    it.each(goodFixtures())('%s', async (name) => {
      const feeds = fixtureInputs(name);
      const ref = await runOrt(readFileSync(fixtureModelPath(name)), feeds);
      for (const t of Object.values(ref)) expect(toFloat32(t).every(Number.isFinite)).toBe(true);
      const { model, summary } = convertSync(fixtureModelPath(name), { keepIoTypes });
      expect(summary.nodes.low).toBeGreaterThan(0);
      const g = model.graph;
      const convFeeds: Record<string, RTensor> = Object.fromEntries(
        Object.entries(feeds).map(([k, t]) => [
          k,
          g.values.get(k)?.type?.elemType === DataType.FLOAT16 && t.dtype === DataType.FLOAT
            ? { dtype: DataType.FLOAT16, dims: t.dims, data: f32ArrayToF16(t.data as Float32Array) }
            : t,
        ]),
      );
      const got = await runOrt(encodeModel(model), convFeeds);
      for (const [out, r] of Object.entries(ref)) {
        expect(got[out], `${name}: output ${out}`).toBeDefined();
        expect(got[out].dtype).toBe(keepIoTypes ? r.dtype : r.dtype === DataType.FLOAT ? DataType.FLOAT16 : r.dtype);
        const a = agreement(toFloat32(got[out]), toFloat32(r));
        rows.push({
          model: name,
          output: out,
          fp16: `${summary.nodes.low}/${summary.nodes.total}`,
          cosine: a.cosine.toFixed(6),
          'max|err|/max|x|': a.maxScaled.toExponential(2),
          'max rel (elementwise)': a.maxRel.toExponential(2),
          'max|err|': a.maxAbs.toExponential(2),
        });
        expect(a.cosine, `${name}: ${out} cosine`).toBeGreaterThanOrEqual(0.999);
        expect(a.maxScaled, `${name}: ${out} max error / output scale`).toBeLessThanOrEqual(MAX_SCALED);
      }
    });
    // The measured table (docs/performance.md), printed once every model has run.
    afterAll(() => console.table(rows));
  },
);
