/**
 * Runtime profiles — data, like the policy: what a target runtime cannot run in fp16/bf16, so the pass keeps
 * those nodes fp32 (the check TensorFlow's grappler makes against registered kernels; ONNX converters do not).
 * Each entry is an op and, where the limit depends on attributes or the opset, a predicate. ort-cpu lists what
 * was observed (test/verify.test.ts reproduces it); ort-cuda what its kernel table registers (no GPU here to
 * observe); `any` assumes a runtime with an fp16 kernel for every op.
 */
import type { Node } from '../src/ir/graph.js';

/** An op that cannot run low at all (true), or only in some forms (a predicate on the node and the model's opset). */
type Limit = true | ((n: Node, opset: number) => boolean);
/** A runtime profile: its description and the ops (with opset limits) it cannot run in low precision. */
export interface RuntimeProfile { description: string; noLow: Record<string, Limit> }

const reduces = (n: Node) => n.attrString('reduction', 'none') !== 'none';
const below = (v: number) => (_n: Node, opset: number) => opset < v;

/** Runtime profiles (`--runtime`): for each, the ops it cannot run in fp16/bf16, which the pass keeps fp32. */
export const RUNTIMES = {
  any: { description: 'no runtime limits assumed', noLow: {} },
  'ort-cpu': {
    description: "onnxruntime's CPU provider: no fp16 ScatterElements / ScatterND with a reduction",
    noLow: { ScatterElements: reduces, ScatterND: reduces },
  },
  // From the CUDA provider's kernel table (onnxruntime docs/OperatorKernels.md, generated from its registered
  // kernels): the ops whose CUDA kernels have no float16 type at these opsets. Converted anyway they would run on
  // the CPU provider behind casts, with copies to and from the GPU; kept fp32 they stay on the GPU.
  'ort-cuda': {
    description: "onnxruntime's CUDA provider: no fp16 Clip before opset 12, CumSum before 14, IsInf before 20; none for EyeLike, GridSample, Range, RoiAlign",
    noLow: { Clip: below(12), CumSum: below(14), IsInf: below(20), EyeLike: true, GridSample: true, Range: true, RoiAlign: true },
  },
  'amp-webgpu': { description: "amp-convert's WebGPU runtime: every op runs in fp16 (on the GPU or its CPU reference)", noLow: {} },
} satisfies Record<string, RuntimeProfile>;
/** The name of a runtime profile in RUNTIMES. */
export type RuntimeName = keyof typeof RUNTIMES;

/** Why `runtime` cannot run this node in low precision, or undefined when it can. */
export function runtimeLimit(runtime: RuntimeName, n: Node, opset: number): string | undefined {
  const limit = (RUNTIMES[runtime].noLow as Record<string, Limit>)[n.opType];
  if (!limit || (limit !== true && !limit(n, opset))) return undefined;
  return `no low-precision ${n.opType} in ${runtime}`;
}
