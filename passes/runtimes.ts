/**
 * Runtime profiles — data, like the policy: what a target runtime cannot run in fp16/bf16, so the pass keeps
 * those nodes fp32 (the check TensorFlow's grappler makes against registered kernels; ONNX converters do not).
 * Each entry is an op and, where the limit depends on attributes or the opset, a predicate. ort-cpu and
 * ort-web-webgpu list what was observed on the released packages (`npm run probe:runtimes` reproduces it;
 * test/runtimes.test.ts checks the converted node tests load); ort-cuda what its kernel table registers (no
 * GPU here to observe); `any` assumes a runtime with a kernel for every op in both types; `portable`, the default,
 * is every known runtime's fp16 limits at once, so a default conversion loads on all of them.
 */
import type { Node } from '../src/ir/graph.js';

/** An op that cannot run low at all (true), or only in some forms (a predicate on the node and the model's opset). */
type Limit = true | ((n: Node, opset: number) => boolean);
/** A runtime profile: its description and the ops (with opset limits) it cannot run in low precision. */
export interface RuntimeProfile {
  description: string;
  /** Ops it cannot run in fp16 (and, unless `bf16Runs` says otherwise, in bf16). */
  noLow: Record<string, Limit>;
  /** When the runtime has bf16 kernels for a few ops only: those ops; every other op stays fp32 for a bf16 target. */
  bf16Runs?: readonly string[];
}

const reduces = (n: Node) => n.attrString('reduction', 'none') !== 'none';
const below = (v: number) => (_n: Node, opset: number) => opset < v;

/** An op limited anywhere, limited here: the union of the profiles' fp16 limits. */
function union(...ps: RuntimeProfile[]): Record<string, Limit> {
  const out: Record<string, Limit> = {};
  for (const p of ps)
    for (const [op, l] of Object.entries(p.noLow)) {
      const prev = out[op];
      out[op] = prev === undefined ? l : prev === true || l === true ? true : (n, o) => prev(n, o) || l(n, o);
    }
  return out;
}

/** The observed and documented runtimes. */
const PROFILES = {
  any: { description: 'no runtime limits assumed', noLow: {} },
  // onnxruntime-node 1.30 on the 804 node tests: fp16 nodes without an fp16 CPU kernel still load (onnxruntime
  // inserts casts to fp32 around them) except these; bf16 gets no such casts, and only these ops have kernels.
  'ort-cpu': {
    description:
      "onnxruntime's CPU provider (1.30, observed): no fp16 ScatterElements / ScatterND with a reduction, MeanVarianceNormalization (its function body's constants are float); bf16 only for data movement and LayerNormalization",
    noLow: { ScatterElements: reduces, ScatterND: reduces, MeanVarianceNormalization: true },
    // Shape, Constant and ConstantOfShape reading/writing bf16: no node test does; test/runtimes.test.ts builds one.
    bf16Runs: [
      'CastLike',
      'Concat',
      'Constant',
      'ConstantOfShape',
      'Flatten',
      'Gather',
      'GatherElements',
      'GatherND',
      'Identity',
      'LayerNormalization',
      'Reshape',
      'Shape',
      'Slice',
      'Split',
      'Squeeze',
      'Transpose',
      'Unsqueeze',
    ],
  },
  // From the CUDA provider's kernel table (onnxruntime docs/OperatorKernels.md, generated from its registered
  // kernels): the ops whose CUDA kernels have no float16 type at these opsets. Converted anyway they would run on
  // the CPU provider behind casts, with copies to and from the GPU; kept fp32 they stay on the GPU.
  'ort-cuda': {
    description:
      "onnxruntime's CUDA provider: no fp16 Clip before opset 12, CumSum before 14, IsInf before 20; none for EyeLike, GridSample, Range, RoiAlign",
    noLow: {
      Clip: below(12),
      CumSum: below(14),
      IsInf: below(20),
      EyeLike: true,
      GridSample: true,
      Range: true,
      RoiAlign: true,
    },
  },
  // onnxruntime-web 1.30's WebGPU provider (Dawn on lavapipe, the 804 node tests): every node test that runs
  // wholly on the provider in fp32 still does with every op forced to fp16; WebGPU has no bfloat16 at all.
  'ort-web-webgpu': {
    description: "onnxruntime-web's WebGPU provider (1.30, observed): fp16 wherever it runs fp32; no bf16",
    noLow: {},
    bf16Runs: [],
  },
  'amp-webgpu': {
    description: "amp-convert's WebGPU runtime: every op runs in fp16 (on the GPU or its CPU reference)",
    noLow: {},
  },
} satisfies Record<string, RuntimeProfile>;
/** Runtime profiles (`--runtime`): for each, the ops it cannot run in fp16/bf16, which the pass keeps fp32. */
export const RUNTIMES = {
  ...PROFILES,
  // bf16 has no common ground (WebGPU has none, onnxruntime's CPU provider a few data-movement ops): a bf16
  // conversion for no runtime in particular assumes bf16 kernels and warns.
  portable: {
    description:
      "the default: every known runtime's fp16 limits at once (ort-cpu, ort-cuda, ort-web-webgpu, amp-webgpu), so the model loads on each",
    noLow: union(PROFILES['ort-cpu'], PROFILES['ort-cuda'], PROFILES['ort-web-webgpu'], PROFILES['amp-webgpu']),
  },
} satisfies Record<string, RuntimeProfile>;
/** The name of a runtime profile in RUNTIMES. */
export type RuntimeName = keyof typeof RUNTIMES;

/** Why `runtime` cannot run this node in the `target` type, or undefined when it can. */
export function runtimeLimit(
  runtime: RuntimeName,
  n: Node,
  opset: number,
  target: 'fp16' | 'bf16' = 'fp16',
): string | undefined {
  const p: RuntimeProfile = RUNTIMES[runtime];
  if (target === 'bf16' && p.bf16Runs && !p.bf16Runs.includes(n.opType)) return `no bf16 ${n.opType} in ${runtime}`;
  const limit = Object.hasOwn(p.noLow, n.opType) ? p.noLow[n.opType] : undefined;
  if (!limit || (limit !== true && !limit(n, opset))) return undefined;
  return `no low-precision ${n.opType} in ${runtime}`;
}

/** A runtime that runs no op in bf16 (refused with a bf16 target: the output would be the fp32 model). */
export function noBf16(runtime: RuntimeName): boolean {
  const p: RuntimeProfile = RUNTIMES[runtime];
  return p.bf16Runs?.length === 0;
}

/** The runtimes whose bf16 support is limited, as "name (N ops)" — what a bf16 conversion for `any` should know. */
export function bf16Limited(): string[] {
  return Object.entries(RUNTIMES as Record<string, RuntimeProfile>)
    .filter(([, p]) => p.bf16Runs)
    .map(([k, p]) => `${k} (${p.bf16Runs!.length ? `${p.bf16Runs!.length} ops` : 'none'})`);
}
