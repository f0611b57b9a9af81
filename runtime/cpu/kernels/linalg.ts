/** Det: determinant of the last two (square) axes, by LU decomposition with partial pivoting in float64. */
import type { Kernel } from './types.js';
import { num, make, size } from '../util.js';

export const linalgKernels: Record<string, Kernel> = {
  Det: (_n, [X]) => {
    const dims = X!.dims,
      n = dims[dims.length - 1],
      batch = size(dims.slice(0, -2));
    const x = num(X!),
      out = new Float64Array(batch);
    const a = new Float64Array(n * n);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < n * n; i++) a[i] = x[b * n * n + i];
      let det = 1;
      for (let c = 0; c < n && det !== 0; c++) {
        let p = c;
        for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
        if (a[p * n + c] === 0) {
          det = 0;
          break;
        }
        if (p !== c) {
          for (let k = 0; k < n; k++) {
            const t = a[c * n + k];
            a[c * n + k] = a[p * n + k];
            a[p * n + k] = t;
          }
          det = -det;
        }
        det *= a[c * n + c];
        for (let r = c + 1; r < n; r++) {
          const f = a[r * n + c] / a[c * n + c];
          for (let k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k];
        }
      }
      out[b] = det;
    }
    return [make(X!.dtype, dims.slice(0, -2), out)];
  },
};
