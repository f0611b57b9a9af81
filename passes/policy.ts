/**
 * Op policy for mixed precision — data only; the algorithm (passes/steps/*) never names an op.
 *
 *   allow  always worth low precision and numerically safe with fp32 accumulation (matmul-like, conv, RNNs)
 *   infer  safe elementwise math: low precision when its neighbours are (between/after allow regions)
 *   clear  data movement / precision-neutral: follows its inputs
 *   deny   must stay fp32: overflow-prone (Exp, Pow, Log), long reductions, norm statistics, losses,
 *          index/shape producers, random ops, and anything not listed (unknown ops, other domains)
 *
 * Sources: TensorFlow grappler's AMP lists, PyTorch autocast's fp16/fp32 lists, TVM's ToMixedPrecision,
 * onnxconverter-common's and onnxruntime's converters, NVIDIA ModelOpt AutoCast, and user reports.
 * `bf16Since` is the first opset whose type constraints include bfloat16 for the op (NEVER: none does);
 * below it a bf16 conversion keeps the node fp32 so the model stays valid.
 *
 * test/registries.test.ts cross-checks this table against the type rules, the CPU and GPU kernels and the
 * gradient rules, and checks that no step of the pass names an op.
 */
import { lookupOwn, opKey } from '../src/ir/graph.js';
export type OpClass = 'allow' | 'infer' | 'clear' | 'deny';
/**
 * Roles the steps act on (they ask for a role, never for an op name):
 *   cast      converts the element type to attribute `to`; the pass inserts, retargets and removes these
 *   constant  holds its value in attribute `value` (`fill`: the value when the attribute is absent)
 *   branch    runs one of its bodies; output k is body output k, by position, so an output that is low
 *             precision in every body can go low as a whole (passes/index.ts)
 *   loop      repeats its body: output j is body output 1 + j; for a loop-carried value (j below the count of
 *             carried inputs) input 2 + j and body input 2 + j too, so a value carried low can stay low
 * Cast and constant nodes, and nodes with a `like` slot, are decided by their consumers, not painted forward.
 */
export type OpRole = 'cast' | 'constant' | 'branch' | 'loop';
export interface OpPolicy {
  cls: OpClass;
  bf16Since?: number;
  why?: string;
  role?: OpRole;
  fill?: number;
  /** The first opset whose type constraints include float16 (NEVER: none does); below it no option can lower the node. */
  fp16Since?: number;
  /**
   * Denied for its range alone: where calibration saw every value it reads and writes within the headroom (and,
   * for a reduction, a depth within bounds) it is `infer` instead. `output`: its values; `squares`: it squares
   * its input and sums `depth` of them, so max|x|² · depth must fit too.
   */
  range?: 'output' | 'squares';
  /** From this opset the op is `infer` instead (it computes its sensitive part in fp32 itself, e.g. stash_type). */
  inferFrom?: number;
  /**
   * Attributes the node gets when it runs low (unless the model sets them): they keep its sensitive arithmetic
   * in fp32 while its inputs and outputs are fp16 — Attention's softmax in `softmax_precision` FLOAT.
   */
  lowAttrs?: Record<string, number>;
  /**
   * Its values can outgrow the low type while its inputs fit (exp, powers, products, long sums): while it is
   * fp32, a graph output it writes stays fp32 too — a cast at the edge would overflow just the same.
   */
  wide?: boolean;
}

const NEVER = Infinity;
const A = (bf16Since = 13): OpPolicy => ({ cls: 'allow', bf16Since });
const I = (bf16Since = 13): OpPolicy => ({ cls: 'infer', bf16Since });
const C = (bf16Since = 13): OpPolicy => ({ cls: 'clear', bf16Since });
const D = (why: string): OpPolicy => ({ cls: 'deny', why });
/** Denied for its range only (see OpPolicy.range); bf16Since as for the other classes. */
const R = (why: string, range: 'output' | 'squares', bf16Since = 13): OpPolicy => ({
  cls: 'deny',
  why,
  range,
  bf16Since,
  wide: true,
});
/** Denied because its values outgrow the low type (OpPolicy.wide). */
const W = (why: string): OpPolicy => ({ cls: 'deny', why, wide: true });
/** Ops that touch no float tensor (bool, integer, string): their class never matters. */
const N = (): OpPolicy => ({ cls: 'clear', bf16Since: NEVER, why: 'no float tensors' });

