/**
 * The optimizer step inside the graph (runtime/train/step-graph.ts) against the JS references it replaces:
 * LossScaler.unscaleAndUpdate + Sgd/Adam (optim.ts) on the gradients of the plain training graph. Several
 * steps with the state carried by the executor (RunOptions.carry), a non-finite step skipped, clipping.
 */
import { describe, it, expect } from 'vitest';
import { buildTrainingGraph } from '../runtime/train/autodiff.js';
import { appendOptimizerStep } from '../runtime/train/step-graph.js';
import { LossScaler } from '../runtime/train/loss-scaler.js';
import { Sgd, Adam } from '../runtime/train/optim.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { loadModel } from '../src/onnx/io.js';
import { DataType } from '../src/ir/dtype.js';
import { toFloat32, type RTensor } from '../src/core/tensor.js';
import { fixtureModelPath } from './helpers/fixtures.js';

const F = DataType.FLOAT;
let seed = 11;
const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32 - 0.5; };
const f32 = (dims: number[], f: (i: number) => number = () => rnd()): RTensor => ({ dtype: F, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });

describe('optimizer step in the graph', () => {
  it.each([['sgd', undefined], ['adam', undefined], ['sgd', 0.05]] as const)('%s (clip %s): equals LossScaler + optim.ts over carried steps, a non-finite step skipped', async (optimizer, maxGradNorm) => {
    const tg = buildTrainingGraph(loadModel(fixtureModelPath('mlp')));
    const step = appendOptimizerStep(tg, { optimizer, lr: 0.05, maxGradNorm, skipNonFinite: true });
    const exec = new CpuExecutor(step.model), plain = new CpuExecutor(tg.model);
    const dims = tg.weights.map((w) => tg.model.graph.values.get(w)!.type!.shape as number[]);
    const master = dims.map((d) => toFloat32(f32(d)).map((v) => v * 0.3));
    const scaler = new LossScaler({ initScale: 1024, growthInterval: 2, maxGradNorm }), ref = new LossScaler({ initScale: 1024, growthInterval: 2, maxGradNorm });
    const opt = optimizer === 'adam' ? new Adam(0.05) : new Sgd(0.05);
    const xDim = (tg.model.graph.values.get(tg.model.graph.inputs[0])!.type!.shape as number[])[1] as number;
    let applied = 0, clipped = 0;
    for (let s = 0; s < 5; s++) {
      const n = 8;
      const sc = scaler.scale;
      const batch: Record<string, RTensor> = {
        [tg.model.graph.inputs[0]]: f32([n, xDim]), labels: f32([n, tg.classes], (i) => (i % tg.classes === (Math.floor(i / tg.classes) * 3) % tg.classes ? 1 : 0)),
        // Step 2 overflows on purpose: an infinite scaled loss makes the gradients non-finite.
        grad_scale: f32([], () => (s === 2 ? Infinity : sc / n)), loss_coef: f32([], () => -1 / n),
      };
      // Reference: gradients of the plain graph, then the JS scaler and optimizer.
      const pf = { ...batch };
      tg.weights.forEach((w, k) => { pf[w] = { dtype: F, dims: dims[k], data: Float32Array.from(master[k]) }; }); // copies: opt.step updates master in place
      const grads = tg.grads.map((g) => Float32Array.from(toFloat32(plain.runSync(pf)[g])));
      const d = ref.unscaleAndUpdate(grads);
      if (!d.skip) opt.step(master, grads);
      if (d.clipped) clipped++;
      // In the graph: params and moments fed once, then carried.
      const fd: Record<string, RTensor> = { ...batch, ...step.scalars(1 / sc, applied + 1) };
      if (s === 0) {
        tg.weights.forEach((w, k) => { fd[w] = pf[w]; });
        for (const m of step.moments) fd[m.name] = f32(m.dims, () => 0);
      }
      const out = await exec.run(fd, { outputs: ['loss', step.finite], carry: step.carry });
      const finite = (out[step.finite].data as Uint8Array)[0] === 1;
      expect(finite, `step ${s}`).toBe(s !== 2);
      expect(scaler.record(finite).skip).toBe(d.skip);
      if (finite) applied++;
      expect(scaler.scale).toBe(ref.scale);
      for (const [k, w] of tg.weights.entries()) {
        const got = toFloat32(await exec.readCarried(w));
        const tol = 1e-5 * Math.max(1, ...Array.from(master[k], Math.abs));
        got.forEach((v, i) => expect(Math.abs(v - master[k][i]), `${optimizer} step ${s} ${w}[${i}]`).toBeLessThan(tol));
      }
    }
    expect(scaler.state.skippedSteps).toBe(1);
    expect(clipped > 0).toBe(maxGradNorm !== undefined); // the clipping case does clip
  });
});
