/**
 * State carried between runs — a training step's new weights, optimizer moments and running statistics become
 * the next step's inputs without going through the caller. `RunOptions.carry` maps output → input; a later run
 * whose feeds lack that input takes the carried value. The WebGPU executor keeps carried values on the device
 * (no readback); CPU and onnxruntime keep them in host memory with this helper.
 */
import type { RTensor } from '../src/ir/rtensor.js';
import { AmpError } from '../src/core/errors.js';

export class HostCarry {
  private vals = new Map<string, RTensor>();
  /** The feeds with carried inputs filled in (a fed value wins). */
  feeds(feeds: Record<string, RTensor>): Record<string, RTensor> {
    return this.vals.size ? { ...Object.fromEntries(this.vals), ...feeds } : feeds;
  }
  /** The output names to compute: those asked for plus the carried ones. */
  outputs(asked: string[] | undefined, graphOutputs: string[], carry?: Record<string, string>): string[] | undefined {
    return carry ? [...new Set([...(asked ?? graphOutputs), ...Object.keys(carry)])] : asked;
  }
  /** Keeps the carried outputs of a run and returns only what was asked for. */
  keep(
    result: Record<string, RTensor>,
    asked: string[] | undefined,
    graphOutputs: string[],
    carry?: Record<string, string>,
  ): Record<string, RTensor> {
    if (!carry) return result;
    for (const [out, inp] of Object.entries(carry)) this.vals.set(inp, result[out]);
    const want = asked ?? graphOutputs;
    return Object.fromEntries(want.map((k) => [k, result[k]]));
  }
  read(name: string): RTensor {
    const v = this.vals.get(name);
    if (!v) throw new AmpError(`no carried value for input '${name}'`);
    return v;
  }
  clear(): void {
    this.vals.clear();
  }
}
