/**
 * Worker threads for the WebAssembly kernels: each worker instantiates the same module on the same shared
 * memory, and `parallelFor` splits a kernel's index range (panels or rows) between the workers and the
 * calling thread. Synchronization is Atomics.wait/notify on a small shared control block — the executor is
 * synchronous, so the caller blocks until every part is done (tens of microseconds per call).
 *
 * Threads: AMP_THREADS (default: available cores, at most 8); 1 runs everything on the calling thread. The
 * workers are unref'd, so they never keep a process alive.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

/** Control block per worker: [state, fn, arg0..arg19]; state 0 idle, 1 run, 2 done, -1 exit. */
const SLOT = 24;
const WORKER_SRC = `
const { workerData } = require('node:worker_threads');
const { memory, module, ctrl, slot, fns } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const c = new Int32Array(ctrl);
const b = slot * ${SLOT};
for (;;) {
  const st = Atomics.load(c, b);
  if (st === -1) break;
  if (st !== 1) { Atomics.wait(c, b, st); continue; }
  ex[fns[c[b + 1]]](...c.subarray(b + 2, b + ${SLOT}));
  Atomics.store(c, b, 2);
  Atomics.notify(c, b);
}`;

export interface Pool {
  threads: number;
  parallelFor(fn: string, args: number[], lo: number, hi: number, rangeArg: number): void;
}

/** Starts the worker pool for a module instance on `memory`; `local` runs a kernel on the calling thread. */
export function startPool(
  memory: WebAssembly.Memory,
  module: WebAssembly.Module,
  fns: string[],
  local: Record<string, (...a: number[]) => void>,
): Pool {
  // Workers are Node's worker_threads: in a browser the kernels run on the calling thread alone.
  const inNode = typeof process !== 'undefined' && !!process.versions?.node;
  const env = inNode ? Number(process.env.AMP_THREADS) : 1;
  const threads = Number.isInteger(env) && env >= 1 ? env : Math.min(8, Math.max(1, availableParallelism()));
  const ctrl = new SharedArrayBuffer(4 * SLOT * Math.max(1, threads - 1));
  const c = new Int32Array(ctrl);
  const workers: Worker[] = [];
  for (let slot = 0; slot < threads - 1; slot++) {
    const w = new Worker(WORKER_SRC, { eval: true, workerData: { memory, module, ctrl, slot, fns } });
    w.unref();
    workers.push(w);
  }
  return {
    threads,
    /**
     * Runs fn(args) over [lo, hi) split in contiguous parts: args[rangeArg] and args[rangeArg + 1] are set to
     * each part's bounds. Small ranges run on the calling thread alone.
     */
    parallelFor(fn, args, lo, hi, rangeArg) {
      const parts = Math.min(threads, hi - lo);
      if (parts <= 1) {
        local[fn](...args);
        return;
      }
      const step = Math.ceil((hi - lo) / parts);
      const id = fns.indexOf(fn);
      for (let w = 0; w < parts - 1; w++) {
        const b = w * SLOT,
          a = [...args];
        a[rangeArg] = lo + (w + 1) * step;
        a[rangeArg + 1] = Math.min(hi, lo + (w + 2) * step);
        c[b + 1] = id;
        for (let i = 0; i < a.length; i++) c[b + 2 + i] = a[i];
        Atomics.store(c, b, 1);
        Atomics.notify(c, b);
      }
      const mine = [...args];
      mine[rangeArg] = lo;
      mine[rangeArg + 1] = Math.min(hi, lo + step);
      local[fn](...mine);
      for (let w = 0; w < parts - 1; w++) {
        const b = w * SLOT;
        while (Atomics.load(c, b) !== 2) Atomics.wait(c, b, 1);
        Atomics.store(c, b, 0);
      }
    },
  };
}
