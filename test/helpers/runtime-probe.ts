/**
 * Does a runtime load a converted model with every node where it belongs? The evidence behind the ort-cpu and
 * ort-web-webgpu profiles (passes/runtimes.ts), used by `npm run probe:runtimes` and test/runtimes.test.ts.
 * ort-cpu: onnxruntime-node creates the session. ort-web-webgpu: onnxruntime-web's WebGPU provider on Dawn
 * creates it with CPU fallback disabled, so a node the provider has no kernel for fails the load.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel } from '../../src/onnx/io.js';
import { nodeTestNames, nodeTestsDir } from './nodetests.js';
import * as ortNode from 'onnxruntime-node';
import { convertSync } from '../../src/tools/convert.js';
import { loadModel } from '../../src/onnx/io.js';
import { DataType } from '../../src/core/dtype.js';
import type { Model } from '../../src/ir/graph.js';
import type { ConvertOptions } from '../../passes/options.js';

/** Loads a model; undefined when it loads, else the runtime's message (first line). */
export type Loader = (bytes: Uint8Array) => Promise<string | undefined>;

const firstLine = (e: unknown) => String((e as Error).message ?? e).split('\n')[0];

export const ortCpuLoader: Loader = async (bytes) => {
  try {
    await (await ortNode.InferenceSession.create(bytes, { logSeverityLevel: 4 })).release();
    return undefined;
  } catch (e) {
    return firstLine(e);
  }
};

let web: Promise<Loader> | undefined;
/** onnxruntime-web's WebGPU provider on Dawn (the `webgpu` package), CPU fallback disabled. */
export function ortWebGpuLoader(): Promise<Loader> {
  web ??= (async () => {
    const dawn = createRequire(import.meta.url)('webgpu') as { create(o: string[]): GPU; globals: object };
    Object.assign(globalThis, dawn.globals);
    // onnxruntime-web finds WebGPU where a browser has it; Node 20 has no navigator.
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true });
    const ort = await import('onnxruntime-web/webgpu');
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'fatal';
    return async (bytes: Uint8Array) => {
      try {
        const s = await ort.InferenceSession.create(bytes, {
          executionProviders: ['webgpu'],
          logSeverityLevel: 4,
          extra: { session: { disable_cpu_ep_fallback: '1' } },
        });
        await s.release();
        return undefined;
      } catch (e) {
        return firstLine(e);
      }
    };
  })();
  return web;
}

/** The model converted with every op it has forced low (policy and range guards overridden): what the profile alone must catch. */
export function forcedLow(file: string, opts: ConvertOptions): Model {
  const ops = [...new Set(loadModel(file).graph.nodes.map((n) => n.opType))].filter((o) => o !== 'Cast');
  return convertSync(file, { ...opts, allow: ops, clamp: true }).model;
}

/** Op types of the nodes that read or write the target type (Casts aside). */
export function lowOps(m: Model, target: 'fp16' | 'bf16'): string[] {
  const t = target === 'bf16' ? DataType.BFLOAT16 : DataType.FLOAT16;
  const g = m.graph;
  return [
    ...new Set(
      g.nodes
        .filter(
          (n) =>
            n.opType !== 'Cast' && [...n.inputs, ...n.outputs].some((v) => v && g.values.get(v)?.type?.elemType === t),
        )
        .map((n) => n.opType),
    ),
  ];
}

/** The op a load failure names ("Could not find an implementation for Add(14) node …"), if it names one. */
export function failingOp(msg: string): string | undefined {
  return /implementation for (\w+)\(\d+\)|kernel for (\w+)\(\d+\)|of operator \((\w+)\)/
    .exec(msg)
    ?.slice(1)
    .find(Boolean);
}

/** One node test the runtime loads in fp32, converted forced-low: its name, the low op types, the load's failure. */
export interface Probed {
  name: string;
  ops: string[];
  err?: string;
}
/**
 * Every node test `load` accepts in fp32, converted with every op forced low (`opts`) and loaded again (those the
 * pass refuses to convert are left out).
 */
export async function* probeNodeTests(load: Loader, opts: ConvertOptions): AsyncGenerator<Probed> {
  for (const name of nodeTestNames()) {
    const file = join(nodeTestsDir(), name, 'model.onnx');
    if (await load(readFileSync(file))) continue;
    let m;
    try {
      m = forcedLow(file, opts);
    } catch {
      continue;
    }
    yield { name, ops: lowOps(m, opts.target ?? 'fp16'), err: await load(encodeModel(m)) };
  }
}

type OrtWeb = typeof import('onnxruntime-web');
let webOrt: Promise<OrtWeb> | undefined;
/**
 * onnxruntime-web on Dawn/lavapipe in Node, set up once. Its WebGPU provider hands `queue.writeBuffer` views of
 * the wasm heap, a SharedArrayBuffer, which Dawn's Node binding refuses ("Invalid argument"): those are copied.
 */
export function ortWeb(): Promise<OrtWeb> {
  webOrt ??= (async () => {
    const dawn = createRequire(import.meta.url)('webgpu') as {
      create(o: string[]): GPU;
      globals: Record<string, { prototype: object }>;
    };
    Object.assign(globalThis, dawn.globals);
    if (!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu)
      Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true });
    const q = dawn.globals.GPUQueue.prototype as { writeBuffer: (...a: unknown[]) => void; __ampCopied?: boolean };
    if (!q.__ampCopied) {
      const write = q.writeBuffer;
      q.writeBuffer = function (this: unknown, ...args: unknown[]) {
        const [buf, off, data, ...rest] = args as [unknown, unknown, ArrayBufferView | ArrayBuffer, ...unknown[]];
        const shared = ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer;
        const copy = shared ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() : data;
        return write.call(
          this,
          buf,
          off,
          copy,
          ...(shared && rest.length
            ? [
                (rest[0] as number) * ((data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1),
                ...(rest.length > 1
                  ? [(rest[1] as number) * ((data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1)]
                  : []),
              ]
            : rest),
        );
      };
      q.__ampCopied = true;
    }
    const ort = (await import('onnxruntime-web/webgpu')) as unknown as OrtWeb;
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'fatal';
    return ort;
  })();
  return webOrt;
}
