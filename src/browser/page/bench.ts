/**
 * The in-page bench (bench/webgpu-page.ts drives it): a model served beside the page, timed on amp-convert's WebGPU
 * runtime and on onnxruntime-web's WebGPU provider, on the same adapter, median of `reps` runs after a warm-up.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { timeOnWebGpu, tensorsFromJson, feedsForModel, medianTime, type JsonTensor } from '../index.js';

const ORT_NAMES: Record<number, string> = { 1: 'float32', 10: 'float16', 7: 'int64', 6: 'int32', 9: 'bool' };

async function benchModel(url: string, feedsJson: Record<string, JsonTensor>, reps = 3) {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const feeds = tensorsFromJson(feedsJson);
  const ours = await timeOnWebGpu(bytes, feeds, reps);
  ort.env.wasm.numThreads = 1;
  // Our result with onnxruntime-web's failure instead of its time (the first line of its message).
  const refused = (e: unknown) => ({
    ...ours,
    ortWebMs: NaN,
    ortWebError: String((e as Error).message)
      .split('\n')[0]
      .slice(0, 160),
  });
  let sess: ort.InferenceSession;
  try {
    sess = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
  } catch (e) {
    // onnxruntime-web has no fp16 emulation: without shader-f16 it refuses fp16 models.
    return refused(e);
  }
  const of = Object.fromEntries(
    Object.entries(feedsForModel(bytes, feeds)).map(([k, t]) => [
      k,
      new ort.Tensor(ORT_NAMES[t.dtype] as never, t.data as never, t.dims),
    ]),
  );
  try {
    await sess.run(of);
  } catch (e) {
    await sess.release();
    return refused(e);
  }
  const ortWebMs = await medianTime(() => sess.run(of), reps);
  await sess.release();
  return { ...ours, ortWebMs };
}

Object.assign(globalThis, { benchModel });
