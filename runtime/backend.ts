/**
 * Backend selection. Every executor implements `Executor`; `createExecutor` picks one by name. 'auto' uses
 * WebGPU when an adapter is available and the model has no control flow, else the CPU reference, and
 * says which and why.
 */
import type { Model } from '../src/ir/graph.js';
import type { RTensor } from './tensor.js';
import { CpuExecutor, type RunOptions } from './cpu/executor.js';
import { AmpError } from '../src/errors.js';

export interface Executor {
  readonly name: string;
  run(feeds: Record<string, RTensor>, opts?: RunOptions): Promise<Record<string, RTensor>>;
  dispose(): void;
}
export type BackendName = 'cpu' | 'webgpu' | 'auto';
export interface BackendOptions { backend?: BackendName; adapter?: string; fp16Accumulate?: boolean }

export async function createExecutor(model: Model, opts: BackendOptions = {}): Promise<{ executor: Executor; note?: string }> {
  const backend = opts.backend ?? 'cpu';
  if (backend === 'webgpu' || backend === 'auto') {
    if (opts.fp16Accumulate && backend === 'webgpu') throw new AmpError('--fp16-accumulate is a CPU reference option; the WebGPU kernels accumulate in f32');
    try {
      const { WebGpuExecutor } = await import('./webgpu/executor.js');
      const ex = await WebGpuExecutor.create(model, { adapter: opts.adapter });
      return { executor: ex, note: `${backend === 'auto' ? 'backend auto: using webgpu; ' : ''}${ex.note}` };
    } catch (e) {
      if (backend === 'webgpu') throw e;
      return { executor: new CpuExecutor(model, { fp16Accumulate: opts.fp16Accumulate }), note: `backend auto: using cpu (${(e as Error).message})` };
    }
  }
  return { executor: new CpuExecutor(model, { fp16Accumulate: opts.fp16Accumulate }) };
}
export type { RunOptions };
