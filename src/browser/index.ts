/**
 * amp-convert in the browser (`amp-convert/browser`): the same pass, verification and reports as the CLI, on a
 * model's bytes in memory — nothing leaves the page — and the converted model run on `navigator.gpu`. Imports
 * only the public API; a bundler maps Node's built-ins to stubs (scripts/web.config.ts shows how), which the
 * browser paths never call: no files, no worker threads (the CPU executor runs on the calling thread), no
 * onnxruntime-node.
 */
import {
  convert,
  encodeModel,
  modelFromBytes,
  formatSummary,
  formatVerification,
  renderHtml,
  createExecutor,
  synthesizeInputs,
  feedsFor,
  CpuExecutor,
  toFloat32,
  tensorStats,
  DataType,
  type ConvertRunOptions,
  type ConvertResult,
  trainCheck,
  type TrainCheckOptions,
  type TrainCheckReport,
  type RTensor,
} from '../index.js';

/** A conversion done in the page: the converted model's bytes and what the CLI would print about it. */
export interface BrowserConversion {
  bytes: Uint8Array;
  /** The summary and verification lines, as `amp-convert` prints them. */
  text: string;
  verified: boolean;
  /** The precision-diff report as one self-contained HTML page (with `report: true`). */
  reportHtml?: string;
  result: Omit<ConvertResult, 'model'>;
}

/** Converts a model given as bytes, verified unless `verify: false`; `name` labels the summary. */
export async function convertModel(
  bytes: Uint8Array,
  options: ConvertRunOptions & { name?: string } = {},
): Promise<BrowserConversion> {
  const { name = 'model.onnx', ...opts } = options;
  const t0 = performance.now();
  const { model, ...result } = await convert(modelFromBytes(bytes, { file: name }), opts);
  const out = encodeModel(model);
  const outName = name.replace(/\.onnx$/i, '') + `.${result.summary.target}.onnx`;
  const summary = formatSummary(result.summary, {
    input: name,
    output: outName,
    bytesBefore: bytes.byteLength,
    bytesAfter: out.byteLength,
    ms: performance.now() - t0,
  });
  const report = result.report ? renderHtml(result.report, `${name} → ${outName}`) : undefined;
  const extra = result.notes.filter((n) => n.kind === 'report').map((n) => n.text);
  return {
    bytes: out,
    text: [summary, ...formatVerification(result.verification), ...extra].join('\n'),
    verified: result.verification.status === 'verified' || result.verification.status === 'skipped',
    reportHtml: report,
    result,
  };
}

/** The converted model on the page's WebGPU adapter against the CPU reference, on synthesized inputs. */
export interface GpuCheck {
  adapter: string;
  shaderF16: boolean;
  /** Per output: max|Δ|/max|ref| and cosine of the WebGPU outputs against the CPU executor's. */
  outputs: { name: string; scaled: number; cosine: number }[];
  gpuNodes: number;
  cpuNodes: number;
  ms: number;
}

/** Runs a model on WebGPU (navigator.gpu) and on the CPU reference with the same feeds (default: synthesized). */
export async function checkOnWebGpu(bytes: Uint8Array, feeds?: Record<string, RTensor>, seed = 0): Promise<GpuCheck> {
  const model = modelFromBytes(bytes);
  // Given feeds (fp32, say) are cast to the model's input types, as verification does.
  feeds = feeds ? feedsFor(model, feeds) : synthesizeInputs(model, 1, seed)[0];
  const ref = new CpuExecutor(model).runSync(feeds);
  const { executor } = await createExecutor(modelFromBytes(bytes), { backend: 'webgpu' });
  try {
    const t0 = performance.now();
    const got = await executor.run(feeds);
    const ms = performance.now() - t0;
    const info = executor as unknown as {
      adapter?: { name: string; shaderF16: boolean };
      gpuNodes?: Record<string, number>;
      cpuNodes?: Record<string, number>;
    };
    return {
      adapter: info.adapter?.name ?? executor.name,
      shaderF16: !!info.adapter?.shaderF16,
      outputs: Object.keys(ref).map((name) => {
        const s = tensorStats(toFloat32(ref[name]), toFloat32(got[name] as RTensor));
        return { name, scaled: s.scaled, cosine: s.cosine };
      }),
      gpuNodes: nodeCount(info.gpuNodes),
      cpuNodes: nodeCount(info.cpuNodes),
      ms,
    };
  } finally {
    executor.dispose();
  }
}

