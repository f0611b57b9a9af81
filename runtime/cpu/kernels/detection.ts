/** Detection post-processing: NonMaxSuppression and RoiAlign, following onnxruntime's CPU kernels. */
import type { Kernel } from './types.js';
import { num, make, ints } from '../util.js';
import { DataType } from '../../../src/core/dtype.js';

/** Intersection over union of two boxes given as [y1, x1, y2, x2] (corners in any order) or center form. */
function iou(b: ArrayLike<number>, i: number, j: number, center: boolean): number {
  const box = (k: number): [number, number, number, number] => {
    const o = k * 4;
    if (center) {
      const [xc, yc, w, h] = [b[o], b[o + 1], b[o + 2], b[o + 3]];
      return [yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2];
    }
    return [
      Math.min(b[o], b[o + 2]),
      Math.min(b[o + 1], b[o + 3]),
      Math.max(b[o], b[o + 2]),
      Math.max(b[o + 1], b[o + 3]),
    ];
  };
  const [ay1, ax1, ay2, ax2] = box(i),
    [by1, bx1, by2, bx2] = box(j);
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1),
    iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  if (ih <= 0 || iw <= 0) return 0;
  const inter = ih * iw,
    ua = (ay2 - ay1) * (ax2 - ax1) + (by2 - by1) * (bx2 - bx1) - inter;
  return ua <= 0 ? 0 : inter / ua;
}

/**
 * RoiAlign's bilinear sample at (yy, xx) of a H×W plane at `base`: the four weights and the four values (all 0
 * outside [−1, H] × [−1, W], as onnxruntime's kernel does).
 */
function bilinear(x: ArrayLike<number>, base: number, H: number, W: number, yy: number, xx: number): number[] {
  if (yy < -1 || yy > H || xx < -1 || xx > W) return [0, 0, 0, 0, 0, 0, 0, 0];
  let y = Math.max(yy, 0),
    xv = Math.max(xx, 0);
  let yl = Math.floor(y),
    xl = Math.floor(xv),
    yh: number,
    xh: number;
  if (yl >= H - 1) {
    yh = yl = H - 1;
    y = yl;
  } else yh = yl + 1;
  if (xl >= W - 1) {
    xh = xl = W - 1;
    xv = xl;
  } else xh = xl + 1;
  const ly = y - yl,
    lx = xv - xl,
    hy = 1 - ly,
    hx = 1 - lx;
  return [
    hy * hx,
    hy * lx,
    ly * hx,
    ly * lx,
    x[base + yl * W + xl],
    x[base + yl * W + xh],
    x[base + yh * W + xl],
    x[base + yh * W + xh],
  ];
}

export const detectionKernels: Record<string, Kernel> = {
  NonMaxSuppression: (node, [boxes, scores, maxOut, iouT, scoreT]) => {
    const [B, C, Nb] = scores!.dims;
    const maxPer = maxOut ? (ints(maxOut)[0] ?? 0) : 0;
    const iouTh = iouT ? num(iouT)[0] : 0,
      scoreTh = scoreT ? num(scoreT)[0] : -Infinity;
    const center = node.attrInt('center_point_box', 0) === 1;
    const bx = num(boxes!),
      sc = num(scores!);
    const sel: number[] = [];
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) {
        if (maxPer <= 0) continue;
        const base = (b * C + c) * Nb;
        const cand: number[] = [];
        for (let k = 0; k < Nb; k++) if (sc[base + k] > scoreTh) cand.push(k);
        cand.sort((p, q) => sc[base + q] - sc[base + p] || p - q);
        const kept: number[] = [];
        const boxesOf = bx.length === B * Nb * 4 ? (k: number) => b * Nb + k : (k: number) => k;
        for (const k of cand) {
          if (kept.length >= maxPer) break;
          if (kept.every((m) => iou(bx, boxesOf(k), boxesOf(m), center) <= iouTh)) kept.push(k);
        }
        for (const k of kept) sel.push(b, c, k);
      }
    return [make(DataType.INT64, [sel.length / 3, 3], sel)];
  },
  RoiAlign: (node, [X, rois, batchIdx], ctx) => {
    const [, C, H, W] = X!.dims;
    const R = rois!.dims[0],
      ph = node.attrInt('output_height', 1),
      pw = node.attrInt('output_width', 1);
    const ratio = node.attrInt('sampling_ratio', 0),
      scale = node.attrFloat('spatial_scale', 1),
      max = node.attrString('mode', 'avg') === 'max';
    const halfPixel =
      node.attrString('coordinate_transformation_mode', ctx.opset >= 16 ? 'half_pixel' : 'output_half_pixel') ===
      'half_pixel';
    const x = num(X!),
      r = num(rois!),
      bi = ints(batchIdx);
    const out = new Float64Array(R * C * ph * pw);
    const off = halfPixel ? 0.5 : 0;
    for (let n = 0; n < R; n++) {
      const sw = r[n * 4] * scale - off,
        sh = r[n * 4 + 1] * scale - off,
        ew = r[n * 4 + 2] * scale - off,
        eh = r[n * 4 + 3] * scale - off;
      let rw = ew - sw,
        rh = eh - sh;
      if (!halfPixel) {
        rw = Math.max(rw, 1);
        rh = Math.max(rh, 1);
      }
      const bh = rh / ph,
        bw = rw / pw;
      const gh = ratio > 0 ? ratio : Math.ceil(rh / ph),
        gw = ratio > 0 ? ratio : Math.ceil(rw / pw);
      const count = Math.max(gh * gw, 1);
      for (let c = 0; c < C; c++) {
        const base = (bi[n] * C + c) * H * W;
        for (let py = 0; py < ph; py++)
          for (let px = 0; px < pw; px++) {
            let acc = max ? -Infinity : 0;
            for (let iy = 0; iy < gh; iy++) {
              const yy = sh + py * bh + ((iy + 0.5) * bh) / gh;
              for (let ix = 0; ix < gw; ix++) {
                const xx = sw + px * bw + ((ix + 0.5) * bw) / gw;
                const [w1, w2, w3, w4, v1, v2, v3, v4] = bilinear(x, base, H, W, yy, xx);
                if (max) acc = Math.max(acc, w1 * v1, w2 * v2, w3 * v3, w4 * v4);
                else acc += w1 * v1 + w2 * v2 + w3 * v3 + w4 * v4;
              }
            }
            out[((n * C + c) * ph + py) * pw + px] = max ? acc : acc / count;
          }
      }
    }
    return [make(X!.dtype, [R, C, ph, pw], out)];
  },
};
