/**
 * The WebGPU executor against the CPU reference on seeded random image classifiers (test/helpers/random-cnn.ts),
 * fp32 and converted to fp16: the node tests cover one op at a time; models chain the kernels' layouts, padding
 * and stride forms, and the fused paths, the way a real classifier does.
 */
import { describe, it, expect } from 'vitest';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { WebGpuExecutor } from '../runtime/webgpu/executor.js';
import { convertSync } from '../src/tools/convert.js';
import { feedsFor } from '../src/tools/verify.js';
import { toFloat32 } from '../src/ir/rtensor.js';
import { agreement } from './helpers/fixtures.js';
import { randomCnn } from './helpers/random-cnn.js';
import { cloneModel } from '../src/onnx/io.js';

describe('WebGPU executor on random classifiers', () => {
  it('agrees with the CPU reference on 40 of them, fp32 (1e-4 of the output scale) and fp16 (5e-3)', async () => {
    const bad: string[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const { model, feeds, desc } = randomCnn(seed);
      for (const f16 of [false, true]) {
        const m = f16 ? convertSync(cloneModel(model)).model : model;
        const f = f16 ? feedsFor(m, feeds) : feeds;
        const ref = new CpuExecutor(m).runSync(f);
        const got = await (await WebGpuExecutor.create(m)).run(f);
        for (const k of Object.keys(ref)) {
          const a = agreement(toFloat32(got[k]), toFloat32(ref[k]));
          if (!(a.maxScaled < (f16 ? 5e-3 : 1e-4)))
            bad.push(`seed ${seed} ${f16 ? 'fp16' : 'fp32'}: ${a.maxScaled.toExponential(2)} (${desc})`);
        }
      }
    }
    expect(bad).toEqual([]);
  }, 300_000);
});