/** A tensor given as plain JSON (element type code, dims, values as numbers): what a page can post or store. */
export interface JsonTensor {
  dtype: number;
  dims: number[];
  data: number[];
}
const JSON_ARRAYS: Record<number, (v: number[]) => RTensor['data']> = {
  [DataType.FLOAT]: (v) => Float32Array.from(v),
  [DataType.DOUBLE]: (v) => Float64Array.from(v),
  [DataType.FLOAT16]: (v) => Uint16Array.from(v),
  [DataType.BFLOAT16]: (v) => Uint16Array.from(v),
  [DataType.INT32]: (v) => Int32Array.from(v),
  [DataType.INT64]: (v) => BigInt64Array.from(v.map((x) => BigInt(x))),
  [DataType.BOOL]: (v) => Uint8Array.from(v),
  [DataType.UINT8]: (v) => Uint8Array.from(v),
  [DataType.INT8]: (v) => Int8Array.from(v),
};
/** JSON tensors as runtime tensors (fp16/bf16 values are their bits). */
export function tensorsFromJson(feeds: Record<string, JsonTensor>): Record<string, RTensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => {
      const make = JSON_ARRAYS[t.dtype];
      if (!make) throw new Error(`input '${name}': element type ${t.dtype} cannot be given as JSON here`);
      return [name, { dtype: t.dtype, dims: t.dims, data: make(t.data) }];
    }),
  );
}

/** A dataset as plain JSON: flat feature rows and labels for training and test. */
export interface JsonDataset {
  name: string;
  features: number;
  classes: number;
  xTrain: number[];
  yTrain: number[];
  xTest: number[];
  yTest: number[];
}

/**
 * The training check in the page: fp32, AMP with loss scaling, AMP without, and bf16, from the same initial
 * weights, on the page's WebGPU (default) — the mixed-precision step graph runs on the device, state carried
 * there between steps (`crossings` in the report counts values read back for the CPU).
 */
export async function trainCheckInPage(
  data: JsonDataset,
  opts: Omit<TrainCheckOptions, 'data' | 'model'> = {},
): Promise<TrainCheckReport> {
  const dataset = {
    ...data,
    xTrain: Float32Array.from(data.xTrain),
    yTrain: Int32Array.from(data.yTrain),
    xTest: Float32Array.from(data.xTest),
    yTest: Int32Array.from(data.yTest),
  };
  return trainCheck({ backend: 'webgpu', ...opts, data: dataset });
}

/** Nodes counted over an executor's per-op tally (gpuNodes / cpuNodes). */
const nodeCount = (r?: Record<string, number>): number => Object.values(r ?? {}).reduce((a, b) => a + b, 0);

/** The median wall time in ms of `reps` runs of `fn` (warm it up first: the first run compiles). */
export async function medianTime(fn: () => Promise<unknown>, reps: number): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

/** Median time of `reps` runs of a model on the page's WebGPU (after a warm-up run), and where its nodes ran. */
export async function timeOnWebGpu(
  bytes: Uint8Array,
  feeds: Record<string, RTensor>,
  reps = 3,
): Promise<{ ms: number; adapter: string; cpuNodes: number }> {
  const model = modelFromBytes(bytes);
  const { executor } = await createExecutor(model, { backend: 'webgpu' });
  try {
    const f = feedsFor(model, feeds);
    await executor.run(f);
    const ms = await medianTime(() => executor.run(f), reps);
    const info = executor as unknown as { adapter?: { name: string }; cpuNodes?: Record<string, number> };
    return { ms, adapter: info.adapter?.name ?? executor.name, cpuNodes: nodeCount(info.cpuNodes) };
  } finally {
    executor.dispose();
  }
}

/** Feeds (fp32, say) cast to a model's input types, the model given as bytes: what another runtime is handed. */
export const feedsForModel = (bytes: Uint8Array, feeds: Record<string, RTensor>): Record<string, RTensor> =>
  feedsFor(modelFromBytes(bytes), feeds);