export const OP_POLICY: Record<string, OpPolicy> = {
  // allow: compute-bound, fp32-accumulating kernels everywhere
  MatMul: A(13),
  Gemm: A(13),
  Conv: A(22),
  ConvTranspose: A(22),
  Einsum: A(22),
  LSTM: A(22),
  GRU: A(22),
  RNN: A(22),
  // infer: elementwise / activations / pooling that are safe in fp16
  Add: I(13),
  Sub: I(13),
  Mul: I(13),
  Div: I(13),
  Neg: I(13),
  Abs: I(13),
  Relu: I(14),
  LeakyRelu: I(16),
  PRelu: I(16),
  Sigmoid: I(13),
  Tanh: I(13),
  HardSigmoid: I(22),
  HardSwish: I(22),
  Erf: I(13),
  Gelu: I(20),
  Elu: I(22),
  Selu: I(22),
  Celu: I(22),
  Sqrt: I(13),
  Reciprocal: I(13),
  Clip: I(13),
  Max: I(13),
  Min: I(13),
  Mean: I(13),
  Sign: I(13),
  Ceil: I(13),
  Floor: I(13),
  Round: I(22),
  Sin: I(22),
  Cos: I(22),
  Mod: I(13),
  Shrink: I(22),
  ThresholdedRelu: I(22),
  Softsign: I(22),
  Mish: I(22),
  BatchNormalization: I(15),
  AveragePool: I(22),
  GlobalAveragePool: I(22),
  Softmax: I(13),
  Equal: I(13),
  Greater: I(13),
  GreaterOrEqual: I(16),
  Less: I(13),
  LessOrEqual: I(16),
  IsNaN: I(20),
  IsInf: I(20),
  ArgMax: I(13),
  ArgMin: I(13),
  Hardmax: I(13),
  Trilu: I(14),
  Det: I(22),
  Tan: I(22),
  Asin: I(22),
  Acos: I(22),
  Atan: I(22),
  Asinh: I(22),
  Acosh: I(22),
  Atanh: I(22),
  Swish: I(24),
  // clear: data movement, precision-neutral
  Identity: C(13),
  Reshape: C(13),
  Transpose: C(13),
  Concat: C(13),
  Split: C(13),
  Slice: C(13),
  Gather: C(13),
  GatherElements: C(13),
  GatherND: C(13),
  Squeeze: C(13),
  Unsqueeze: C(13),
  Flatten: C(13),
  Pad: C(13),
  Tile: C(13),
  Expand: C(13),
  Where: C(16),
  Dropout: C(13),
  MaxPool: C(22),
  GlobalMaxPool: C(22),
  MaxUnpool: C(22),
  DepthToSpace: C(13),
  SpaceToDepth: C(13),
  Resize: C(19),
  Upsample: C(13),
  Compress: C(13),
  ScatterElements: C(13),
  ScatterND: C(13),
  ReverseSequence: C(13),
  Shape: C(13),
  Size: C(13),
  Cast: { ...C(13), role: 'cast' },
  CastLike: C(19),
  NonZero: C(13),
  TopK: D('ranking ties change in fp16; indices are what users consume'),
  OneHot: C(NEVER),
  Scatter: C(NEVER),
  CenterCropPad: C(18),
  // deny: overflow / underflow prone or must stay exact
  Exp: R('overflows fp16 above x≈11', 'output'),
  Log: D('loses precision for small inputs'),
  Pow: R('overflows fp16', 'output', 15),
  Softplus: D('exp inside'),
  LogSoftmax: D('log of a long sum'),
  CumSum: W('long running sum; no fp16 before opset 14'),
  Sum: R('many-input sum', 'output'),
  ReduceSum: R('long reduction', 'output'),
  ReduceMean: R('long reduction', 'output'),
  ReduceL1: R('long reduction', 'output'),
  ReduceL2: R('long reduction of squares', 'squares'),
  ReduceSumSquare: R('long reduction of squares', 'squares'),
  ReduceProd: W('product overflows'),
  ReduceLogSum: D('long reduction'),
  ReduceLogSumExp: D('exp inside'),
  ReduceMax: I(13),
  ReduceMin: I(13),
  // Statistics in stash_type (float32 by default) from LayerNormalization-17 / GroupNormalization-21: fp16 I/O is safe.
  LayerNormalization: {
    ...D('variance statistics (PyTorch autocast keeps layer_norm fp32)'),
    inferFrom: 17,
    bf16Since: 17,
  },
  GroupNormalization: { ...D('variance statistics'), inferFrom: 21, bf16Since: 21 },
  InstanceNormalization: D('variance statistics'),
  LpNormalization: D('norm of a long vector'),
  MeanVarianceNormalization: D('variance statistics'),
  LRN: R('sum of squares', 'squares'),
  SoftmaxCrossEntropyLoss: D('loss'),
  NegativeLogLikelihoodLoss: D('loss'),
  Sinh: W('exp inside'),
  Cosh: W('exp inside'),
  LpPool: D('p-norm of a window'),
  GlobalLpPool: D('p-norm of a long vector'),
  DFT: D('long sums'),
  STFT: D('long sums'),
  Col2Im: D('sums overlapping patches'),
  AffineGrid: D('sampling coordinates'),
  GridSample: D('sampling coordinates'),
  Unique: D('near-equal values would merge'),
  ImageDecoder: D('decoder'),
  MatMulInteger: D('integer arithmetic'),
  ConvInteger: D('integer arithmetic'),
  QLinearMatMul: { ...D('quantized arithmetic'), fp16Since: 21 },
  QLinearConv: { ...D('quantized arithmetic'), fp16Since: NEVER },
  TfIdfVectorizer: D('counts'),
  Range: { ...D('no fp16 in its type constraints; exact index math'), fp16Since: NEVER },
  ConstantOfShape: { ...C(20), role: 'constant', fill: 0 },
  Constant: { ...C(13), role: 'constant' },
  RandomNormal: D('random'),
  RandomUniform: D('random'),
  RandomNormalLike: D('random'),
  RandomUniformLike: D('random'),
  Bernoulli: D('random'),
  Multinomial: D('random'),
  EyeLike: D('dtype attribute'),
  NonMaxSuppression: { ...D('box coordinates'), fp16Since: NEVER },
  RoiAlign: D('box coordinates'),
  MaxRoiPool: D('box coordinates'),
  QuantizeLinear: { ...D('quantization scales'), fp16Since: 19 },
  DequantizeLinear: { ...D('quantization scales'), fp16Since: 19 },
  DynamicQuantizeLinear: { ...D('quantization'), fp16Since: NEVER },
  // No float tensors at all: listed so that nothing the executor runs falls through to 'not in the policy table'.
  Not: N(),
  And: N(),
  Or: N(),
  Xor: N(),
  BitShift: N(),
  BitwiseAnd: N(),
  BitwiseOr: N(),
  BitwiseXor: N(),
  BitwiseNot: N(),
  StringNormalizer: N(),
  RegexFullMatch: N(),
  StringConcat: N(),
  StringSplit: N(),
  // Transformer ops (opset 23/24): attention's softmax runs in fp32 (lowAttrs), RMS statistics in stash_type.
  Attention: { ...A(23), lowAttrs: { softmax_precision: 1 } },
  RotaryEmbedding: I(23),
  RMSNormalization: I(23),
  TensorScatter: C(24),
  BitCast: { ...D('reinterprets the bits of its input'), fp16Since: NEVER },
  DeformConv: D('sampling coordinates'),
  CumProd: W('product overflows'),
  HannWindow: D('window generator'),
  HammingWindow: D('window generator'),
  BlackmanWindow: D('window generator'),
  MelWeightMatrix: D('filter bank generator'),
  // Opsets 26–28 (not yet released, no runtime here runs them): kept fp32 until one can prove them low.
  SwiGLU: D('opset 28: no runtime to verify it low'),
  CausalConvWithState: D('opset 27: no runtime to verify it low'),
  LinearAttention: D('opset 27: no runtime to verify it low'),
  'ai.onnx.preview.FlexAttention': D('preview op: no runtime to verify it low'),
  OptionalHasElement: N(),
  OptionalGetElement: D('reads an optional value'),
  // ONNX's classical-ML and training domains take no float16.
  ...Object.fromEntries(
    [
      'ai.onnx.ml.ArrayFeatureExtractor',
      'ai.onnx.ml.Binarizer',
      'ai.onnx.ml.TreeEnsemble',
      'ai.onnx.ml.LabelEncoder',
      'ai.onnx.preview.training.Adagrad',
      'ai.onnx.preview.training.Adam',
      'ai.onnx.preview.training.Momentum',
    ].map((k) => [k, { ...D('no float16 in its domain'), fp16Since: NEVER, bf16Since: NEVER }]),
  ),
  // onnxruntime's fused transformer ops (com.microsoft), as its optimizer and Optimum leave them. Its CPU, CUDA and
  // WebGPU providers run them with fp16 I/O and fp32 statistics/softmax; none has bf16 kernels on CPU or WebGPU.
  'com.microsoft.Attention': A(NEVER),
  'com.microsoft.MultiHeadAttention': A(NEVER),
  'com.microsoft.GroupQueryAttention': A(NEVER),
  'com.microsoft.MatMulNBits': A(NEVER),
  'com.microsoft.GatherBlockQuantized': C(NEVER),
  'com.microsoft.SkipLayerNormalization': I(NEVER),
  'com.microsoft.SkipSimplifiedLayerNormalization': I(NEVER),
  'com.microsoft.EmbedLayerNormalization': I(NEVER),
  SimplifiedLayerNormalization: I(NEVER),
  'com.microsoft.FastGelu': I(NEVER),
  'com.microsoft.BiasGelu': I(NEVER),
  'com.microsoft.Gelu': I(NEVER),
  'com.microsoft.QuickGelu': I(NEVER),
  'com.microsoft.BiasAdd': I(NEVER),
  'com.microsoft.RotaryEmbedding': I(NEVER),
  // Control flow: the node keeps fp32 at its boundary; its bodies are converted on their own (passes/index.ts),
  // an If's outputs go low where every branch computes them in low precision.
  If: { ...D('control flow boundary'), role: 'branch' },
  Loop: { ...D('control flow boundary'), role: 'loop' },
  Scan: D('control flow boundary'),
};

