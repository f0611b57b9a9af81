/**
 * npm run bench:cpu — inference time of the CPU executor against onnxruntime-node at the same thread count,
 * measured in the same run, median of repeated runs after a warm-up: the fixtures, and real-size models
 * generated here (ResNet-50; a BERT-base-shaped encoder, 2 layers, sequence 128; a 512 MB MLP, 8 MatMul
 * 4096×4096 + Relu layers at batch 1), each in fp32 and as converted to fp16 by the pass (onnxruntime runs
 * the same converted model). Also the executor's peak
 * memory, measured in a process of its own against weights + the largest set of activations alive at once
 * (from liveness): what two runs add on top of the loaded model (the executor's peak), and everything the
 * process needs to load the model file and run it (peak RSS minus the RSS before loading).
 * Aims: at the same thread count as onnxruntime-node, ResNet-50, the encoder and the MLP ≤ 3×; peak memory ≤ 1.5×.
 * Each row also shows the model's GFLOP and the time its arithmetic alone would take at this machine's
 * WebAssembly SIMD ceiling (util.ts wasmSimdCeiling), as a ratio to onnxruntime: the floor under our ratio.
 * `--quick` skips the real-size models. AMP_THREADS sets the executor's threads (default: all cores).
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { kernelThreads, arenaBytes } from '../runtime/cpu/wasm/index.js';
import { loadModel, saveModel, encodeModel } from '../src/onnx/io.js';
import { convertSync } from '../src/tools/convert.js';
import { randomInputs, readInputs } from '../src/tools/inputs.js';
import { toFloat32 } from '../src/ir/rtensor.js';
import type { Model } from '../src/ir/graph.js';
import type { RTensor } from '../src/ir/rtensor.js';
import { fixtureModels, fixtureModelPath, fixtureInputs } from '../test/helpers/fixtures.js';
import { toOrt } from '../test/helpers/ort.js';
import { resnet50, bertEncoder } from '../fixtures/scripts/bench-models.js';
import { f32ArrayToF16 } from '../src/core/half.js';
import { bigModel } from './util.js';
import { DataType, dtypeName } from '../src/core/dtype.js';
import { cloneModel } from '../src/onnx/io.js';
import { timeIt, countFlops, wasmSimdCeiling } from './util.js';

const MiB = 2 ** 20;
const weightBytes = (m: Model) =>
  [...m.graph.allGraphs()].reduce((a, g) => a + [...g.initializers.values()].reduce((s, t) => s + t.byteLength, 0), 0);
/** Feeds in the converted model's input types (fp16 where the pass retyped an input). */
function retype(m: Model, feeds: Record<string, RTensor>): Record<string, RTensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => [
      k,
      m.graph.values.get(k)?.type?.elemType === DataType.FLOAT16 && t.dtype === DataType.FLOAT
        ? { dtype: DataType.FLOAT16, dims: t.dims, data: f32ArrayToF16(t.data as Float32Array) }
        : t,
    ]),
  );
}

const rssNow = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const rssPeak = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const MODELS: Record<string, () => Model> = {
  'ResNet-50': () => resnet50(),
  'BERT-base encoder (2 layers, seq 128)': () => bertEncoder(),
  'MLP 512 MB (8 × 4096², batch 1)': () => bigModel(512),
};
const self = fileURLToPath(import.meta.url);

/**
 * Child phase, as JSON: `total`, the resident memory a process needs to load the model in `file` and run it
 * twice on `feedsFile` (peak RSS minus the RSS before loading), and `runs`, what the two runs add on top of
 * the loaded model and executor (peak RSS during the runs minus RSS just before them, after collection).
 */
