/**
 * The optimizer step inside the graph (runtime/train/step-graph.ts) against the JS references it replaces:
 * LossScaler.unscaleAndUpdate + Sgd/Adam (optim.ts) on the gradients of the plain training graph. Several
 * steps with the state carried by the executor (RunOptions.carry), a non-finite step skipped, clipping.
 */
import { describe, it, expect } from 'vitest';
import { buildTrainingGraph } from '../src/tools/trainer.js';
import { appendOptimizerStep } from '../passes/training/step-graph.js';
import { LossScaler } from '../runtime/train/loss-scaler.js';
import { Sgd, Adam } from '../runtime/train/optim.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { loadModel } from '../src/onnx/io.js';
import { DataType } from '../src/core/dtype.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';
import { fixtureModelPath } from './helpers/fixtures.js';

const F = DataType.FLOAT;
let seed = 11;
const rnd = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32 - 0.5;
};
const f32 = (dims: number[], f: (i: number) => number = () => rnd()): RTensor => ({
  dtype: F,
  dims,
  data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)),
});

describe('optimizer step in the graph', () => {
  it.each([
    ['sgd', undefined],
    ['adam', undefined],
    ['sgd', 0.05],
  ] as const)(
    '%s (clip %s): equals LossScaler + optim.ts over carried steps — scale growth, a skipped non-finite step, backoff — with the scaler on the device',
    async (optimizer, maxGradNorm) => {
      const tg = buildTrainingGraph(loadModel(fixtureModelPath('mlp')));
      const n = 8,
        rules = { initScale: 1024, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2 };
      const step = appendOptimizerStep(tg, {
        optimizer,
        lr: 0.05,
        maxGradNorm,
        batch: n,
        scaler: { enabled: true, ...rules },
        history: 4,
      });
      const exec = new CpuExecutor(step.model),
        plain = new CpuExecutor(tg.model);
      const dims = tg.weights.map((w) => tg.model.graph.values.get(w)!.type!.shape as number[]);
      const master = dims.map((d) => toFloat32(f32(d)).map((v) => v * 0.3));
      const ref = new LossScaler({ ...rules, maxGradNorm });
      const opt = optimizer === 'adam' ? new Adam(0.05) : new Sgd(0.05);
      const xDim = (tg.model.graph.values.get(tg.model.graph.inputs[0])!.type!.shape as number[])[1] as number;
      let clipped = 0;
      const flags: number[] = [];
      for (let s = 0; s < 6; s++) {
        const x = f32([n, xDim]);
        if (s === 2) (x.data as Float32Array)[3] = Infinity; // this step's gradients are not finite
        const batch: Record<string, RTensor> = {
          [tg.model.graph.inputs[0]]: x,
          labels: f32([n, tg.classes], (i) =>
            i % tg.classes === (Math.floor(i / tg.classes) * 3) % tg.classes ? 1 : 0,
          ),
          loss_coef: f32([], () => -1 / n),
        };
        // Reference: gradients of the plain graph at the reference scale, then the JS scaler and optimizer.
        const pf: Record<string, RTensor> = { ...batch, grad_scale: f32([], () => ref.scale / n) };
        tg.weights.forEach((w, k) => {
          pf[w] = { dtype: F, dims: dims[k], data: Float32Array.from(master[k]) };
        }); // copies: opt.step updates master in place
        const grads = tg.grads.map((g) => Float32Array.from(toFloat32(plain.runSync(pf)[g])));
        const d = ref.unscaleAndUpdate(grads);
        if (!d.skip) opt.step(master, grads);
        if (d.clipped) clipped++;
        // In the graph: params and the scaler's state fed once, then carried; only the history slot per step.
        const fd: Record<string, RTensor> = { ...batch, ...step.stepFeed(s % 4) };
        if (s === 0) {
          tg.weights.forEach((w) => {
            fd[w] = pf[w];
          });
          Object.assign(fd, step.initialState());
        }
        const out = await exec.run(fd, { outputs: [step.finite], carry: step.carry });
        flags.push((out[step.finite].data as Uint8Array)[0]);
        expect(toFloat32(await exec.readCarried(step.scale))[0], `scale after step ${s}`).toBe(ref.scale);
        for (const [k, w] of tg.weights.entries()) {
          const got = toFloat32(await exec.readCarried(w));
          // Adam moves a weight by about ±lr·m/√v whatever the gradient's size: where a gradient is ~0 its last
          // bit (f32 here, float64 in optim.ts) shows; its first moment, linear in the gradient, is checked tightly.
          const tol = (optimizer === 'adam' ? 0.01 * 0.05 : 1e-5) * Math.max(1, ...Array.from(master[k], Math.abs));
          got.forEach((v, i) =>
            expect(Math.abs(v - master[k][i]), `${optimizer} step ${s} ${w}[${i}]`).toBeLessThan(tol),
          );
          if (optimizer === 'adam') {
            const st = opt as unknown as { m: Float32Array[]; v: Float32Array[] };
            const m = toFloat32(await exec.readCarried(`opt/m/${w}`)),
              want = st.m[k] ?? new Float32Array(m.length);
            const mt = 1e-5 * Math.max(1e-6, ...Array.from(want, Math.abs));
            m.forEach((v, i) => expect(Math.abs(v - want[i]), `adam m step ${s} ${w}[${i}]`).toBeLessThan(mt));
            // Each step is compared from the same state: the reference continues from the device's values.
            master[k].set(got);
            if (st.m[k]) {
              st.m[k].set(m);
              st.v[k].set(toFloat32(await exec.readCarried(`opt/v/${w}`)));
            }
          }
        }
      }
      expect(flags).toEqual([1, 1, 0, 1, 1, 1]);
      expect(ref.state.history.map((h) => h.scale)).toEqual([1024, 2048, 1024, 1024, 2048, 2048]); // grow, back off, grow
      // The history window holds the last steps' flags (slots 0, 1 = steps 4, 5; slots 2, 3 = steps 2, 3).
      expect(Array.from(toFloat32(await exec.readCarried(step.history.finite)))).toEqual([1, 1, 0, 1]);
      expect(clipped > 0).toBe(maxGradNorm !== undefined); // the clipping case does clip
    },
  );
});
