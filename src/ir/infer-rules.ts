/**
 * Element-type rules, one entry per op: what each output's element type is, following the op's ONNX type
 * constraints. Data, not code paths: a rule is a list of output specs, the last one repeating for any
 * further outputs. Specs: 'in0'/'in1'/'in2' (same as that input), a DataType code, {attr, default} (a
 * type attribute such as Cast's `to`), or a function for the few ops whose rule needs more.
 */
import { DataType as D } from '../core/dtype.js';
import type { Node } from './graph.js';

export type OutSpec =
  | 'in0'
  | 'in1'
  | 'in2'
  | 'in3'
  | number
  | { attr: string; default?: number | 'in0' }
  | ((node: Node, inputs: (number | undefined)[]) => number | undefined);
export type TypeRule = OutSpec[];

const SAME: TypeRule = ['in0'];
const BOOL: TypeRule = [D.BOOL];
const I64: TypeRule = [D.INT64];

/** Element type of a Constant's value attribute. */
function constantType(node: Node): number | undefined {
  for (const a of node.attributes) {
    switch (a.name) {
      case 'value':
      case 'sparse_value':
        return a.t?.dataType ?? undefined;
      case 'value_float':
      case 'value_floats':
        return D.FLOAT;
      case 'value_int':
      case 'value_ints':
        return D.INT64;
      case 'value_string':
      case 'value_strings':
        return D.STRING;
    }
  }
  return undefined;
}

const sameOps = [
  // elementwise math and activations
  'Abs',
  'Acos',
  'Acosh',
  'Add',
  'Asin',
  'Asinh',
  'Atan',
  'Atanh',
  'Ceil',
  'Celu',
  'Clip',
  'Cos',
  'Cosh',
  'Div',
  'Elu',
  'Erf',
  'Exp',
  'Floor',
  'Gelu',
  'HardSigmoid',
  'HardSwish',
  'LeakyRelu',
  'Log',
  'Max',
  'Mean',
  'Min',
  'Mish',
  'Mod',
  'Mul',
  'Neg',
  'Pow',
  'PRelu',
  'Reciprocal',
  'Relu',
  'Round',
  'Selu',
  'Shrink',
  'Sigmoid',
  'Sign',
  'Sin',
  'Sinh',
  'Softplus',
  'Softsign',
  'Sqrt',
  'Sub',
  'Sum',
  'Tan',
  'Tanh',
  'ThresholdedRelu',
  'BitShift',
  'BitwiseAnd',
  'BitwiseOr',
  'BitwiseXor',
  'BitwiseNot',
  'Det',
  'Swish',
  // linear algebra, conv, pooling, normalization
  'MatMul',
  'Gemm',
  'Einsum',
  'Conv',
  'ConvTranspose',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'LpPool',
  'GlobalLpPool',
  'MaxRoiPool',
  'RoiAlign',
  'InstanceNormalization',
  'GroupNormalization',
  'LpNormalization',
  'MeanVarianceNormalization',
  'LRN',
  'RMSNormalization',
  'RotaryEmbedding',
  'TensorScatter',
  'DeformConv',
  'CumProd',
  'Softmax',
  'LogSoftmax',
  'Hardmax',
  'CumSum',
  'DFT',
  'STFT',
  // reductions
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceMax',
  'ReduceMean',
  'ReduceMin',
  'ReduceProd',
  'ReduceSum',
  'ReduceSumSquare',
  // data movement
  'Concat',
  'DepthToSpace',
  'Expand',
  'Flatten',
  'Gather',
  'GatherElements',
  'GatherND',
  'Identity',
  'Pad',
  'Reshape',
  'Resize',
  'ReverseSequence',
  'Scatter',
  'ScatterElements',
  'ScatterND',
  'Slice',
  'SpaceToDepth',
  'Split',
  'Squeeze',
  'Tile',
  'Transpose',
  'Unsqueeze',
  'Upsample',
  'Compress',
  'Trilu',
  'Range',
  'CenterCropPad',
  'Col2Im',
  'AffineGrid',
  'GridSample',
  'ImageDecoder',
  'MaxUnpool',
  'RNN',
  'GRU',
  'LSTM',
] as const;

