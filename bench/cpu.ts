/**
 * npm run bench:cpu — inference time of the CPU executor against onnxruntime-node (1 intra-op thread),
 * measured in the same run, median of repeated runs after a warm-up: the fixtures, and real-size models
 * generated here (ResNet-50; a BERT-base-shaped encoder, 2 layers, sequence 128; a 512 MB MLP, 8 MatMul
 * 4096×4096 + Relu layers at batch 1), each in fp32 and as converted to fp16 by the pass (onnxruntime runs
 * the same converted model). Also the executor's peak
 * memory, measured in a process of its own: the resident set it adds while running (peak RSS during the run
 * minus RSS before it, the weights already loaded) plus the weights, against weights + the largest set of
 * activations alive at once (from liveness).
 * Aims (issue #12): ResNet-50 fp32 ≤ 8×, fp16 ≤ 10×; encoder and MLP ≤ 5×; peak memory ≤ 1.5×.
 * `--quick` skips the real-size models. AMP_THREADS sets the executor's threads (default: all cores).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { kernelThreads } from '../runtime/cpu/wasm/index.js';
import { loadModel, encodeModel } from '../src/onnx/io.js';
import { convertSync } from '../src/tools/convert.js';
import { randomInputs } from '../src/tools/inputs.js';
import type { Model } from '../src/ir/graph.js';
import type { RTensor } from '../src/core/tensor.js';
import { fixtureModels, fixtureModelPath, fixtureInputs } from '../test/helpers/fixtures.js';
import { toOrt } from '../test/helpers/ort.js';
import { resnet50, bertEncoder } from '../fixtures/scripts/bench-models.js';
import { f32ArrayToF16 } from '../src/ir/half.js';
import { bigModel } from './util.js';
import { DataType } from '../src/ir/dtype.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timeIt(fn: () => unknown | Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const t = performance.now(); await fn(); ts.push(performance.now() - t); }
  return median(ts);
}
const MiB = 2 ** 20;
const weightBytes = (m: Model) => [...m.graph.allGraphs()].reduce((a, g) => a + [...g.initializers.values()].reduce((s, t) => s + t.byteLength, 0), 0);
/** Feeds in the converted model's input types (fp16 where the pass retyped an input). */
function retype(m: Model, feeds: Record<string, RTensor>): Record<string, RTensor> {
  return Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, m.graph.values.get(k)?.type?.elemType === DataType.FLOAT16 && t.dtype === DataType.FLOAT
    ? { dtype: DataType.FLOAT16, dims: t.dims, data: f32ArrayToF16(t.data as Float32Array) } : t]));
}

const rssNow = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const rssPeak = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const MODELS: Record<string, () => Model> = {
  'ResNet-50': () => resnet50(),
  'BERT-base encoder (2 layers, seq 128)': () => bertEncoder(),
  'MLP 512 MB (8 × 4096², batch 1)': () => bigModel(512),
};
const self = fileURLToPath(import.meta.url);

/** Child phase: peak memory of one run of `name` (fp32 or fp16), as JSON. */
function memoryPhase(name: string, fp16: boolean): void {
  const g = (globalThis as { gc?: () => void }).gc!;
  let m = name in MODELS ? MODELS[name]() : loadModel(fixtureModelPath(name));
  const feeds0 = name in MODELS ? randomInputs(m, 1, {}) : fixtureInputs(name);
  if (fp16) m = convertSync(m).model;
  const feeds = retype(m, feeds0);
  const ex = new CpuExecutor(m);
  ex.runSync(feeds); // warm: kernels loaded, initializers decoded
  g();
  const before = rssNow();
  writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  ex.runSync(feeds);
  console.log(JSON.stringify({ extra: rssPeak() - before, live: ex.peakLiveBytes, weights: weightBytes(m) }));
}
function memory(name: string, fp16: boolean): { extra: number; live: number; weights: number } {
  const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
  const r = spawnSync(tsx, [self, '--memory', name, fp16 ? 'fp16' : 'fp32'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '--expose-gc' } });
  if (r.status !== 0) throw new Error(`memory phase ${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const rows: Record<string, string>[] = [];
async function bench(name: string, model: Model, feeds: Record<string, RTensor>, reps: number, memKey: [string, boolean]): Promise<void> {
  const ex = new CpuExecutor(model);
  const sess = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
  const ours = await timeIt(() => ex.runSync(feeds), reps);
  const theirs = await timeIt(() => sess.run(ortFeeds), reps);
  await sess.release();
  ex.dispose();
  const mem = memory(...memKey);
  rows.push({
    model: name, 'ours ms': ours.toPrecision(3), 'onnxruntime ms': theirs.toPrecision(3), ratio: `${(ours / theirs).toFixed(1)}×`,
    'weights MiB': (mem.weights / MiB).toFixed(1), 'largest live set MiB': (mem.live / MiB).toFixed(1), 'run adds MiB': (mem.extra / MiB).toFixed(1),
    'peak / (weights + live set)': `${((mem.weights + mem.extra) / (mem.weights + mem.live)).toFixed(2)}×`,
  });
}

if (process.argv.includes('--memory')) {
  const i = process.argv.indexOf('--memory');
  memoryPhase(process.argv[i + 1], process.argv[i + 2] === 'fp16');
} else {
  for (const name of fixtureModels()) await bench(name, loadModel(fixtureModelPath(name)), fixtureInputs(name), 20, [name, false]);
  if (!process.argv.includes('--quick')) {
    for (const [name, make] of Object.entries(MODELS)) {
      const m = make();
      const feeds = randomInputs(m, 1, {});
      await bench(`${name} fp32`, m, feeds, 5, [name, false]);
      const { model: m16 } = convertSync(m.clone());
      await bench(`${name} fp16`, m16, retype(m16, feeds), 5, [name, true]);
    }
  }
  console.log(`CPU executor on ${kernelThreads()} thread(s); onnxruntime-node on 1 intra-op thread`);
  console.table(rows);
}
