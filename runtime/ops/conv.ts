import { AmpError } from '../../src/core/errors.js';
import type { Node } from '../../src/ir/graph.js';
import { samePads } from './broadcast.js';

/** Conv and ConvTranspose geometry from a node's attributes: kernel, strides, pads, dilations, output size — checked as onnxruntime checks them. */
export interface ConvGeom {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  out: number[];
}

/**
 * A sliding window's attributes must fit the input's r spatial axes: one kernel size, stride and dilation per
 * axis (≥ 1), two pads per axis (≥ 0). A hostile model otherwise asks for windows of 10¹² taps or NaN output sizes.
 */
export function checkWindow(
  r: number,
  w: { kernel: number[]; strides: number[]; dilations: number[]; pads: number[] },
): void {
  const each = (name: string, v: number[], len: number, min: number) => {
    if (v.length !== len) throw windowError(r, `${name} has ${v.length} entries, not ${len}`);
    // Below 2^31 too: the GPU kernels take them as 32-bit integers.
    const x = v.find((e) => !Number.isSafeInteger(e) || e < min || e >= 2 ** 31);
    if (x !== undefined) throw windowError(r, `${name} holds ${x}; each must be an integer from ${min} to 2^31 − 1`);
  };
  each('kernel_shape', w.kernel, r, 1);
  each('strides', w.strides, r, 1);
  each('dilations', w.dilations, r, 1);
  each('pads', w.pads, 2 * r, 0);
}

/** Once the output size is known (after checkWindow): at least one window position per spatial axis. */
export function checkPositions(node: Node, kernel: number[], dilations: number[], out: number[]): void {
  if (out.some((o) => !(o >= 1)))
    throw windowError(
      out.length,
      `the ${node.opType} window (kernel ${kernel.join('×')}, dilations ${dilations.join(',')}) is larger than the padded input`,
    );
}

export const windowError = (r: number, what: string) => new AmpError(`${what} (input with ${r} spatial axes)`);

/** Output size and begin/end pads per spatial axis, following auto_pad. */
export function convGeometry(node: Node, spatial: number[], kernel: number[], transpose = false): ConvGeom {
  const r = spatial.length;
  const st = node.attrInts('strides') ?? new Array(r).fill(1);
  const dl = node.attrInts('dilations') ?? new Array(r).fill(1);
  let pads = node.attrInts('pads') ?? new Array(2 * r).fill(0);
  const auto = node.attrString('auto_pad', 'NOTSET');
  const out: number[] = [];
  const ek = kernel.map((k, i) => (k - 1) * dl[i] + 1);
  if (!transpose) {
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') pads = samePads(spatial, st, ek, auto);
    else if (auto === 'VALID') pads = new Array(2 * r).fill(0);
    checkWindow(r, { kernel, strides: st, dilations: dl, pads });
    for (let i = 0; i < r; i++) out.push(Math.floor((spatial[i] + pads[i] + pads[i + r] - ek[i]) / st[i]) + 1);
    checkPositions(node, kernel, dl, out);
  }
  return { kernel, strides: st, pads, dilations: dl, out };
}

/**
 * ConvTranspose's output size and begin/end pads per spatial axis: from pads and output_padding, or — with
 * output_shape or auto_pad SAME_* — the pads that produce that shape (split as the spec says).
 */
export function convTransposeGeometry(node: Node, sp: number[], kdims: number[]): Omit<ConvGeom, 'kernel'> {
  const r = sp.length;
  const st = node.attrInts('strides') ?? new Array(r).fill(1);
  const dl = node.attrInts('dilations') ?? new Array(r).fill(1);
  const op = node.attrInts('output_padding') ?? new Array(r).fill(0);
  let pads = node.attrInts('pads') ?? new Array(2 * r).fill(0);
  const ek = kdims.map((k, i) => (k - 1) * dl[i] + 1);
  let out = sp.map((s, i) => st[i] * (s - 1) + op[i] + ek[i] - pads[i] - pads[i + r]);
  const given = node.attrInts('output_shape');
  const auto = node.attrString('auto_pad', 'NOTSET');
  if (given || auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const target = given ? given.slice(-r) : sp.map((s, i) => s * st[i]);
    pads = new Array(2 * r).fill(0);
    for (let i = 0; i < r; i++) {
      const total = st[i] * (sp[i] - 1) + op[i] + ek[i] - target[i];
      const half = Math.floor(total / 2);
      if (auto === 'SAME_UPPER') {
        pads[i] = half;
        pads[i + r] = total - half;
      } else {
        pads[i] = total - half;
        pads[i + r] = half;
      }
    }
    out = target;
  }
  return { strides: st, dilations: dl, pads, out };
}

/** A 1-D or 2-D convolution as 2-D: sizes, strides, dilations and the top/left pads (1-D: height 1, nothing vertical). */
export interface Conv2dGeom {
  H: number;
  W: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  SH: number;
  SW: number;
  DH: number;
  DW: number;
  PT: number;
  PL: number;
}
export function asConv2d(sp: number[], kdims: number[], g: ConvGeom): Conv2dGeom {
  const two = (v: number[], one: number) => (v.length === 2 ? v : [one, v[0]]);
  const [H, W] = two(sp, 1),
    [KH, KW] = two(kdims, 1),
    [OH, OW] = two(g.out, 1),
    [SH, SW] = two(g.strides, 1),
    [DH, DW] = two(g.dilations, 1);
  const [PT, PL] = sp.length === 2 ? [g.pads[0], g.pads[1]] : [0, g.pads[0]];
  return { H, W, KH, KW, OH, OW, SH, SW, DH, DW, PT, PL };
}
