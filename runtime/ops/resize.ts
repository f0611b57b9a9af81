import { AmpError } from '../../src/core/errors.js';
import { DataType, dtypeName } from '../../src/core/dtype.js';
import type { RTensor } from '../../src/ir/rtensor.js';
import type { Node } from '../../src/ir/graph.js';
import { ints, floats } from './values.js';

/** Resize planning: output dims and, per axis, the input taps and weights of each output position (every mode, antialias, roi). */
export function nearestIndex(x: number, mode: string, len: number): number {
  let i: number;
  switch (mode) {
    case 'round_prefer_ceil':
      i = Math.round(x);
      break;
    case 'floor':
      i = Math.floor(x);
      break;
    case 'ceil':
      i = Math.ceil(x);
      break;
    default:
      i = x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x); // round_prefer_floor
  }
  return Math.max(0, Math.min(len - 1, i));
}

export function cubicWeights(t: number, a: number): number[] {
  return [cubicCoeff(t + 1, a), cubicCoeff(t, a), cubicCoeff(1 - t, a), cubicCoeff(2 - t, a)];
}

/**
 * Antialiased linear / cubic taps (opset 18), as the ONNX reference computes them: when downsampling the
 * filter is stretched by 1/scale and normalized; its points are the n input indices nearest to x (ties to the
 * lower index) of the edge-padded axis; exclude_outside zeroes (and renormalizes away) taps outside it.
 */
export function antialiasTaps(
  x: number,
  scale: number,
  inLen: number,
  cubicMode: boolean,
  a: number,
  exclude: boolean,
): [number, number][] {
  const s = Math.min(scale, 1),
    x0 = Math.floor(x),
    ratio = x - x0;
  let coeffs: number[];
  if (cubicMode) {
    const start = Math.floor(-2 / s) + 1;
    coeffs = Array.from({ length: 2 - 2 * start }, (_, j) => cubicCoeff(s * (start + j - ratio), a));
  } else {
    const start = Math.floor(-1 / s) + 1;
    coeffs = Array.from({ length: 2 - 2 * start }, (_, j) =>
      Math.max(0, Math.min(1, 1 - Math.abs((start + j - ratio) * s))),
    );
  }
  const n = coeffs.length,
    pad = Math.ceil(n / 2);
  const cand: number[] = [];
  for (let k = x0 - n - 1; k <= x0 + n + 1; k++) if (k >= -pad && k < inLen + pad) cand.push(k);
  const idx = cand
    .sort((p, q) => Math.abs(x - p) - Math.abs(x - q) || p - q)
    .slice(0, n)
    .sort((p, q) => p - q);
  const sum = coeffs.reduce((u, v) => u + v, 0);
  let taps: [number, number][] = idx.map((k, j) => [k, coeffs[j] / sum]);
  if (exclude) {
    taps = taps.map(([k, w]) => [k, k < 0 || k >= inLen ? 0 : w]);
    const t = taps.reduce((u, [, w]) => u + w, 0);
    taps = taps.map(([k, w]) => [k, w / t]);
  }
  return taps.map(([k, w]) => [Math.max(0, Math.min(inLen - 1, k)), w]);
}

export const cubicCoeff = (d: number, a: number): number => {
  const x = Math.abs(d);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
};

/**
 * The input coordinate of output position `o` under a coordinate transformation mode; undefined for a
 * tf_crop_and_resize position outside the input. The spec's length_resized is inLen·scale (fractional when
 * scales are given), not the rounded length.
 */
function sourceCoordinate(
  ctm: string,
  o: number,
  inLen: number,
  outLen: number,
  scale: number,
  roiStart: number,
  roiEnd: number,
): number | undefined {
  switch (ctm) {
    case 'align_corners':
      return outLen === 1 ? 0 : (o * (inLen - 1)) / (inLen * scale - 1);
    case 'asymmetric':
      return o / scale;
    case 'pytorch_half_pixel':
      return outLen > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case 'tf_crop_and_resize': {
      const x =
        outLen > 1
          ? roiStart * (inLen - 1) + (o * (roiEnd - roiStart) * (inLen - 1)) / (outLen - 1)
          : 0.5 * (roiStart + roiEnd) * (inLen - 1);
      return x < 0 || x > inLen - 1 ? undefined : x;
    }
    case 'half_pixel_symmetric': {
      const adj = outLen / scale / inLen; // = output_width_int / output_width
      const center = inLen / 2,
        offset = center * (1 - adj);
      return offset + (o + 0.5) / scale - 0.5;
    }
    default:
      return (o + 0.5) / scale - 0.5; // half_pixel
  }
}

/** Cubic taps around x: four neighbours, renormalized inside the input with exclude_outside, else clamped to it. */
function cubicTaps(x: number, inLen: number, cubicA: number, exclude: boolean): [number, number][] {
  const i0 = Math.floor(x),
    t = x - i0;
  const w = cubicWeights(t, cubicA);
  let list: [number, number][] = [-1, 0, 1, 2].map((d, j) => [i0 + d, w[j]]);
  if (exclude) {
    list = list.filter(([i]) => i >= 0 && i < inLen);
    const s = list.reduce((a, [, ww]) => a + ww, 0);
    list = list.map(([i, ww]) => [i, ww / s]);
  } else list = list.map(([i, ww]) => [Math.max(0, Math.min(inLen - 1, i)), ww]);
  return list;
}

