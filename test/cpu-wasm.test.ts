/**
 * The WebAssembly kernels compute exactly the documented arithmetic: every output element is the f32 chain
 * acc = f32(acc + f32(a·b)) over k in order from 0, then one rounding to the storage type — checked
 * bit-for-bit against that chain written in JS, for the packed GEMM, the few-rows GEMM, transposed and
 * batched operands, fp16 in/out, sizes large enough to be split over the worker threads, and im2col Conv.
 */
import { describe, it, expect } from 'vitest';
import {
  sgemm,
  conv2d,
  kernelThreads,
  binaryF32,
  reluF32,
  erfF32,
  affineF32,
  rangeF16,
} from '../runtime/cpu/wasm/index.js';
import { erf } from '../runtime/cpu/kernels/unary.js';
import { DataType } from '../src/core/dtype.js';
import { f32ArrayToF16, f16ArrayToF32 } from '../src/core/half.js';

let seed = 3;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2 ** 32 - 0.5;
};
const rand = (n: number) => Float32Array.from({ length: n }, rnd);
const fr = Math.fround;

/** The reference chain for C = A·B with strided operands. */
function chain(
  M: number,
  N: number,
  K: number,
  a: Float32Array,
  ars: number,
  acs: number,
  b: Float32Array,
  brs: number,
  bcs: number,
): Float32Array {
  const c = new Float32Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc = fr(acc + fr(a[m * ars + k * acs] * b[k * brs + n * bcs]));
      c[m * N + n] = acc;
    }
  return c;
}
const same = (x: ArrayLike<number>, y: ArrayLike<number>) => {
  let bad = 0;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) bad++;
  return bad;
};

describe('wasm GEMM is the f32 chain in k order, bit for bit', () => {
  it.each([
    [1, 37, 19],
    [3, 8, 64],
    [4, 33, 5],
    [5, 17, 70],
    [9, 64, 31],
    [130, 200, 150],
    [20, 300, 2100],
  ])('M=%i N=%i K=%i (plain and transposed B; the last packs B in column blocks)', (M, N, K) => {
    const a = rand(M * K),
      b = rand(K * N);
    const got = sgemm(
      M,
      N,
      K,
      { dtype: DataType.FLOAT, data: a },
      { dtype: DataType.FLOAT, data: b },
      { ars: K, acs: 1, brs: N, bcs: 1 },
      [[0, 0]],
      DataType.FLOAT,
    );
    expect(same(got as Float32Array, chain(M, N, K, a, K, 1, b, N, 1))).toBe(0);
    const gotT = sgemm(
      M,
      N,
      K,
      { dtype: DataType.FLOAT, data: a },
      { dtype: DataType.FLOAT, data: b },
      { ars: 1, acs: M, brs: 1, bcs: K },
      [[0, 0]],
      DataType.FLOAT,
    );
    expect(same(gotT as Float32Array, chain(M, N, K, a, 1, M, b, 1, K))).toBe(0);
  });
  it('batched with a shared and with distinct B operands', () => {
    const M = 6,
      N = 10,
      K = 12,
      a = rand(3 * M * K),
      b = rand(2 * K * N);
    const batches: [number, number][] = [
      [0, 0],
      [M * K, K * N],
      [2 * M * K, 0],
    ];
    const got = sgemm(
      M,
      N,
      K,
      { dtype: DataType.FLOAT, data: a },
      { dtype: DataType.FLOAT, data: b },
      { ars: K, acs: 1, brs: N, bcs: 1 },
      batches,
      DataType.FLOAT,
    ) as Float32Array;
    batches.forEach(([ao, bo], i) =>
      expect(
        same(got.subarray(i * M * N, (i + 1) * M * N), chain(M, N, K, a.subarray(ao), K, 1, b.subarray(bo), N, 1)),
      ).toBe(0),
    );
  });
  it('fp16 operands are decoded exactly and the output is rounded once to fp16', () => {
    for (const [M, N, K] of [
      [2, 24, 48],
      [40, 24, 48],
      [12, 270, 2200],
    ]) {
      const ah = f32ArrayToF16(rand(M * K)),
        bh = f32ArrayToF16(rand(K * N));
      const got = sgemm(
        M,
        N,
        K,
        { dtype: DataType.FLOAT16, data: ah },
        { dtype: DataType.FLOAT16, data: bh },
        { ars: K, acs: 1, brs: N, bcs: 1 },
        [[0, 0]],
        DataType.FLOAT16,
      );
      const want = f32ArrayToF16(chain(M, N, K, f16ArrayToF32(ah), K, 1, f16ArrayToF32(bh), N, 1));
      expect(got).toBeInstanceOf(Uint16Array);
      expect(same(got as Uint16Array, want)).toBe(0);
    }
  });
  it('splits large products over the worker threads without changing a bit', () => {
    expect(kernelThreads()).toBeGreaterThanOrEqual(1);
    const M = 96,
      N = 640,
      K = 96,
      a = rand(M * K),
      b = rand(K * N);
    const got = sgemm(
      M,
      N,
      K,
      { dtype: DataType.FLOAT, data: a },
      { dtype: DataType.FLOAT, data: b },
      { ars: K, acs: 1, brs: N, bcs: 1 },
      [[0, 0]],
      DataType.FLOAT,
    );
    expect(same(got as Float32Array, chain(M, N, K, a, K, 1, b, N, 1))).toBe(0);
  });
});