async function memoryPhase(file: string, feedsFile: string): Promise<void> {
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      (globalThis as { gc?: () => void }).gc!();
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await settle();
  const start = rssNow();
  writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  const m = loadModel(file);
  const feeds = readInputs(m, feedsFile);
  const ex = new CpuExecutor(m);
  // Large payloads stay in the model file after loading (Tensor.backing): read them now, so `runs` measures the
  // executor on top of the loaded weights rather than the weights' first read (`total` holds both either way).
  for (const t of m.graph.initializers.values()) t.raw();
  const loadPeak = rssPeak();
  await settle();
  const before = rssNow();
  writeFileSync('/proc/self/clear_refs', '5');
  ex.runSync(feeds);
  ex.runSync(feeds);
  const runPeak = rssPeak();
  console.log(
    JSON.stringify({
      total: Math.max(loadPeak, runPeak) - start,
      runs: Math.max(0, runPeak - before),
      live: ex.peakLiveBytes,
      weights: weightBytes(m),
      arena: arenaBytes(),
    }),
  );
}
/** Runs the memory phase in a fresh process, on the model as saved to a file (as a user would load it). */
function memory(
  model: Model,
  feeds: Record<string, RTensor>,
): { total: number; runs: number; live: number; weights: number } {
  const dir = mkdtempSync(join(tmpdir(), 'amp-bench-cpu-'));
  try {
    saveModel(model, join(dir, 'm.onnx'), { force: true });
    writeFileSync(
      join(dir, 'feeds.json'),
      JSON.stringify(
        Object.fromEntries(
          Object.entries(feeds).map(([k, t]) => [
            k,
            { dtype: dtypeName(t.dtype), dims: t.dims, data: Array.from(toFloat32(t)) },
          ]),
        ),
      ),
    );
    const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
    const r = spawnSync(tsx, [self, '--memory', join(dir, 'm.onnx'), join(dir, 'feeds.json')], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
      env: { ...process.env, NODE_OPTIONS: '--expose-gc' },
    });
    if (r.status !== 0) throw new Error(`memory phase failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Record<string, string>[] = [];
/** This machine's WebAssembly SIMD ceiling at the executor's thread count (GFLOP/s), measured once. */
let ceiling = 0;
async function bench(name: string, model: Model, feeds: Record<string, RTensor>, reps: number): Promise<void> {
  const flop = await countFlops(model, feeds);
  const ex = new CpuExecutor(model);
  const sess = await ort.InferenceSession.create(encodeModel(model), {
    intraOpNumThreads: kernelThreads(),
    interOpNumThreads: 1,
  });
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
  const ours = await timeIt(() => ex.runSync(feeds), reps);
  const theirs = await timeIt(() => sess.run(ortFeeds), reps);
  await sess.release();
  ex.dispose();
  const mem = memory(model, feeds);
  rows.push({
    model: name,
    'ours ms': ours.toPrecision(3),
    'onnxruntime ms': theirs.toPrecision(3),
    ratio: `${(ours / theirs).toFixed(1)}×`,
    GFLOP: (flop / 1e9).toFixed(2),
    'ours GFLOP/s': (flop / (ours * 1e6)).toFixed(1),
    // The least time any WebAssembly SIMD code could take on this machine, arithmetic alone: a floor on the ratio.
    'wasm ceiling ms': (flop / (ceiling * 1e6)).toPrecision(3),
    'ceiling / onnxruntime': `${(flop / (ceiling * 1e6) / theirs).toFixed(1)}×`,
    'weights MiB': (mem.weights / MiB).toFixed(1),
    'live set MiB': (mem.live / MiB).toFixed(1),
    'runs add MiB': (mem.runs / MiB).toFixed(1),
    'run peak / (weights + live set)': `${((mem.weights + mem.runs) / (mem.weights + mem.live)).toFixed(2)}×`,
    'load + run peak / (weights + live set)': `${(mem.total / (mem.weights + mem.live)).toFixed(2)}×`,
  });
}

if (process.argv.includes('--memory')) {
  const i = process.argv.indexOf('--memory');
  await memoryPhase(process.argv[i + 1], process.argv[i + 2]);
} else {
  // --only <text>: just the models whose name contains it.
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : '';
  ceiling = await wasmSimdCeiling(kernelThreads());
  if (!process.argv.includes('--quick')) {
    for (const [name, make] of Object.entries(MODELS).filter(([n]) => n.includes(only))) {
      const m = make();
      const feeds = randomInputs(m, 1, {});
      await bench(`${name} fp32`, m, feeds, 5);
      const { model: m16 } = convertSync(cloneModel(m));
      await bench(`${name} fp16`, m16, retype(m16, feeds), 5);
    }
  }
  // Fixtures after the real-size models: onnxruntime sessions of many small models slow later timings here.
  for (const name of fixtureModels().filter((n) => n.includes(only)))
    await bench(name, loadModel(fixtureModelPath(name)), fixtureInputs(name), 20);
  console.log(`CPU executor and onnxruntime-node on ${kernelThreads()} thread(s) each`);
  console.table(rows);
  console.log(
    `WebAssembly SIMD ceiling on ${kernelThreads()} thread(s): ${ceiling.toFixed(1)} GFLOP/s (f32x4 multiply-then-add chains, ` +
      `no memory access); "ceiling / onnxruntime" is the ratio no WebAssembly kernel could beat on this machine.`,
  );
}
