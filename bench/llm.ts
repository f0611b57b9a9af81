/**
 * npm run bench:llm — a Llama-style decoder of about 1.1 B parameters (16 layers, hidden 2048, 32 heads / 8 KV
 * heads, SwiGLU 8192, vocabulary 32000; ONNX opset-23 Attention, RotaryEmbedding, RMSNormalization), 4.4 GB of
 * fp32 weights in an external data file, generated here (cached under the OS temp dir) — never committed.
 *   convert   `amp-convert model.onnx` (verified: calibration, verification, greedy decode check) in a process of
 *             its own: wall time and peak RSS, against `cp` of the same files and the aims (≤ 60 s, ≤ 2.5× the
 *             fp32 weights). Next-token agreement is printed as measured: this model's weights are seeded noise, so
 *             its logits are near ties and fp16 rounding flips many argmaxes that a trained model's would not.
 *   decode    one decode step (1 new token, a 128-token cache) of the fp32 and the converted model: the CPU
 *             executor against onnxruntime-node at the same thread count (AMP_THREADS, default all cores), median
 *             of repeated runs after a warm-up, measured in the same run.
 * Each phase runs in a fresh process (runPhase) so its peak RSS is its own.
 */
import { existsSync, mkdirSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { llamaOps23, LLAMA, type DecoderConfig } from '../fixtures/scripts/transformers.js';
import { saveModel, loadModel } from '../src/onnx/io.js';
import { convert } from '../src/tools/convert.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { DataType } from '../src/core/dtype.js';
import type { RTensor } from '../src/ir/rtensor.js';
import { peakRss, runPhase } from './util.js';

const SELF = fileURLToPath(import.meta.url);
const CFG: DecoderConfig = {
  ...LLAMA,
  vocab: 32000,
  dim: 2048,
  heads: 32,
  kvHeads: 8,
  headDim: 64,
  ffn: 8192,
  layers: 16,
  maxPos: 2048,
};
const DIR = join(tmpdir(), 'amp-convert-bench-llm-v1');
const MODEL = join(DIR, 'llama-1b.onnx');
const THREADS = Number(process.env.AMP_THREADS ?? cpus().length);

/** Seeded uniform weights with the given standard deviation: a hash of the index, ~20× faster than Box–Muller. */
function fastWeights(): (n: number, std: number) => Float32Array {
  let salt = 1;
  return (n, std) => {
    const w = new Float32Array(n),
      a = std * Math.sqrt(12),
      s = Math.imul(salt++, 0x9e3779b1);
    for (let i = 0; i < n; i++) w[i] = ((((i + s) * 2654435761) >>> 0) / 2 ** 32 - 0.5) * a;
    return w;
  };
}

function generate(): void {
  if (existsSync(MODEL) && existsSync(`${MODEL}.data`)) return;
  mkdirSync(DIR, { recursive: true });
  const m = llamaOps23(31, CFG, fastWeights());
  saveModel(m, MODEL, { externalData: true, force: true });
}

/** A decode step's feeds: one token after a `past`-token cache (batch 1). */
function stepFeeds(past: number): Record<string, RTensor> {
  const f: Record<string, RTensor> = {
    input_ids: { dtype: DataType.INT64, dims: [1, 1], data: BigInt64Array.from([17n]) },
    position_ids: { dtype: DataType.INT64, dims: [1, 1], data: BigInt64Array.from([BigInt(past)]) },
  };
  const n = CFG.kvHeads * past * CFG.headDim;
  for (let l = 0; l < CFG.layers; l++)
    for (const kv of ['key', 'value']) {
      f[`past_key_values.${l}.${kv}`] = {
        dtype: DataType.FLOAT,
        dims: [1, CFG.kvHeads, past, CFG.headDim],
        data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + l) * 0.5),
      };
    }
  return f;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function phase(name: string): Promise<Record<string, number>> {
  if (name === 'convert') {
    const t = performance.now();
    const r = await convert(MODEL);
    const out = join(DIR, 'llama-1b.fp16.onnx');
    saveModel(r.model, out, { externalData: true, force: true });
    return {
      ms: performance.now() - t,
      rss: peakRss(),
      verified: r.verification.status === 'verified' ? 1 : 0,
      decodeSteps: r.verification.decode?.steps.length ?? 0,
      agreement: r.verification.decode?.agreement ?? -1,
    };
  }
  if (name === 'cp') {
    const copy = join(DIR, 'copy');
    mkdirSync(copy, { recursive: true });
    const t = performance.now();
    const r = spawnSync('cp', [MODEL, `${MODEL}.data`, copy]);
    if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
    return { ms: performance.now() - t, rss: 0 };
  }
  if (name === 'decode-amp' || name === 'decode-ort') {
    const file = process.argv[process.argv.indexOf('--file') + 1];
    const feeds = stepFeeds(128);
    const m = loadModel(file);
    const f16 = m.graph.values.get('past_key_values.0.key')?.type?.elemType === DataType.FLOAT16;
    const { feedsFor } = await import('../src/tools/verify.js');
    const fx = f16 ? feedsFor(m, feeds) : feeds;
    const times: number[] = [];
    if (name === 'decode-amp') {
      const ex = new CpuExecutor(m);
      for (let i = 0; i < 4; i++) {
        const t = performance.now();
        ex.runSync(fx);
        times.push(performance.now() - t);
      }
    } else {
      const ort = await import('onnxruntime-node');
      const { toOrt } = await import('../test/helpers/ort.js');
      const s = await ort.InferenceSession.create(file, {
        intraOpNumThreads: THREADS,
        interOpNumThreads: 1,
        logSeverityLevel: 3,
      });
      const of = Object.fromEntries(Object.entries(fx).map(([k, v]) => [k, toOrt(v)]));
      for (let i = 0; i < 4; i++) {
        const t = performance.now();
        await s.run(of);
        times.push(performance.now() - t);
      }
    }
    return { ms: median(times.slice(1)), rss: peakRss() };
  }
  throw new Error(`unknown phase ${name}`);
}

