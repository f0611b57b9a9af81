/**
 * Optimizers on fp32 master weights (plain Float32Array math): the references the training step's in-graph
 * update (step-graph.ts) is tested against.
 */
export interface Optimizer {
  step(weights: Float32Array[], grads: Float32Array[]): void;
}

export class Sgd implements Optimizer {
  private v: Float32Array[] = [];
  constructor(
    private lr: number,
    private momentum = 0.9,
  ) {}
  step(ws: Float32Array[], gs: Float32Array[]): void {
    ws.forEach((w, k) => {
      const v = (this.v[k] ??= new Float32Array(w.length)),
        g = gs[k];
      for (let i = 0; i < w.length; i++) {
        v[i] = this.momentum * v[i] + g[i];
        w[i] -= this.lr * v[i];
      }
    });
  }
}

export class Adam implements Optimizer {
  private m: Float32Array[] = [];
  private v: Float32Array[] = [];
  private t = 0;
  constructor(
    private lr: number,
    private b1 = 0.9,
    private b2 = 0.999,
    private eps = 1e-8,
  ) {}
  step(ws: Float32Array[], gs: Float32Array[]): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t,
      c2 = 1 - this.b2 ** this.t;
    ws.forEach((w, k) => {
      const m = (this.m[k] ??= new Float32Array(w.length)),
        v = (this.v[k] ??= new Float32Array(w.length)),
        g = gs[k];
      for (let i = 0; i < w.length; i++) {
        m[i] = this.b1 * m[i] + (1 - this.b1) * g[i];
        v[i] = this.b2 * v[i] + (1 - this.b2) * g[i] * g[i];
        w[i] -= (this.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + this.eps);
      }
    });
  }
}