/** A copy of x in shared memory, 64 bytes into its buffer (views at an offset are read right). */
const shared = <T extends Float32Array | Uint16Array>(x: T): T => {
  const s = new (x.constructor as new (b: SharedArrayBuffer, o: number, n: number) => T)(
    new SharedArrayBuffer(x.byteLength + 64),
    64,
    x.length,
  );
  s.set(x);
  return s;
};

describe('matrix-vector products streamed from a shared weight', () => {
  it.each([
    [1, 2050, 1030, 0],
    [3, 4097, 515, 96],
    [4, 40, 70000, 0],
  ])(
    'M=%i N=%i K=%i, B at offset %i: each thread copies its columns, the sums stay the k-order chain',
    (M, N, K, bo) => {
      expect(kernelThreads()).toBeGreaterThan(1); // CI machines have two cores or more: the streamed path is taken
      const a = rand(2 * M * K),
        b = rand(bo + K * N);
      const batches: [number, number][] = [
        [0, bo],
        [M * K, bo],
      ];
      const got = sgemm(
        M,
        N,
        K,
        { dtype: DataType.FLOAT, data: a },
        { dtype: DataType.FLOAT, data: shared(b) },
        { ars: K, acs: 1, brs: N, bcs: 1 },
        batches,
        DataType.FLOAT,
      ) as Float32Array;
      batches.forEach(([ao], i) =>
        expect(
          same(got.subarray(i * M * N, (i + 1) * M * N), chain(M, N, K, a.subarray(ao), K, 1, b.subarray(bo), N, 1)),
        ).toBe(0),
      );
      const bh = f32ArrayToF16(b);
      const got16 = sgemm(
        M,
        N,
        K,
        { dtype: DataType.FLOAT, data: a },
        { dtype: DataType.FLOAT16, data: shared(bh) },
        { ars: K, acs: 1, brs: N, bcs: 1 },
        [[0, bo]],
        DataType.FLOAT16,
      );
      expect(
        same(got16 as Uint16Array, f32ArrayToF16(chain(M, N, K, a, K, 1, f16ArrayToF32(bh).subarray(bo), N, 1))),
      ).toBe(0);
    },
  );
});

/** a[1, K] · b[K, N] with fp16 b (used as given: shared or not), as f32. */
const gemv16 = (a: Float32Array, b: Uint16Array, K: number, N: number) =>
  sgemm(
    1,
    N,
    K,
    { dtype: DataType.FLOAT, data: a },
    { dtype: DataType.FLOAT16, data: b },
    { ars: K, acs: 1, brs: N, bcs: 1 },
    [[0, 0]],
    DataType.FLOAT,
  ) as Float32Array;

