/**
 * Backend selection. Every executor implements `Executor`; `createExecutor` picks one by name (validated
 * here, once, for the CLI and the API alike). 'auto' uses WebGPU when a hardware adapter is available, else the
 * CPU reference (also when the only adapter is a software rasterizer), and says which and why; 'ort' runs onnxruntime-node when it is installed. The WebGPU and
 * onnxruntime modules are imported only when asked for.
 */
import type { Model } from '../src/ir/graph.js';
import type { RTensor } from '../src/ir/rtensor.js';
import { CpuExecutor, type RunOptions } from './cpu/executor.js';
import { AmpError } from '../src/core/errors.js';

/** What every backend offers: run a model on feeds, dispose. */
export interface Executor {
  readonly name: string;
  run(feeds: Record<string, RTensor>, opts?: RunOptions): Promise<Record<string, RTensor>>;
  /** The value carried for input `name` by an earlier run's `RunOptions.carry` (read back from the device if it lives there). */
  readCarried(name: string): Promise<RTensor>;
  dispose(): void;
}
/** The backend names run, diff and train-check accept. */
export const BACKENDS = ['cpu', 'webgpu', 'ort', 'auto'] as const;
/** One of BACKENDS. */
export type BackendName = (typeof BACKENDS)[number];
/** A backend name from user input; throws a one-line error naming the choices. */
export function parseBackend(name: string | undefined): BackendName {
  const n = name ?? 'cpu';
  if (!(BACKENDS as readonly string[]).includes(n))
    throw new AmpError(`--backend must be ${BACKENDS.slice(0, -1).join(', ')} or ${BACKENDS.at(-1)} (got '${n}')`);
  return n as BackendName;
}
/** Backend choice for run/diff: the backend, a WebGPU adapter name, fp16 accumulation emulation (CPU). */
export interface BackendOptions {
  backend?: BackendName;
  adapter?: string;
  fp16Accumulate?: boolean;
}

/** An executor for a backend name ('auto' picks WebGPU when an adapter is there, else the CPU). */
export async function createExecutor(
  model: Model,
  opts: BackendOptions = {},
): Promise<{ executor: Executor; note?: string }> {
  const backend = parseBackend(opts.backend);
  if (backend === 'ort') {
    if (opts.fp16Accumulate) throw new AmpError('--fp16-accumulate is a CPU reference option');
    const { OrtExecutor } = await import('./ort/executor.js');
    return {
      executor: await OrtExecutor.create(model),
      note: 'onnxruntime-node (CPU provider): outputs as a production runtime computes them, not the fp16 storage oracle',
    };
  }
  if (backend === 'webgpu' || backend === 'auto') {
    if (opts.fp16Accumulate && backend === 'webgpu')
      throw new AmpError('--fp16-accumulate is a CPU reference option; the WebGPU kernels accumulate in f32');
    try {
      const { WebGpuExecutor } = await import('./webgpu/executor.js');
      const ex = await WebGpuExecutor.create(model, { adapter: opts.adapter });
      // A software rasterizer runs WebGPU on the CPU, slower than the CPU executor (ResNet-50 on lavapipe: about
      // five times, bench:webgpu vs bench:cpu): auto takes the CPU then, unless an adapter was named.
      if (backend === 'auto' && ex.ctx.software && !opts.adapter) {
        ex.dispose();
        return {
          executor: new CpuExecutor(model, { fp16Accumulate: opts.fp16Accumulate }),
          note: `backend auto: using cpu (the only WebGPU adapter, '${ex.ctx.adapterName}', is a software rasterizer, slower than the CPU executor; --adapter NAME to use it anyway)`,
        };
      }
      return { executor: ex, note: `${backend === 'auto' ? 'backend auto: using webgpu; ' : ''}${ex.note}` };
    } catch (e) {
      if (backend === 'webgpu') throw e;
      return {
        executor: new CpuExecutor(model, { fp16Accumulate: opts.fp16Accumulate }),
        note: `backend auto: using cpu (${(e as Error).message})`,
      };
    }
  }
  return { executor: new CpuExecutor(model, { fp16Accumulate: opts.fp16Accumulate }) };
}
export type { RunOptions };