/**
 * Per-slot exceptions. `keep`: never cast this input (it keeps its own type, e.g. Resize scales must stay
 * float32). `any`: the op accepts any element type here, so no cast is needed (Shape, Cast's input...).
 * `like`: the slot's type IS the output type (CastLike's target): cast to low only when the node goes low.
 * Integer / bool slots never need listing: only float values are ever cast.
 */
export interface SlotPolicy {
  inputs?: Record<number, 'keep' | 'any' | 'like'>;
  keepOutputs?: number[];
  /** Groups of inputs that may keep fp32 together while the node runs low (each group shares one type constraint). */
  mixed?: number[][];
}
export const SLOT_POLICY: Record<string, SlotPolicy | ((opset: number) => SlotPolicy)> = {
  Resize: (opset): SlotPolicy => (opset >= 11 ? { inputs: { 1: 'keep', 2: 'keep' } } : { inputs: { 1: 'keep' } }),
  Upsample: { inputs: { 1: 'keep' } },
  // BatchNormalization-15: X is T, scale/B are T1, mean/var are T2 — each pair may stay float.
  BatchNormalization: (opset): SlotPolicy =>
    opset >= 15
      ? {
          mixed: [
            [1, 2],
            [3, 4],
          ],
        }
      : {},
  Shape: { inputs: { 0: 'any' } },
  Size: { inputs: { 0: 'any' } },
  Cast: { inputs: { 0: 'any' } },
  CastLike: { inputs: { 0: 'any', 1: 'like' } },
  Dropout: { inputs: { 1: 'keep' } },
  OneHot: { inputs: { 1: 'keep' } },
  LayerNormalization: { keepOutputs: [1, 2] },
  // Statistics outputs (mean, inverse std) are float whatever the input type.
  'com.microsoft.SkipLayerNormalization': { keepOutputs: [1, 2] },
  'com.microsoft.SkipSimplifiedLayerNormalization': { keepOutputs: [1, 2] },
  SimplifiedLayerNormalization: { keepOutputs: [1] },
};