/** Per output coordinate of one axis: list of (input index, weight). */
export function axisTaps(
  node: Node,
  inLen: number,
  outLen: number,
  scale: number,
  roiStart: number,
  roiEnd: number,
  opset: number,
): [number, number][][] {
  const mode = node.attrString('mode', 'nearest');
  const ctm = opset < 11 ? 'asymmetric' : node.attrString('coordinate_transformation_mode', 'half_pixel');
  // Upsample has no nearest_mode: its spec reads input(floor(x / scale)).
  const nm = node.opType === 'Upsample' ? 'floor' : node.attrString('nearest_mode', 'round_prefer_floor');
  const cubicA = node.attrFloat('cubic_coeff_a', -0.75);
  const exclude = node.attrInt('exclude_outside', 0) === 1;
  const extrap = node.attrFloat('extrapolation_value', 0);
  const taps: [number, number][][] = [];
  for (let o = 0; o < outLen; o++) {
    const x = sourceCoordinate(ctm, o, inLen, outLen, scale, roiStart, roiEnd);
    if (x === undefined) {
      taps.push([[-1, extrap]]); // tf_crop_and_resize outside the input: the extrapolation value
      continue;
    }
    if (mode === 'nearest') {
      taps.push([[nearestIndex(x, nm, inLen), 1]]);
      continue;
    }
    if (node.attrInt('antialias', 0) === 1) {
      taps.push(antialiasTaps(x, scale, inLen, mode === 'cubic', cubicA, exclude));
      continue;
    }
    if (mode === 'linear') {
      const xc = Math.max(0, Math.min(inLen - 1, x));
      const i0 = Math.floor(xc),
        i1 = Math.min(inLen - 1, i0 + 1),
        t = xc - i0;
      taps.push(
        i0 === i1
          ? [[i0, 1]]
          : [
              [i0, 1 - t],
              [i1, t],
            ],
      );
      continue;
    }
    taps.push(cubicTaps(x, inLen, cubicA, exclude));
  }
  return taps;
}

/**
 * The plan of a resize: the output dims and, per axis that changes, each output coordinate's (input index,
 * weight) taps (index −1: the constant `weight`, tf_crop_and_resize's extrapolation). Shared with the WebGPU kernel.
 */
export function resizePlan(
  node: Node,
  dims: number[],
  scalesIn: number[] | undefined,
  sizesIn: number[] | undefined,
  roi: number[],
  opset: number,
): { outDims: number[]; taps: ([number, number][][] | undefined)[] } {
  const r = dims.length;
  const axes = node.attrInts('axes')?.map((a) => (a < 0 ? a + r : a)) ?? Array.from({ length: r }, (_, i) => i);
  const scales = new Array<number>(r).fill(1);
  const outDims = [...dims];
  if (sizesIn && sizesIn.length) {
    const policy = node.attrString('keep_aspect_ratio_policy', 'stretch');
    const ratios = axes.map((a, i) => sizesIn[i] / dims[a]);
    const common =
      policy === 'not_larger' ? Math.min(...ratios) : policy === 'not_smaller' ? Math.max(...ratios) : undefined;
    axes.forEach((a, i) => {
      scales[a] = common ?? ratios[i];
      outDims[a] = common !== undefined ? Math.round(common * dims[a]) : sizesIn[i];
    });
  } else if (scalesIn) {
    axes.forEach((a, i) => {
      scales[a] = scalesIn[i];
      outDims[a] = Math.floor(dims[a] * scalesIn[i]);
    });
  }
  const roiFull: number[] = Array.from({ length: 2 * r }, (_, i) => (i < r ? 0 : 1));
  if (roi.length)
    axes.forEach((a, i) => {
      roiFull[a] = roi[i];
      roiFull[a + r] = roi[i + axes.length];
    });
  const taps = dims.map((d, a) =>
    outDims[a] === d &&
    scales[a] === 1 &&
    node.attrString('coordinate_transformation_mode', '') !== 'tf_crop_and_resize'
      ? undefined
      : axisTaps(node, d, outDims[a], scales[a], roiFull[a], roiFull[a + r], opset),
  );
  return { outDims, taps };
}

/** Resize's (scales, sizes, roi) from its inputs — or Upsample's — as the CPU kernel reads them. */
export function resizeArgs(
  node: Node,
  [, roiT, scalesT, sizesT]: (RTensor | undefined)[],
  opset: number,
): { scales?: number[]; sizes?: number[]; roi: number[] } {
  if (node.opType === 'Upsample') return { scales: scalesTOrAttr(node, roiT), roi: [] };
  if (opset < 11) return { scales: Array.from(floats(roiT!)), roi: [] }; // opset 10: inputs (X, scales)
  const scales = scalesT && scalesT.dims.reduce((a, b) => a * b, 1) > 0 ? Array.from(floats(scalesT)) : undefined;
  // sizes is int64 in every opset (a float tensor's bits read as sizes would ask for anything).
  if (sizesT && sizesT.dtype !== DataType.INT64)
    throw new AmpError(`input 'sizes' is ${dtypeName(sizesT.dtype)}; it must be int64`);
  return { scales, sizes: sizesT ? ints(sizesT) : undefined, roi: roiT ? Array.from(floats(roiT)) : [] };
}

export const scalesTOrAttr = (node: Node, t?: RTensor) => (t ? Array.from(floats(t)) : node.attrFloats('scales'));