export const typeRules: Record<string, TypeRule> = {
  ...Object.fromEntries(sameOps.map((o) => [o, SAME])),
  Equal: BOOL,
  Greater: BOOL,
  GreaterOrEqual: BOOL,
  Less: BOOL,
  LessOrEqual: BOOL,
  And: BOOL,
  Or: BOOL,
  Xor: BOOL,
  Not: BOOL,
  IsNaN: BOOL,
  IsInf: BOOL,
  Shape: I64,
  Size: I64,
  ArgMax: I64,
  ArgMin: I64,
  NonZero: I64,
  NonMaxSuppression: I64,
  Cast: [{ attr: 'to' }],
  CastLike: ['in1'],
  Where: ['in1'],
  Constant: [(n) => constantType(n)],
  ConstantOfShape: [(n) => n.attr('value')?.t?.dataType ?? D.FLOAT],
  MatMulInteger: [D.INT32],
  ConvInteger: [D.INT32],
  QLinearMatMul: [(n, i) => i[7]],
  QLinearConv: [(n, i) => i[7]],
  DynamicQuantizeLinear: [D.UINT8, D.FLOAT, D.UINT8],
  QuantizeLinear: [(n, i) => (n.attr('output_dtype') ? n.attrInt('output_dtype', 0) : (i[2] ?? D.UINT8))],
  DequantizeLinear: [(n, i) => (n.attr('output_dtype') ? n.attrInt('output_dtype', 0) : i[1])],
  Dropout: ['in0', D.BOOL],
  MaxPool: ['in0', D.INT64],
  TopK: ['in0', D.INT64],
  Unique: ['in0', D.INT64],
  // Mean / InvStdDev follow stash_type (default FLOAT).
  LayerNormalization: ['in0', { attr: 'stash_type', default: D.FLOAT }],
  // Training-mode outputs (running mean/var) have the type of input_mean (T2 since opset 15).
  BatchNormalization: ['in0', 'in3'],
  RandomNormal: [{ attr: 'dtype', default: D.FLOAT }],
  RandomUniform: [{ attr: 'dtype', default: D.FLOAT }],
  RandomNormalLike: [{ attr: 'dtype', default: 'in0' }],
  RandomUniformLike: [{ attr: 'dtype', default: 'in0' }],
  Bernoulli: [{ attr: 'dtype', default: 'in0' }],
  EyeLike: [{ attr: 'dtype', default: 'in0' }],
  Multinomial: [{ attr: 'dtype', default: D.INT32 }],
  OneHot: ['in2'],
  SoftmaxCrossEntropyLoss: ['in0', 'in0'],
  NegativeLogLikelihoodLoss: ['in0'],
  StringNormalizer: [D.STRING],
  RegexFullMatch: [D.BOOL],
  StringConcat: [D.STRING],
  StringSplit: [D.STRING, D.INT64],
  TfIdfVectorizer: [D.FLOAT],
  // Y, present_key (past_key's / K's type), present_value (V's), qk_matmul_output.
  Attention: ['in0', 'in0', 'in2', 'in0'],
  BitCast: [{ attr: 'to' }],
  HannWindow: [{ attr: 'output_datatype', default: D.FLOAT }],
  HammingWindow: [{ attr: 'output_datatype', default: D.FLOAT }],
  BlackmanWindow: [{ attr: 'output_datatype', default: D.FLOAT }],
  MelWeightMatrix: [{ attr: 'output_datatype', default: D.FLOAT }],
  // onnxruntime's contrib ops (com.microsoft): statistics outputs are float; Y of the simplified norms is the scale's type.
  'com.microsoft.Attention': SAME,
  'com.microsoft.MultiHeadAttention': SAME,
  'com.microsoft.GroupQueryAttention': SAME,
  'com.microsoft.SkipLayerNormalization': ['in0', D.FLOAT, D.FLOAT, 'in0'],
  'com.microsoft.SkipSimplifiedLayerNormalization': ['in0', D.FLOAT, D.FLOAT, 'in0'],
  SimplifiedLayerNormalization: ['in1', D.FLOAT],
  'com.microsoft.EmbedLayerNormalization': ['in2', D.INT32, 'in2'],
  'com.microsoft.FastGelu': SAME,
  'com.microsoft.BiasGelu': SAME,
  'com.microsoft.Gelu': SAME,
  'com.microsoft.QuickGelu': SAME,
  'com.microsoft.BiasAdd': SAME,
  'com.microsoft.RotaryEmbedding': SAME,
  'com.microsoft.MatMulNBits': SAME,
  'com.microsoft.GatherBlockQuantized': ['in2'],
  // Opsets 26–28 (not yet released) and ai.onnx.preview: every output in the input's type.
  SwiGLU: SAME,
  CausalConvWithState: SAME,
  LinearAttention: SAME,
  'ai.onnx.preview.FlexAttention': SAME,
  OptionalHasElement: BOOL,
  // The element type inside an optional (or of a plain tensor) input.
  OptionalGetElement: [
    (n, i) => i[0] ?? n.graph.lookup(n.inputs[0])?.typeProto?.optionalType?.elemType?.tensorType?.elemType ?? undefined,
  ],
  // ai.onnx.preview.training: updated tensors (and their accumulators) in the type of the first tensor updated.
  'ai.onnx.preview.training.Adagrad': ['in2'],
  'ai.onnx.preview.training.Adam': ['in2'],
  'ai.onnx.preview.training.Momentum': ['in2'],
  // ai.onnx.ml: values follow X; LabelEncoder's follow its values_* attribute.
  'ai.onnx.ml.ArrayFeatureExtractor': SAME,
  'ai.onnx.ml.Binarizer': SAME,
  'ai.onnx.ml.TreeEnsemble': SAME,
  'ai.onnx.ml.LabelEncoder': [
    (n) =>
      n.attr('values_strings')
        ? D.STRING
        : n.attr('values_int64s')
          ? D.INT64
          : n.attr('values_floats')
            ? D.FLOAT
            : (n.attr('values_tensor')?.t?.dataType ?? undefined),
  ],
  // Ops with subgraphs (If / Loop / Scan) are handled in infer.ts from their bodies.
};

/** Resolves one output spec. */
export function applySpec(spec: OutSpec, node: Node, inputs: (number | undefined)[]): number | undefined {
  if (typeof spec === 'number') return spec;
  if (typeof spec === 'function') return spec(node, inputs);
  if (typeof spec === 'string') return inputs[Number(spec.slice(2))];
  const a = node.attr(spec.attr);
  if (a && a.i != null) return node.attrInt(spec.attr, 0);
  return spec.default === 'in0' ? inputs[0] : spec.default;
}
