/**
 * Backend selection. Every executor implements `Executor`; `createExecutor` picks one by name.
 * Today the CPU reference is the only backend built; 'auto' says which one it picked and why.
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
  if (backend === 'webgpu') {
    throw new AmpError("the WebGPU backend is not part of this build yet; use --backend cpu (or auto)");
  }
  const executor = new CpuExecutor(model, { fp16Accumulate: opts.fp16Accumulate });
  return { executor, note: backend === 'auto' ? 'backend auto: using cpu (no WebGPU runtime in this build)' : undefined };
}
export type { RunOptions };