/**
 * How deep a node reduces (elements summed into one output element), for the `--max-reduction` rule:
 * matmul = last axis of input 0, gemm = Gemm's K, axis = the `axis` attribute (default -1), axes = the `axes`
 * attribute (all axes when absent and there is no axes input).
 */
export type ReductionKind = 'matmul' | 'gemm' | 'axis' | 'axes' | 'size';
export const REDUCTIONS: Record<string, ReductionKind> = {
  MatMul: 'matmul',
  Gemm: 'gemm',
  Softmax: 'axis',
  LogSoftmax: 'axis',
  ReduceSum: 'axes',
  ReduceMean: 'axes',
  ReduceL1: 'axes',
  ReduceL2: 'axes',
  ReduceSumSquare: 'axes',
  ReduceLogSum: 'axes',
  ReduceLogSumExp: 'axes',
  ReduceProd: 'axes',
  LRN: 'size',
};

/** Domains of ONNX whose ops take no float16 (classical ML, the preview training ops): never lowered, whatever the options. */
const NO_HALF_DOMAINS = new Set(['ai.onnx.ml', 'ai.onnx.preview.training']);

export function opPolicy(opType: string, domain: string, opset = 1): OpPolicy {
  const known = lookupOwn(OP_POLICY, opKey(opType, domain));
  const p =
    known ??
    (NO_HALF_DOMAINS.has(domain)
      ? { ...D(`no float16 in domain '${domain}'`), fp16Since: NEVER, bf16Since: NEVER }
      : D(domain && domain !== 'ai.onnx' ? `custom domain '${domain}'` : 'not in the policy table'));
  return p.inferFrom !== undefined && opset >= p.inferFrom ? { ...p, cls: 'infer', why: undefined } : p;
}
export const opRole = (opType: string): OpRole | undefined => lookupOwn(OP_POLICY, opType)?.role;
/** The op the pass inserts at precision boundaries (the one with role 'cast'). */
export const CAST_OP = Object.keys(OP_POLICY).find((k) => OP_POLICY[k].role === 'cast')!;
/** Does the op's output type follow one of its inputs (a `like` slot, e.g. CastLike's target)? */
export const followsSlot = (opType: string, opset: number): boolean =>
  Object.values(slotPolicy(opType, opset).inputs ?? {}).includes('like');
/** Is the node's precision decided by its consumers (casts, constants, ops whose output type follows a slot)? */
export function decidedByConsumers(opType: string, opset: number): boolean {
  const role = opRole(opType);
  return role === 'cast' || role === 'constant' || followsSlot(opType, opset);
}
export function slotPolicy(opType: string, opset: number): SlotPolicy {
  const p = lookupOwn(SLOT_POLICY, opType);
  return typeof p === 'function' ? p(opset) : (p ?? {});
}
