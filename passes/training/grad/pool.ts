/**
 * Pools. MaxPool: the forward node's Indices output (flat positions in X) routes each gradient back with
 * ScatterElements(reduction=add) into zeros shaped like X (overlapping windows add up).
 */
import type { GradRule } from './types.js';
import { AmpError } from '../../../src/core/errors.js';

export const maxPool: GradRule = (n, [dY], c) => {
  if (!dY || !c.needs(n.inputs[0])) return;
  const idx = c.indicesOf(n);
  if (!idx) throw new AmpError(`gradient of MaxPool '${n.label}' needs its Indices output`);
  const x = n.inputs[0];
  const [shape] = c.emit('Shape', [x]);
  const [flatX] = c.emit('Reshape', [x, c.ints([-1])]);
  const [zeros] = c.emit('Mul', [flatX, c.scalar(0)]);
  const [flatI] = c.emit('Reshape', [idx, c.ints([-1])]);
  const [flatG] = c.emit('Reshape', [dY, c.ints([-1])]);
  const [sc] = c.emit('ScatterElements', [zeros, flatI, flatG], { axis: 0, reduction: 'add' });
  c.accumulate(x, c.emit('Reshape', [sc, shape])[0]);
};

/**
 * AveragePool (2-D): each input element receives dY/n from every window it is in, n the window's divisor —
 * kh·kw, or with count_include_pad = 0 the window's elements inside the image (from an AveragePool of ones
 * with count_include_pad = 1). Summed over windows: a depthwise ConvTranspose of dY/n with a kernel of ones.
 * Needs static C, H, W (probed from the forward model), no auto_pad, dilations or ceil_mode.
 */
export const averagePool: GradRule = (n, [dY], c) => {
  if (!dY || !c.needs(n.inputs[0])) return;
  const x = n.inputs[0],
    xs = c.shapeOf(x);
  const unsupported = (why: string) => new AmpError(`gradient of AveragePool '${n.label}': ${why}`);
  if (!xs || xs.length !== 4) throw unsupported('only 2-D pooling of an NCHW input of static shape');
  if (
    n.attrString('auto_pad', 'NOTSET') !== 'NOTSET' ||
    n.attrInt('ceil_mode', 0) ||
    (n.attrInts('dilations') ?? [1, 1]).some((d) => d !== 1)
  )
    throw unsupported('auto_pad, ceil_mode and dilations are not supported');
  const [, C, H, W] = xs;
  const k = n.attrInts('kernel_shape')!,
    s = n.attrInts('strides') ?? [1, 1],
    p = n.attrInts('pads') ?? [0, 0, 0, 0];
  const OH = Math.floor((H + p[0] + p[2] - k[0]) / s[0]) + 1,
    OW = Math.floor((W + p[1] + p[3] - k[1]) / s[1]) + 1;
  const window = { kernel_shape: k, strides: s, pads: p };
  let divisor: string;
  if (n.attrInt('count_include_pad', 0) === 1 || p.every((v) => v === 0)) divisor = c.scalar(k[0] * k[1]);
  else {
    const [ones] = c.emit('Expand', [c.scalar(1), c.emit('Shape', [x])[0]]);
    const [share] = c.emit('AveragePool', [ones], { ...window, count_include_pad: 1 });
    [divisor] = c.emit('Mul', [share, c.scalar(k[0] * k[1])]);
  }
  const [scaled] = c.emit('Div', [dY, divisor]);
  const [kernel] = c.emit('Expand', [c.scalar(1), c.ints([C, 1, k[0], k[1]])]);
  // Rows/columns past the last window (when the stride does not divide evenly) get no gradient: output_padding.
  const outputPadding = [H - ((OH - 1) * s[0] + k[0] - p[0] - p[2]), W - ((OW - 1) * s[1] + k[1] - p[1] - p[3])];
  c.accumulate(x, c.emit('ConvTranspose', [scaled, kernel], { group: C, ...window, output_padding: outputPadding })[0]);
};
