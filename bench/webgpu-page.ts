/**
 * npm run bench:webgpu (its third part) — the same comparison as bench/webgpu-ortweb.ts in a browser: Debian's
 * headless Chromium, whose WebGPU is SwiftShader (no shader-f16: our fp16 storage is emulated in f32 there), the
 * page served from 127.0.0.1. Each model runs on amp-convert's WebGPU runtime and on onnxruntime-web's WebGPU
 * provider in the same page, median of 3 after a warm-up.
 */
import { encodeModel, cloneModel } from '../src/onnx/io.js';
import { convertSync } from '../src/tools/convert.js';
import { randomInputs } from '../src/tools/inputs.js';
import { resnet50, bertEncoder } from '../fixtures/scripts/bench-models.js';
import { llamaPrim } from '../fixtures/scripts/transformers.js';
import { openWebPage, chromiumPresent } from '../test/helpers/web-page.js';
import { DECODER, decodeFeeds } from './webgpu-ortweb.js';
import type { Model } from '../src/ir/graph.js';
import type { RTensor } from '../src/ir/rtensor.js';

if (!chromiumPresent) {
  console.log('bench:webgpu in Chromium skipped: no chromium (scripts/setup-system.sh installs it)');
  process.exit(0);
}
const models: [string, Model, (m: Model) => Record<string, RTensor>][] = [
  ['ResNet-50', resnet50(), (m) => randomInputs(m, 1, {})],
  ['BERT-base encoder (2 layers, seq 128)', bertEncoder(), (m) => randomInputs(m, 1, {})],
  ['Llama-style decode step (4 layers, hidden 1024)', llamaPrim(31, DECODER), decodeFeeds],
];
const files: Record<string, Uint8Array> = {};
const jobs: {
  label: string;
  file: string;
  feeds: Record<string, { dtype: number; dims: number[]; data: number[] }>;
}[] = [];
for (const [name, fp32, feedsOf] of models) {
  const feeds = Object.fromEntries(
    Object.entries(feedsOf(fp32)).map(([k, t]) => [
      k,
      { dtype: t.dtype, dims: t.dims, data: Array.from(t.data as ArrayLike<number | bigint>, Number) },
    ]),
  );
  for (const [tag, m] of [
    ['fp32', fp32],
    ['fp16', convertSync(cloneModel(fp32)).model],
  ] as const) {
    const file = `${jobs.length}.onnx`;
    files[file] = encodeModel(m);
    jobs.push({ label: `${name} ${tag}`, file, feeds });
  }
}
const web = await openWebPage({ files, path: 'bench.html' });
const rows = [];
try {
  for (const j of jobs) {
    const r = await web.page.evaluate(
      ([file, feeds]) =>
        (
          globalThis as unknown as {
            benchModel: (
              u: string,
              f: unknown,
            ) => Promise<{ ms: number; ortWebMs: number; ortWebError?: string; adapter: string; cpuNodes: number }>;
          }
        ).benchModel(file, feeds),
      [j.file, j.feeds] as const,
    );
    rows.push({
      model: j.label,
      'ours ms': r.ms.toFixed(0),
      'onnxruntime-web ms': r.ortWebError
        ? `cannot run it: ${r.ortWebError.replace(/^.*ERROR_MESSAGE: (shader_helper\.cc:\d+ )?/, '')}`
        : r.ortWebMs.toFixed(0),
      'ours / onnxruntime-web': r.ortWebError ? '–' : `${(r.ms / r.ortWebMs).toFixed(2)}×`,
      'our nodes': `${r.cpuNodes} on the CPU`,
    });
    console.log(JSON.stringify({ adapter: r.adapter, ...rows.at(-1) }));
  }
} finally {
  if (web.errors.length) console.log(`page errors: ${web.errors.join('; ')}`);
  await web.close();
}
console.log('WebGPU in Chromium (SwiftShader): amp-convert vs onnxruntime-web (WebGPU provider), same page, this run:');
console.table(rows);