if (process.argv.includes('--phase')) {
  const r = await phase(process.argv[process.argv.indexOf('--phase') + 1]);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const t = performance.now();
  generate();
  const gb = statSync(`${MODEL}.data`).size / 2 ** 30;
  console.log(
    `model: ${MODEL} (${gb.toFixed(2)} GiB fp32 weights; generated or cached in ${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
  const cp = runPhase(SELF, 'cp');
  rmSync(join(DIR, 'copy'), { recursive: true, force: true });
  const conv = runPhase(SELF, 'convert');
  const weights = gb * 2 ** 30;
  console.log(
    `verified conversion: ${(conv.ms / 1000).toFixed(1)} s (aim ≤ 60 s: ${(conv.ms / 60000).toFixed(2)}× the aim; cp of the model ${(cp.ms / 1000).toFixed(1)} s → ${(conv.ms / cp.ms).toFixed(1)}× cp), ` +
      `peak RSS ${(conv.rss / 2 ** 30).toFixed(2)} GiB = ${(conv.rss / weights).toFixed(2)}× the fp32 weights (aim ≤ 2.5×); verified ${conv.verified ? 'yes' : 'no'}, greedy decode ${conv.decodeSteps} steps, agreement ${conv.agreement}`,
  );
  for (const [label, file] of [
    ['fp32', MODEL],
    ['fp16', join(DIR, 'llama-1b.fp16.onnx')],
  ]) {
    const amp = runPhase(SELF, 'decode-amp', ['--file', file]);
    const ort = runPhase(SELF, 'decode-ort', ['--file', file]);
    console.log(
      `decode step ${label} (cache 128, ${THREADS} threads each): CPU executor ${amp.ms.toFixed(0)} ms, onnxruntime-node ${ort.ms.toFixed(0)} ms → ${(amp.ms / ort.ms).toFixed(2)}× (aim ≤ 3×)`,
    );
  }
}