describe('a streamed fp16 weight is checked for Inf/NaN on its first product, and trusted after', () => {
  it('a clean weight gives the same bits on every call; one with an Inf keeps the exact decode on every call', () => {
    const K = 64,
      N = 20000;
    const a = rand(K),
      vals = rand(K * N);
    for (const inf of [false, true]) {
      const bh = f32ArrayToF16(vals);
      if (inf) bh[37 * N + 11] = 0x7c00;
      const b = shared(bh);
      const want = chain(1, N, K, a, K, 1, f16ArrayToF32(bh), N, 1);
      for (let call = 0; call < 3; call++) {
        const got = gemv16(a, b, K, N);
        expect(same(got, want), `inf ${inf}, call ${call}`).toBe(0);
        if (inf) expect(Math.abs(got[11])).toBe(Infinity);
      }
    }
  });
});

describe('fp16 weights in the few-rows product decode exactly', () => {
  const finite = Uint16Array.from({ length: 65536 }, (_, h) => h).filter((h) => (h & 0x7c00) !== 0x7c00);
  const product = (a: Float32Array, bh: Uint16Array, K: number, N: number, inShared: boolean) =>
    gemv16(a, inShared ? shared(bh) : bh, K, N);
  it.each([false, true])(
    'every finite half (subnormals, ±0) in every row position, and rows with Inf/NaN (shared weight: %s)',
    (sharedB) => {
      // K·N is past the streaming threshold, so a shared weight is streamed by the threads.
      const K = 18,
        N = finite.length;
      const a = Float32Array.from({ length: K }, (_, k) => (k % 3 === 1 ? -0.75 : 3e-3) * (k + 1));
      const bh = new Uint16Array(K * N);
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bh[k * N + n] = finite[(n + k * 7919) % N];
      expect(same(product(a, bh, K, N, sharedB), chain(1, N, K, a, K, 1, f16ArrayToF32(bh), N, 1))).toBe(0);
      // One Inf and one NaN in the first group of four rows: that group takes the exact decode.
      bh[2 * N + 5] = 0x7c00;
      bh[N + 9] = 0xfe01;
      const got = product(a, bh, K, N, sharedB);
      expect(got[5]).toBe(Infinity);
      expect(Number.isNaN(got[9])).toBe(true);
      got[9] = 0;
      const want = chain(1, N, K, a, K, 1, f16ArrayToF32(bh), N, 1);
      want[9] = 0;
      expect(same(got, want)).toBe(0);
    },
  );
});

