/**
 * Conv (2-D, group 1): dX = ConvTranspose(dY, W) with the forward strides/pads/dilations (output_shape pins
 * the size), dW = Conv(Xᵀ, dYᵀ) with dilations = forward strides (batch and channel axes swapped), cropped to
 * the kernel, swapped back; dB = ΣdY over N, H, W.
 */
import type { GradRule } from './types.js';
import { AmpError } from '../../../src/core/errors.js';

export const conv: GradRule = (n, [dY], c) => {
  if (!dY) return;
  const [X, W, B] = n.inputs;
  if (n.attrInt('group', 1) !== 1) throw new AmpError(`gradient of grouped Conv ('${n.label}') is not implemented`);
  if (n.attrString('auto_pad', 'NOTSET') !== 'NOTSET')
    throw new AmpError(`gradient of Conv with auto_pad ('${n.label}') is not implemented`);
  const wd = c.weightDims(W);
  if (!wd || wd.length !== 4) throw new AmpError(`gradient of Conv '${n.label}' needs a 4-D weight initializer`);
  const strides = n.attrInts('strides') ?? [1, 1],
    pads = n.attrInts('pads') ?? [0, 0, 0, 0],
    dil = n.attrInts('dilations') ?? [1, 1];
  if (dil.some((d) => d !== 1)) throw new AmpError(`gradient of dilated Conv ('${n.label}') is not implemented`);
  if (c.needs(X)) {
    // ConvTranspose needs the input's spatial size to undo the stride's rounding: taken from the probe.
    const xs = c.shapeOf(X);
    if (!xs) throw new AmpError(`gradient of Conv '${n.label}' needs the input's static shape`);
    const [g] = c.emit('ConvTranspose', [dY, W], { strides, pads, output_shape: xs.slice(2) });
    c.accumulate(X, g);
  }
  if (c.needs(W)) {
    const [xt] = c.emit('Transpose', [X], { perm: [1, 0, 2, 3] });
    const [dyt] = c.emit('Transpose', [dY], { perm: [1, 0, 2, 3] });
    const [full] = c.emit('Conv', [xt, dyt], { pads, dilations: strides });
    const [crop] = c.emit('Slice', [full, c.ints([0, 0]), c.ints([wd[2], wd[3]]), c.ints([2, 3])]);
    c.accumulate(W, c.emit('Transpose', [crop], { perm: [1, 0, 2, 3] })[0]);
  }
  if (B && c.needs(B)) c.accumulate(B, c.emit('ReduceSum', [dY, c.ints([0, 2, 3])], { keepdims: 0 })[0]);
};
