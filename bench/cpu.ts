/**
 * npm run bench:cpu — inference time of each fixture on the CPU reference executor vs onnxruntime-node
 * (single-threaded, like ours), measured in the same run: median of repeated runs after a warm-up.
 * Aim: ≤ 20× onnxruntime.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { loadModel } from '../src/onnx/io.js';
import { fixtureModels, fixtureModelPath, fixtureInputs } from '../test/helpers/fixtures.js';
import { toOrt } from '../test/helpers/ort.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timeIt(fn: () => unknown | Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const t = performance.now(); await fn(); ts.push(performance.now() - t); }
  return median(ts);
}

const rows = [];
for (const name of fixtureModels()) {
  const feeds = fixtureInputs(name);
  const ex = new CpuExecutor(loadModel(fixtureModelPath(name)));
  const sess = await ort.InferenceSession.create(readFileSync(fixtureModelPath(name)), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
  const ours = await timeIt(() => ex.runSync(feeds), 20);
  const theirs = await timeIt(() => sess.run(ortFeeds), 20);
  rows.push({ model: name, 'cpu ms': ours.toFixed(2), 'onnxruntime ms': theirs.toFixed(3), ratio: `${(ours / theirs).toFixed(1)}×` });
}
console.table(rows);