describe('wasm im2col Conv', () => {
  it.each([
    [
      '3×3 stride 2 pad 1',
      { C: 3, H: 9, W: 7, M: 5, KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, DH: 1, DW: 1, group: 1 },
    ],
    ['1×1 pointwise', { C: 8, H: 5, W: 6, M: 4, KH: 1, KW: 1, SH: 1, SW: 1, PT: 0, PL: 0, DH: 1, DW: 1, group: 1 }],
    ['depthwise dilated', { C: 4, H: 8, W: 8, M: 4, KH: 3, KW: 3, SH: 1, SW: 1, PT: 2, PL: 2, DH: 2, DW: 2, group: 4 }],
    [
      '3×3 over column blocks',
      { C: 256, H: 20, W: 21, M: 3, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1, group: 1 },
    ],
    [
      '3×3 over output-channel blocks',
      { C: 512, H: 6, W: 6, M: 240, KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, DH: 1, DW: 1, group: 1 },
    ],
    [
      '1×1 over column blocks',
      { C: 2100, H: 16, W: 17, M: 2, KH: 1, KW: 1, SH: 1, SW: 1, PT: 0, PL: 0, DH: 1, DW: 1, group: 1 },
    ],
  ])('%s matches the direct f32 chain with bias', (_name, g0) => {
    const OH = Math.floor((g0.H + 2 * g0.PT - ((g0.KH - 1) * g0.DH + 1)) / g0.SH) + 1;
    const OW = Math.floor((g0.W + 2 * g0.PL - ((g0.KW - 1) * g0.DW + 1)) / g0.SW) + 1;
    const g = { ...g0, OH, OW },
      B = 2,
      CG = g.C / g.group,
      MG = g.M / g.group;
    const x = rand(B * g.C * g.H * g.W),
      w = rand(g.M * CG * g.KH * g.KW),
      bias = rand(g.M);
    const got = conv2d(
      { dtype: DataType.FLOAT, data: x },
      B,
      { dtype: DataType.FLOAT, data: w },
      bias,
      g,
      DataType.FLOAT,
    ) as Float32Array;
    const want = new Float32Array(B * g.M * OH * OW);
    for (let n = 0; n < B; n++)
      for (let m = 0; m < g.M; m++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++) {
            const gi = Math.floor(m / MG);
            let acc = 0;
            for (let c = 0; c < CG; c++)
              for (let kh = 0; kh < g.KH; kh++)
                for (let kw = 0; kw < g.KW; kw++) {
                  const ih = oh * g.SH + kh * g.DH - g.PT,
                    iw = ow * g.SW + kw * g.DW - g.PL;
                  const xv =
                    ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? x[((n * g.C + gi * CG + c) * g.H + ih) * g.W + iw] : 0;
                  acc = fr(acc + fr(w[((m * CG + c) * g.KH + kh) * g.KW + kw] * xv));
                }
            want[((n * g.M + m) * OH + oh) * OW + ow] = fr(acc + bias[m]);
          }
    expect(same(got, want)).toBe(0);
  });
});

describe('wasm elementwise loops', () => {
  const n = 5003; // not a multiple of 4: the scalar tails run too
  it('Add/Sub/Mul/Div equal float64 arithmetic rounded once to f32, in both operand orders and broadcast forms', () => {
    const a = rand(n * 3),
      b = rand(n * 3).map((x) => x || 0.5);
    for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
      const f = {
        Add: (x: number, y: number) => x + y,
        Sub: (x: number, y: number) => x - y,
        Mul: (x: number, y: number) => x * y,
        Div: (x: number, y: number) => x / y,
      }[op]!;
      for (const [outer, bl, inner] of [
        [1, 3 * n, 1],
        [3, n, 1],
        [3, 1, n],
        [1, 3, n],
      ]) {
        const bs = b.subarray(0, bl);
        for (const rev of [false, true]) {
          const got = binaryF32(
            op,
            { dtype: DataType.FLOAT, data: a },
            { dtype: DataType.FLOAT, data: bs },
            outer,
            bl,
            inner,
            rev,
            DataType.FLOAT,
          );
          const want = Float32Array.from(a, (x, i) => {
            const y = bs[Math.floor(i / inner) % bl];
            return rev ? f(y, x) : f(x, y);
          });
          expect(same(got as Float32Array, want)).toBe(0);
        }
      }
    }
  });
  it('Relu selects exactly (NaN and −0 give +0, as the JS kernel)', () => {
    const x = rand(n);
    x[0] = NaN;
    x[1] = -0;
    x[2] = Infinity;
    x[3] = -Infinity;
    const got = reluF32({ dtype: DataType.FLOAT, data: x }, DataType.FLOAT) as Float32Array;
    expect(
      same(
        got,
        Float32Array.from(x, (v) => (v > 0 ? v : 0)),
      ),
    ).toBe(0);
  });
  it('erf is within 3 ulp of the float64 erf, with its special values', () => {
    const x = Float32Array.from({ length: 40000 }, (_, i) => (i - 20000) / 4000); // −5 … 5, both pieces and the 0.5 seam
    x.set([NaN, Infinity, -Infinity, -0, 0.5, -0.5, 0.49999997, 1e-30], 0);
    const got = erfF32({ dtype: DataType.FLOAT, data: x }, DataType.FLOAT) as Float32Array;
    const ulp = (v: number) => {
      const f = Math.abs(Math.fround(v));
      return f === 0 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(f)) - 23);
    };
    let worst = 0;
    for (let i = 8; i < x.length; i++) worst = Math.max(worst, Math.abs(got[i] - erf(x[i])) / ulp(erf(x[i])));
    expect(worst).toBeLessThanOrEqual(3);
    expect([...got.subarray(0, 4)]).toEqual([NaN, 1, -1, -0]);
    expect(Object.is(got[3], -0)).toBe(true);
  });
  it('the BatchNormalization affine form is x·k + t in f32', () => {
    const C = 5,
      inner = 1001,
      x = rand(2 * C * inner),
      k = rand(C),
      t = rand(C);
    const got = affineF32({ dtype: DataType.FLOAT, data: x }, k, t, 2, inner, DataType.FLOAT) as Float32Array;
    expect(
      same(
        got,
        Float32Array.from(x, (v, i) => {
          const c = Math.floor(i / inner) % C;
          return fr(fr(v * k[c]) + t[c]);
        }),
      ),
    ).toBe(0);
  });
});

