/** `run()`: execute a model on a backend with given feeds; returns outputs and timing. */
import { Model } from '../ir/graph.js';
import { loadModel, modelFromBytes } from '../onnx/io.js';
import { createExecutor, type BackendOptions } from '../../runtime/backend.js';
import type { RTensor } from '../ir/rtensor.js';

/** Outputs of run, the backend that ran them, time, and the adapter for WebGPU. */
export interface RunResult {
  outputs: Record<string, RTensor>;
  backend: string;
  ms: number;
  note?: string;
  adapter?: { name: string; features: string[]; shaderF16: boolean };
  /** WebGPU: nodes that ran on the CPU reference and had to read a GPU value back (a GPU → CPU crossing). */
  crossings?: number;
}

/**
 * `run --json` (one line): the backend, its note and adapter, the time, and per output its element type by
 * name, dims and values (the first 16 unless --all; int64 as numbers, bool as true/false, fp16 decoded).
 */
export interface RunJson {
  backend: string;
  adapter?: RunResult['adapter'];
  note?: string;
  ms: number;
  outputs: { name: string; dtype: string; dims: number[]; values: (number | string | boolean)[]; truncated: boolean }[];
}

/** Runs a model on the CPU executor or the WebGPU runtime; returns its outputs and the time taken. */
export async function run(
  input: Model | string | Uint8Array,
  feeds: Record<string, RTensor>,
  opts: BackendOptions & { outputs?: string[] } = {},
): Promise<RunResult> {
  const model = input instanceof Model ? input : typeof input === 'string' ? loadModel(input) : modelFromBytes(input);
  const { executor, note } = await createExecutor(model, opts);
  try {
    const t0 = performance.now();
    const outputs = await executor.run(feeds, { outputs: opts.outputs });
    const ms = performance.now() - t0;
    const adapter = (executor as { adapter?: RunResult['adapter'] }).adapter;
    // The WebGPU executor says which nodes ran on the CPU reference instead (each a GPU ↔ CPU crossing).
    const placed = executor as {
      gpuNodes?: Record<string, number>;
      cpuNodes?: Record<string, number>;
      crossings?: number;
    };
    const crossings = placed.crossings;
    const onCpu = placed.cpuNodes ? Object.values(placed.cpuNodes).reduce((a, b) => a + b, 0) : 0;
    const where =
      placed.gpuNodes && placed.cpuNodes
        ? `; ${Object.values(placed.gpuNodes).reduce((a, b) => a + b, 0)} nodes on the GPU, ${onCpu} on the CPU${
            onCpu
              ? ` (${Object.entries(placed.cpuNodes)
                  .map(([k, v]) => `${k}×${v}`)
                  .join(' ')})`
              : ''
          }, ${crossings} reading a GPU value back`
        : '';
    return {
      outputs,
      backend: executor.name,
      ms,
      note: note || where ? `${note ?? ''}${where}` : undefined,
      adapter,
      crossings,
    };
  } finally {
    executor.dispose();
  }
}
