/** Shared benchmark helpers: timing, peak RSS of a child phase, a generated large fp32 model. */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ModelBuilder } from '../src/ir/builder.js';
import { DataType } from '../src/ir/dtype.js';
import type { Model } from '../src/ir/graph.js';

export function time<T>(fn: () => T): { ms: number; value: T } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}
/** Peak resident set of this process so far (VmHWM), in bytes. */
export function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}
/** Runs `file --phase NAME args` in a fresh process, returning its JSON line (so each phase has its own peak RSS). */
export function runPhase(file: string, phase: string, args: string[] = []): Record<string, number> {
  const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
  const r = spawnSync(tsx, [file, '--phase', phase, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`phase ${phase} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
/** A model with `mb` MB of fp32 weights in 64 MB MatMul layers (values in a realistic ±0.1 range). */
export function bigModel(mb: number): Model {
  const b = new ModelBuilder({ opset: 17 });
  const dim = 4096;
  let x = b.input('x', DataType.FLOAT, [1, dim]);
  const layers = Math.ceil((mb * 2 ** 20) / (dim * dim * 4));
  for (let l = 0; l < layers; l++) {
    const w = new Float32Array(dim * dim);
    for (let i = 0; i < w.length; i++) w[i] = (((i * 2654435761) >>> 0) / 2 ** 32 - 0.5) * 0.2;
    const name = b.init(`w${l}`, DataType.FLOAT, [dim, dim], w);
    [x] = b.node('MatMul', [x, name]);
    [x] = b.node('Relu', [x]);
  }
  b.output(x, DataType.FLOAT, [1, dim]);
  return b.build();
}
export const MiB = 2 ** 20;
