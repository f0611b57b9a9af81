/**
 * Worker threads for the WebAssembly kernels: each worker instantiates the same module on the same shared
 * memory, and `parallelFor` splits a kernel's index range (panels or rows) between the workers and the
 * calling thread; `jobs` runs one JavaScript job (./jobs.ts) a thread, each part handed to its worker as a
 * message read synchronously (receiveMessageOnPort). Synchronization is Atomics.wait/notify on a small shared
 * control block — the executor is synchronous, so the caller blocks until every part is done (tens of
 * microseconds per call).
 *
 * Threads: AMP_THREADS (default: available cores, at most 8); 1 runs everything on the calling thread. The
 * workers are unref'd, so they never keep a process alive.
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { JOBS, type JobName } from './jobs.js';

/** Control block per worker: [state, fn, arg0..arg19]; state 0 idle, 1 run, 2 done, 3 run the job on the port, -1 exit. */
const SLOT = 24;
// `__name`: what a bundler's keep-names transform may call inside a function's text; the jobs need none of it.
const WORKER_SRC = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { memory, module, ctrl, slot, fns, port } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const __name = (f) => f;
const JOBS = { ${Object.entries(JOBS)
  .map(([name, fn]) => `${name}: (${fn.toString()})`)
  .join(', ')} };
const c = new Int32Array(ctrl);
const b = slot * ${SLOT};
for (;;) {
  const st = Atomics.load(c, b);
  if (st === -1) break;
  if (st === 1) ex[fns[c[b + 1]]](...c.subarray(b + 2, b + ${SLOT}));
  else if (st === 3) {
    const { job, part } = receiveMessageOnPort(port).message;
    JOBS[job](ex, memory, part);
  } else { Atomics.wait(c, b, st); continue; }
  Atomics.store(c, b, 2);
  Atomics.notify(c, b);
}`;

export interface Pool {
  threads: number;
  parallelFor(fn: string, args: number[], lo: number, hi: number, rangeArg: number): void;
  /** Runs job `name` once per part, parts[0] on the calling thread and the others on the workers (at most `threads` parts). */
  jobs<N extends JobName>(name: N, parts: Parameters<(typeof JOBS)[N]>[2][]): void;
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
  const ports: MessagePort[] = [];
  for (let slot = 0; slot < threads - 1; slot++) {
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(WORKER_SRC, {
      eval: true,
      workerData: { memory, module, ctrl, slot, fns, port: port2 },
      transferList: [port2],
    });
    w.unref();
    port1.unref();
    ports.push(port1);
  }
  const wait = (parts: number) => {
    for (let w = 0; w < parts - 1; w++) {
      const b = w * SLOT;
      for (let st; (st = Atomics.load(c, b)) !== 2;) Atomics.wait(c, b, st);
      Atomics.store(c, b, 0);
    }
  };
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
      wait(parts);
    },
    jobs(name, parts) {
      if (parts.length > threads) throw new Error(`wasm kernels: ${parts.length} parts for ${threads} threads`);
      for (let w = 0; w < parts.length - 1; w++) {
        ports[w].postMessage({ job: name, part: parts[w + 1] });
        Atomics.store(c, w * SLOT, 3);
        Atomics.notify(c, w * SLOT);
      }
      (JOBS[name] as (ex: typeof local, m: WebAssembly.Memory, p: unknown) => void)(local, memory, parts[0]);
      wait(parts.length);
    },
  };
}
