/**
 * The values a string attribute may take (the ONNX operator specs; onnxruntime refuses the others too). A kernel
 * reads these with a default and a fallthrough, so a value outside the list would run as some other mode — both
 * executors refuse the node up front instead (checkEnumAttributes). Only attributes present are checked.
 */
import type { Model } from '../../src/ir/graph.js';
import { AmpError } from '../../src/core/errors.js';

const STRING = 3; // AttributeProto.AttributeType
const AUTO_PAD = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];
const RESIZE = {
  mode: ['nearest', 'linear', 'cubic'],
  coordinate_transformation_mode: [
    'half_pixel',
    'half_pixel_symmetric',
    'pytorch_half_pixel',
    'align_corners',
    'asymmetric',
    'tf_half_pixel_for_nn',
    'tf_crop_and_resize',
  ],
  nearest_mode: ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'],
  keep_aspect_ratio_policy: ['stretch', 'not_larger', 'not_smaller'],
};
const RNN = { direction: ['forward', 'reverse', 'bidirectional'] };
const SCATTER = { reduction: ['none', 'add', 'mul', 'max', 'min'] };
const LOSS = { reduction: ['none', 'sum', 'mean'] };
const CAST = { round_mode: ['up', 'down', 'nearest'] };

/** Op type → attribute → allowed values. */
export const ENUM_ATTRIBUTES: Record<string, Record<string, readonly string[]>> = {
  Conv: { auto_pad: AUTO_PAD },
  ConvTranspose: { auto_pad: AUTO_PAD },
  AveragePool: { auto_pad: AUTO_PAD },
  MaxPool: { auto_pad: AUTO_PAD },
  LpPool: { auto_pad: AUTO_PAD },
  Resize: RESIZE,
  Upsample: { mode: RESIZE.mode },
  Pad: { mode: ['constant', 'reflect', 'edge', 'wrap'] },
  DepthToSpace: { mode: ['DCR', 'CRD'] },
  GridSample: {
    mode: ['bilinear', 'nearest', 'bicubic', 'linear', 'cubic'],
    padding_mode: ['zeros', 'border', 'reflection'],
  },
  RoiAlign: { mode: ['avg', 'max'], coordinate_transformation_mode: ['half_pixel', 'output_half_pixel'] },
  Gelu: { approximate: ['none', 'tanh'] },
  Cast: CAST,
  CastLike: CAST,
  LSTM: RNN,
  GRU: RNN,
  RNN,
  ScatterElements: SCATTER,
  ScatterND: SCATTER,
  SoftmaxCrossEntropyLoss: LOSS,
  NegativeLogLikelihoodLoss: LOSS,
  BitShift: { direction: ['LEFT', 'RIGHT'] },
};

/** Refuses (AmpError naming the node) a string attribute outside its op's list, anywhere in the model. */
export function checkEnumAttributes(model: Model): void {
  for (const n of model.graph.allNodes()) {
    const spec = ENUM_ATTRIBUTES[n.opType];
    if (!spec || (n.domain && n.domain !== 'ai.onnx')) continue;
    for (const [name, allowed] of Object.entries(spec)) {
      const a = n.attr(name);
      if (!a) continue;
      if (a.type !== STRING)
        throw new AmpError(`node '${n.label}' (${n.opType}): attribute ${name} must be a string`, model.file);
      const v = n.attrString(name, '');
      if (!allowed.includes(v))
        throw new AmpError(
          `node '${n.label}' (${n.opType}): ${name} '${v}' is not one of ${allowed.join(', ')}`,
          model.file,
        );
    }
  }
}
