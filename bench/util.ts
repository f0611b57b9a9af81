/** Shared benchmark helpers: timing, peak RSS of a child phase, a generated large fp32 model. */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ModelBuilder, GraphBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import type { Model } from '../src/ir/graph.js';
import type { RTensor } from '../src/ir/rtensor.js';

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
/**
 * A phase run `times` times, each in its own process after a `sync` (a phase that writes must not pay for the
 * previous one's writes): the median time and the largest peak RSS. The file system of a shared VM moves the
 * time of one run by 2–5× (a `cp` of 512 MiB took 124–1288 ms across runs here); the median of a few is steadier.
 */
export function medianPhase(file: string, phase: string, args: string[] = [], times = 3): Record<string, number> {
  const runs = Array.from({ length: times }, () => {
    spawnSync('sync');
    return runPhase(file, phase, args);
  });
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b)[Math.floor(times / 2)];
  return { ...runs[0], ms, rss: Math.max(...runs.map((r) => r.rss)) };
}
/**
 * A generated MLP of about `mb` MiB of fp32 weights (4096 × 4096 MatMul + Relu layers). `branch`: it ends in an If
 * whose branches compute in float (the shape of a merged LLM decoder's use_cache_branch), so the pass converts
 * copies of the model to find the If outputs that can go low.
 */
export function bigModel(mb: number, branch = false): Model {
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
  if (branch) {
    const t = new GraphBuilder('then', b.graph),
      e = new GraphBuilder('else', b.graph);
    t.output(t.node('Sigmoid', [x])[0], DataType.FLOAT, [1, dim]);
    e.output(e.node('Tanh', [x])[0], DataType.FLOAT, [1, dim]);
    [x] = b.node('If', [b.input('cond', DataType.BOOL, [])], { then_branch: t.graph, else_branch: e.graph });
  }
  b.output(x, DataType.FLOAT, [1, dim]);
  return b.build();
}
export const MiB = 2 ** 20;

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** The median time in ms of `reps` runs of `fn` after one warm-up run. */
export async function timeIt(fn: () => unknown | Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

/**
 * A model's multiply-add work, counted on one CPU run: 2 · output elements · (input channels per group ·
 * kernel taps) per Conv, 2 · output elements · K per MatMul and Gemm (K read from the first operand); what
 * runs in a subgraph counts where its operands are known.
 */
export async function countFlops(model: Model, feeds: Record<string, RTensor>): Promise<number> {
  const { CpuExecutor } = await import('../runtime/cpu/executor.js');
  let flop = 0;
  const dims = new Map<string, number[]>(Object.entries(feeds).map(([k, v]) => [k, v.dims]));
  for (const g of model.graph.allGraphs()) for (const [k, t] of g.initializers) dims.set(k, t.dims);
  new CpuExecutor(model).runSync(feeds, {
    onValue: (name, v, node) => {
      dims.set(name, v.dims);
      if (!node || node.outputs[0] !== name) return;
      const out = v.dims.reduce((a, c) => a * c, 1);
      // Operands of unknown shape (a subgraph's own inputs) are left out of the count.
      const a = dims.get(node.inputs[0]),
        w = dims.get(node.inputs[1]);
      if (node.opType === 'Conv' && w) flop += 2 * out * w.slice(1).reduce((x, c) => x * c, 1);
      else if (node.opType === 'MatMul' && a) flop += 2 * out * a.at(-1)!;
      else if (node.opType === 'Gemm' && a) flop += 2 * out * (node.attrInt('transA', 0) ? a[0] : a[1]);
    },
  });
  return flop;
}

/**
 * The WebAssembly SIMD ceiling of this machine, in GFLOP/s on `threads` threads at once: a kernel of ours with
 * twelve independent f32x4 multiply-then-add chains and no memory access (what a GEMM's inner loop does
 * between its loads; WebAssembly SIMD has no deterministic fused multiply-add). Compiled here from
 * AssemblyScript, run on worker threads together, best of three.
 */
export async function wasmSimdCeiling(threads: number): Promise<number> {
  const asc = (await import('assemblyscript/asc')).default;
  const chains = Array.from({ length: 12 }, (_, i) => i);
  const src = `export function peak(n: i32, s: f32): f32 {
  const y = f32x4.splat(s); let z = f32x4.splat(s * 0.5);
  ${chains.map((i) => `let c${i} = f32x4.splat(0);`).join(' ')}
  for (let i = 0; i < n; i++) {
    ${chains.map((i) => `c${i} = f32x4.add(c${i}, f32x4.mul(y, z));`).join(' ')}
    z = f32x4.add(z, y);
  }
  let t = c0; ${chains
    .slice(1)
    .map((i) => `t = f32x4.add(t, c${i});`)
    .join(' ')}
  return f32x4.extract_lane(t, 0);
}`;
  const { binary, error, stderr } = await asc.compileString(src, {
    optimizeLevel: 3,
    runtime: 'stub',
    enable: ['simd'],
  });
  if (error || !binary) throw new Error(`ceiling kernel: ${String(stderr)}`);
  const { Worker } = await import('node:worker_threads');
  const N = 2e7;
  const body = `const { parentPort, workerData } = require('node:worker_threads');
const ex = new WebAssembly.Instance(new WebAssembly.Module(workerData), {}).exports;
ex.peak(${N / 10}, 1e-9);
parentPort.on('message', () => { const t = performance.now(); ex.peak(${N}, 1e-9); parentPort.postMessage(performance.now() - t); });`;
  const workers = Array.from({ length: threads }, () => new Worker(body, { eval: true, workerData: binary }));
  try {
    let best = 0;
    for (let r = 0; r < 3; r++) {
      const ms = await Promise.all(
        workers.map((w) => new Promise<number>((res) => (w.once('message', res), w.postMessage(0)))),
      );
      best = Math.max(best, (threads * N * chains.length * 8) / (Math.max(...ms) * 1e6));
    }
    return best;
  } finally {
    for (const w of workers) await w.terminate();
  }
}
