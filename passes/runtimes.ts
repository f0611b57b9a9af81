/**
 * Runtime profiles — data, like the policy: what a target runtime cannot run in fp16/bf16, so the pass keeps
 * those nodes fp32 (the check TensorFlow's grappler makes against registered kernels; ONNX converters do not).
 * Each entry is an op and, where the limit depends on attributes, a predicate on the node. Only limits that
 * were observed are listed (test/verify.test.ts reproduces the ort-cpu ones); `any` assumes a runtime with an
 * fp16 kernel for every op.
 */
import type { Node } from '../src/ir/graph.js';

type Limit = true | ((n: Node) => boolean);
/** A runtime profile: its description and the ops (with opset limits) it cannot run in low precision. */
export interface RuntimeProfile { description: string; noLow: Record<string, Limit> }

const reduces = (n: Node) => n.attrString('reduction', 'none') !== 'none';

/** Runtime profiles (`--runtime`): for each, the ops it cannot run in fp16/bf16, which the pass keeps fp32. */
export const RUNTIMES = {
  any: { description: 'no runtime limits assumed', noLow: {} },
  'ort-cpu': {
    description: "onnxruntime's CPU provider: no fp16 ScatterElements / ScatterND with a reduction",
    noLow: { ScatterElements: reduces, ScatterND: reduces },
  },
  'amp-webgpu': { description: "amp-convert's WebGPU runtime: every op runs in fp16 (on the GPU or its CPU reference)", noLow: {} },
} satisfies Record<string, RuntimeProfile>;
/** The name of a runtime profile in RUNTIMES. */
export type RuntimeName = keyof typeof RUNTIMES;

/** Why `runtime` cannot run this node in low precision, or undefined when it can. */
export function runtimeLimit(runtime: RuntimeName, n: Node): string | undefined {
  const limit = (RUNTIMES[runtime].noLow as Record<string, Limit>)[n.opType];
  if (!limit || (limit !== true && !limit(n))) return undefined;
  return `no low-precision ${n.opType} in ${runtime}`;
}
