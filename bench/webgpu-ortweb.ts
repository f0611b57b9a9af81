/**
 * npm run bench:webgpu (its second part) — our WebGPU runtime against onnxruntime-web's WebGPU provider on the same
 * adapter, in one run (Node, Dawn; lavapipe here): a generated ResNet-50, a BERT-base-shaped encoder (2 layers,
 * sequence 128) and one decode step of a Llama-style decoder (4 layers, hidden 1024, 127 cached positions), each fp32
 * and converted to fp16 by amp-convert. Median of 3 runs after a warm-up; the ratio is ours / onnxruntime-web's time
 * (below 1: ours is faster).
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { WebGpuExecutor } from '../runtime/webgpu/executor.js';
import { encodeModel, cloneModel } from '../src/onnx/io.js';
import { convertSync } from '../src/tools/convert.js';
import { randomInputs } from '../src/tools/inputs.js';
import { feedsFor } from '../src/tools/verify.js';
import { DataType } from '../src/core/dtype.js';
import { ORT_TYPE } from '../runtime/ort/types.js';
import { resnet50, bertEncoder } from '../fixtures/scripts/bench-models.js';
import { llamaPrim, LLAMA } from '../fixtures/scripts/transformers.js';
import { ortWeb } from '../test/helpers/runtime-probe.js';
import type { Model } from '../src/ir/graph.js';
import type { RTensor } from '../src/ir/rtensor.js';
import { timeIt } from './util.js';

export const DECODER = {
  ...LLAMA,
  vocab: 8192,
  dim: 1024,
  heads: 16,
  kvHeads: 4,
  headDim: 64,
  ffn: 2816,
  layers: 4,
  maxPos: 256,
};
/** One decode step: a token at position 127 with 127 cached positions per layer. */
export function decodeFeeds(m: Model): Record<string, RTensor> {
  const feeds: Record<string, RTensor> = {
    input_ids: { dtype: DataType.INT64, dims: [1, 1], data: BigInt64Array.from([17n]) },
    position_ids: { dtype: DataType.INT64, dims: [1, 1], data: BigInt64Array.from([127n]) },
  };
  const past = 127,
    n = DECODER.kvHeads * past * DECODER.headDim;
  for (const name of m.graph.inputs)
    if (name.startsWith('past_key_values.'))
      feeds[name] = {
        dtype: DataType.FLOAT,
        dims: [1, DECODER.kvHeads, past, DECODER.headDim],
        data: Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5),
      };
  return feeds;
}

// Run as a script (bench/webgpu-page.ts imports the decoder's size and feeds from here).
if (fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? '')) {
  const ort = await ortWeb();
  const models: [string, Model, (m: Model) => Record<string, RTensor>][] = [
    ['ResNet-50', resnet50(), (m) => randomInputs(m, 1, {})],
    ['BERT-base encoder (2 layers, seq 128)', bertEncoder(), (m) => randomInputs(m, 1, {})],
    ['Llama-style decode step (4 layers, hidden 1024)', llamaPrim(31, DECODER), decodeFeeds],
  ];
  const rows = [];
  for (const [name, fp32, feedsOf] of models) {
    const base = feedsOf(fp32);
    for (const [tag, m] of [
      ['fp32', fp32],
      ['fp16', convertSync(cloneModel(fp32)).model],
    ] as const) {
      const feeds = feedsFor(m, base);
      const ours = await WebGpuExecutor.create(m);
      const oursMs = await timeIt(() => ours.run(feeds), 3);
      const placed = `${Object.values(ours.cpuNodes).reduce((a, b) => a + b, 0)} on the CPU`;
      ours.dispose();
      const sess = await ort.InferenceSession.create(encodeModel(m), { executionProviders: ['webgpu'] });
      const of = Object.fromEntries(
        Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(ORT_TYPE[t.dtype] as never, t.data as never, t.dims)]),
      );
      const webMs = await timeIt(() => sess.run(of), 3);
      await sess.release();
      rows.push({
        model: `${name} ${tag}`,
        'ours ms': oursMs.toFixed(0),
        'onnxruntime-web ms': webMs.toFixed(0),
        'ours / onnxruntime-web': `${(oursMs / webMs).toFixed(2)}×`,
        'our nodes': placed,
      });
      console.log(JSON.stringify(rows.at(-1)));
    }
  }
  console.log('WebGPU: amp-convert vs onnxruntime-web (WebGPU provider), same adapter, this run:');
  console.table(rows);
  process.exit(0);
}