describe("rangeF16: a constant's range and its fp16 bits in one read", () => {
  // More than one read chunk (4 Mi elements) and an odd tail; split over the worker threads.
  const n = (1 << 22) + 4099;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rnd() * 4;
  const planted = [
    NaN,
    Infinity,
    -Infinity,
    0,
    -0,
    2 ** -149,
    -(2 ** -130),
    2 ** -25,
    2 ** -25 * 1.0001,
    2 ** -24,
    3e-8,
    -5e-9,
    65504,
    65519,
    1e5,
    -3.5e38,
    6e-5,
  ];
  planted.forEach((v, k) => {
    x[k * 977 + 3] = v;
    x[n - 1 - k] = v;
  });
  const bits = new Int32Array(x.buffer);
  /** The reference: step 2's JS scan, element by element. */
  const reference = (tinyBits: number) => {
    let maxBits = 0,
      tiny = 0,
      flushed = 0,
      zeroed = 0;
    for (let i = 0; i < n; i++) {
      const a = bits[i] & 0x7fffffff;
      if (a > maxBits && a <= 0x7f800000) maxBits = a;
      if (a !== 0 && a < tinyBits) {
        tiny += Math.abs(x[i]);
        flushed++;
      }
      if (a !== 0 && a <= 0x33000000) zeroed++;
    }
    return { maxBits, tiny, flushed, zeroed };
  };
  const bytes = new Uint8Array(x.buffer);
  const read = (offset: number, into: Uint8Array) => into.set(bytes.subarray(offset, offset + into.byteLength));

  it.each([
    [0x33800000, 'minPositive 2^-24'],
    [0x38800000, 'minPositive 2^-14'],
    [0, 'no minimum'],
  ])('counts as the JS scan does (%s: %s)', (tinyBits) => {
    const ref = reference(tinyBits);
    const r = rangeF16(bytes.byteLength, read, tinyBits);
    expect({ ...r, tiny: 0 }).toEqual({ ...ref, tiny: 0 });
    expect(ref.zeroed).toBeGreaterThan(0);
    if (tinyBits) expect(ref.flushed).toBeGreaterThan(0);
    expect(r.tiny).toBeCloseTo(ref.tiny, 12);
  });

  it("emits exactly f32ArrayToF16's bits, in order, chunk by chunk", () => {
    const out = new Uint16Array(n);
    let o = 0,
      calls = 0;
    rangeF16(bytes.byteLength, read, 0x33800000, (b) => {
      out.set(b, o);
      o += b.length;
      calls++;
    });
    expect(o).toBe(n);
    expect(calls).toBe(2);
    const want = f32ArrayToF16(x);
    let bad = 0;
    for (let i = 0; i < n; i++) if (out[i] !== want[i]) bad++;
    expect(bad).toBe(0);
  });
});
