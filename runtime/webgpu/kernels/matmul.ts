/**
 * MatMul (batched, broadcast batch dims) and Gemm, f32 accumulation: tiles in workgroup memory (16×16, or 64×64
 * register-tiled) on GPUs; on software adapters operands packed into textures, or register blocks without workgroup
 * memory where those do not fit (batched weights, products split over N).
 */
import type { GpuKernel } from './types.js';
import {
  numel,
  isFloatTensor,
  Params,
  Q16,
  type GpuTensor,
  type Program,
  type ProgramContext,
  type TextureOperand,
} from '../program.js';
import type { Node } from '../../../src/ir/graph.js';
import { broadcastShape, broadcastIndex } from '../../ops/broadcast.js';

/**
 * The parameters of the GEMM kernels; `offs` holds (A offset, B offset) per batch. The result is columns
 * [cOff, cOff + N) of a C with `ldc` columns (a column block of a product split over N; else cOff 0, ldc N).
 */
const params = (
  M: number,
  N: number,
  K: number,
  tA: number,
  tB: number,
  alpha: number,
  beta: number,
  cRow: number,
  cCol: number,
  offs: number[],
  ldc = N,
  cOff = 0,
) =>
  new Params()
    .u32('M', M)
    .u32('N', N)
    .u32('K', K)
    .u32('transA', tA)
    .u32('transB', tB)
    .f32('alpha', alpha)
    .f32('beta', beta)
    .u32('cRow', cRow)
    .u32('cCol', cCol)
    .u32('ldc', ldc)
    .u32('cOff', cOff)
    .array('offs', offs);

/** A[M,K]·B[K,N] per batch (workgroup z), 16×16 tiles. */
function tiled(T: string, withC: boolean, p: Params): string {
  return `${p.module}
var<workgroup> tA: array<array<f32, 16>, 16>;
var<workgroup> tB: array<array<f32, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  ${p.locals}
  let batch = wg.z;
  let aOff = offs(2u * batch); let bOff = offs(2u * batch + 1u);
  let row = wg.y * 16u + l.y; let col = wg.x * 16u + l.x;
  var acc = 0.0;
  for (var t = 0u; t < (K + 15u) / 16u; t++) {
    let ka = t * 16u + l.x; let kb = t * 16u + l.y;
    var av = 0.0; var bv = 0.0;
    if (row < M && ka < K) { av = f32(in0[aOff + select(row * K + ka, ka * M + row, transA == 1u)]); }
    if (kb < K && col < N) { bv = f32(in1[bOff + select(kb * N + col, col * K + kb, transB == 1u)]); }
    tA[l.y][l.x] = av; tB[l.y][l.x] = bv;
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) { acc += tA[l.y][k] * tB[k][l.x]; }
    workgroupBarrier();
  }
  if (row < M && col < N) {
    var y = alpha * acc;
    ${withC ? 'y += beta * f32(in2[row * cRow + (cOff + col) * cCol]);' : ''}
    out0[(batch * M + row) * ldc + cOff + col] = ${T}(y);
  }
}`;
}

/** The 64×64-block kernels' entry (here and the implicit-GEMM conv): tiles As/Bs of 16×64 in workgroup memory, 16×16 invocations. */
export const TILE4_HEAD = (p: Params) => `${p.module}
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  ${p.locals}`;

/**
 * The register-tiled form for larger products: a 16×16 workgroup computes a 64×64 block of C, each invocation
 * a 4×4 sub-block (vec4 rows), from 64×16 / 16×64 tiles of A and B in workgroup memory. Every output is the
 * same f32 sum in k order as `tiled`, so both kernels agree bit for bit; this one loads each element of the
 * tiles once per 16 multiply-adds instead of once per one.
 */
function tiled4(T: string, withC: boolean, p: Params): string {
  return `${TILE4_HEAD(p)}
  let batch = wg.z;
  let aOff = offs(2u * batch); let bOff = offs(2u * batch + 1u);
  let tid = l.y * 16u + l.x;
  let row0 = wg.y * 64u + l.y * 4u; let col0 = wg.x * 64u + l.x * 4u;
  var acc = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  for (var t = 0u; t < (K + 15u) / 16u; t++) {
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      let am = idx / 16u; let ak = idx % 16u;
      let gm = wg.y * 64u + am; let gk = t * 16u + ak;
      var av = 0.0;
      if (gm < M && gk < K) { av = f32(in0[aOff + select(gm * K + gk, gk * M + gm, transA == 1u)]); }
      As[ak][am] = av;
      let bk = idx / 64u; let bn = idx % 64u;
      let gkb = t * 16u + bk; let gn = wg.x * 64u + bn;
      var bv = 0.0;
      if (gkb < K && gn < N) { bv = f32(in1[bOff + select(gkb * N + gn, gn * K + gkb, transB == 1u)]); }
      Bs[bk][bn] = bv;
    }
${TILE_PRODUCT}
  }
${blockStores(
  4,
  4,
  'N',
  `var y = alpha * acc[i][j];
        ${withC ? 'y += beta * f32(in2[row * cRow + (cOff + col) * cCol]);' : ''}
        out0[(batch * M + row) * ldc + cOff + col] = ${T}(y);`,
)}
}`;
}
/** Rows and vec4 columns of C per invocation in the register-block GEMMs (measured on lavapipe: see docs/performance.md). */
export const RB = 16,
  CV = 2;
/** WGSL: for each row i < R and column j < C of the invocation's block (from row0, col0) inside M × `bound`, `store`. */
export const blockStores = (
  R: number,
  C: number,
  bound: string,
  store: string,
): string => `  for (var i = 0u; i < ${R}u; i++) {
    let row = row0 + i;
    if (row >= M) { break; }
    for (var j = 0u; j < ${C}u; j++) {
      let col = col0 + j;
      if (col < ${bound}) {
        ${store}
      }
    }
  }`;
/** The 64×64 tile step: once As (16×64) and Bs (16×64) hold a k-slice, each invocation's 4×4 block accumulates it. */
export const TILE_PRODUCT = `    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) {
      let b = vec4<f32>(Bs[k][l.x * 4u], Bs[k][l.x * 4u + 1u], Bs[k][l.x * 4u + 2u], Bs[k][l.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) { acc[i] = acc[i] + As[k][l.y * 4u + i] * b; }
    }
    workgroupBarrier();`;
/** The register block's update for one k: row i's A value `a` times the CV column vectors b0, b1, … */
export const registerFma = (): string =>
  Array.from({ length: CV }, (_, v) => `acc[i][${v}] = acc[i][${v}] + a * b${v};`).join(' ');
/** The register block's accumulators, as WGSL (function variables start at zero). */
export const accumulators = (): string => `var acc: array<array<vec4<f32>, ${CV}>, ${RB}>;`;

/**
 * Register blocks without workgroup memory, for software adapters: each invocation computes an RB × 4·CV block
 * of C straight from A and B (indices clamped at the edges, stores masked), summing in k order like the tiled
 * kernels. On a CPU rasterizer workgroup memory buys nothing and every barrier splits the shader.
 */
function registers(T: string, withC: boolean, p: Params): string {
  const CB = 4 * CV;
  const bload = (v: number) =>
    `vec4<f32>(${[0, 1, 2, 3].map((q) => `f32(in1[select(o + c[${4 * v + q}], bOff + c[${4 * v + q}] * K + k, transB == 1u)])`).join(', ')})`;
  return `${p.module}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  ${p.locals}
  let batch = wg.z;
  let aOff = offs(2u * batch); let bOff = offs(2u * batch + 1u);
  let row0 = gid.y * ${RB}u; let col0 = gid.x * ${CB}u;
  if (row0 >= M || col0 >= N) { return; }
  var r: array<u32, ${RB}>; var c: array<u32, ${CB}>;
  for (var i = 0u; i < ${RB}u; i++) { r[i] = min(row0 + i, M - 1u); }
  for (var j = 0u; j < ${CB}u; j++) { c[j] = min(col0 + j, N - 1u); }
  ${accumulators()}
  for (var k = 0u; k < K; k++) {
    let o = bOff + k * N;
    ${Array.from({ length: CV }, (_, v) => `let b${v} = ${bload(v)};`).join('\n    ')}
    for (var i = 0u; i < ${RB}u; i++) {
      let a = f32(in0[aOff + select(r[i] * K + k, k * M + r[i], transA == 1u)]);
      ${registerFma()}
    }
  }
${blockStores(
  RB,
  CB,
  'N',
  `var y = alpha * acc[i][j / 4u][j % 4u];
        ${withC ? 'y += beta * f32(in2[row * cRow + (cOff + col) * cCol]);' : ''}
        out0[(batch * M + row) * ldc + cOff + col] = ${T}(y);`,
)}
}`;
}

/**
 * Rows and vec4 columns of C per invocation in the texture GEMM, and its workgroup side (measured on lavapipe):
 * 8 rows, or one for a product of fewer rows (a decode step's matrix-vector products).
 */
const rowsPer = (M: number) => (M >= 8 ? 8 : 1),
  TV = 4,
  /** Workgroup (x, y) for TR rows an invocation: 4 × 4, or 16 × 1 for single rows. */
  texGroup = (TR: number) => (TR === 1 ? [16, 1] : [4, 4]);
const unroll = (n: number, f: (i: number) => string, sep = ' ') => Array.from({ length: n }, (_, i) => f(i)).join(sep);

/**
 * Packs a rows × cols operand (element (r, c) at r·cols + c, or c·rows + r when transposed) into
 * an rgba32float texture of ⌈cols/4⌉ × `height` texels, zero past the operand's edges: texel (x, r) holds
 * columns 4x … 4x+3 of row r. Exact: every value is an f32, an fp16 or a bf16, all exactly f32.
 */
export function packOperand(
  ctx: ProgramContext,
  t: GpuTensor,
  rows: number,
  cols: number,
  trans: boolean,
  height: number,
): TextureOperand {
  const width = Math.ceil(cols / 4);
  const p = new Params()
    .u32('rows', rows)
    .u32('cols', cols)
    .u32('W', width)
    .u32('tr', trans ? 1 : 0)
    .u32('count', width * height);
  const count = width * height;
  return {
    width,
    height,
    keep: t.constant ? t.buffer : undefined,
    key: `${t.dtype}:${rows}x${cols}:${trans}:${height}`,
    pack: {
      key: `pack4:${t.dtype}`,
      inputs: [t],
      outputs: [],
      meta: p.meta,
      groups: ctx.groups(count),
      wgsl: () => `${ctx.bindings([t.dtype], [])}
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;
${ctx.prologue('count', p)}
  let r = i / W; let x = i % W;
  var v = vec4<f32>(0.0);
  for (var q = 0u; q < 4u; q++) {
    let c = x * 4u + q;
    if (r < rows && c < cols) { v[q] = f32(in0[select(r * cols + c, c * rows + r, tr == 1u)]); }
  }
  textureStore(dst, vec2<i32>(i32(x), i32(r)), v);
}`,
    },
  };
}

/**
 * An f32 rounded to the stored type, as an f32. In bit operations: the compilers fold f32(f16(x)) into x.
 */
const ROUND: Record<string, string> = { f32: '', f16: 'q16', q16: 'q16', qb16: 'qb16' };

/**
 * The software adapters' GEMM on packed operands: A (M × K) and B (K × N) as textures of 4-wide texels; each
 * invocation computes a TR × 4·TV block of C, four k at a time, the sum still one f32 chain in k order (the
 * zero padding past K adds 0·0 = +0, which leaves every sum unchanged) — the same bits as the other forms.
 */
function textured(
  T: string,
  withC: boolean,
  p: Params,
  base: number,
  roundFirst: boolean,
  TR: number,
  b: Batched,
): string {
  return `${roundFirst && T === 'f16' ? Q16 : ''}
@group(0) @binding(${base}) var ta: texture_2d<f32>;
@group(0) @binding(${base + 1}) var tb: texture_2d<f32>;
${p.module}
@compute @workgroup_size(${texGroup(TR).join(', ')})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  ${p.locals}
  let bz = wg.z;
  let row0 = gid.y * ${TR}u; let col0 = gid.x * ${4 * TV}u;
  if (row0 >= M || col0 >= N) { return; }
  let K4 = (K + 3u) / 4u; let W = (N + 3u) / 4u;
  ${unroll(TR, (i) => `let r${i} = i32(${b.a ? 'bz * M + ' : ''}min(row0 + ${i}u, M - 1u));`)}
  ${unroll(TV, (j) => `let c${j} = i32(min(col0 / 4u + ${j}u, W - 1u));`)}
  ${unroll(TR, (i) => unroll(TV, (j) => `var acc${i}_${j} = vec4<f32>(0.0);`))}
  for (var k4 = 0u; k4 < K4; k4++) {
    let kb = i32((${b.b ? 'bz * K4 + ' : ''}k4) * 4u);
    ${unroll(4, (q) => unroll(TV, (j) => `let b${q}_${j} = textureLoad(tb, vec2<i32>(c${j}, kb + ${q}), 0);`))}
    ${unroll(TR, (i) => `{ let a = textureLoad(ta, vec2<i32>(i32(k4), r${i}), 0); ${unroll(4, (q) => unroll(TV, (j) => `acc${i}_${j} = acc${i}_${j} + a[${q}] * b${q}_${j};`))} }`, '\n    ')}
  }
  ${unroll(
    TR,
    (i) =>
      `if (row0 + ${i}u < M) { let row = row0 + ${i}u; ${unroll(
        4 * TV,
        (c) =>
          `if (col0 + ${c}u < N) { let col = col0 + ${c}u; var y = ${roundFirst ? `${ROUND[T]}(alpha * acc${i}_${c >> 2}[${c & 3}])` : `alpha * acc${i}_${c >> 2}[${c & 3}]`}; ${
            withC ? 'y += beta * f32(in0[row * cRow + (cOff + col) * cCol]);' : ''
          } out0[(bz * M + row) * ldc + cOff + col] = ${T}(y); }`,
      )} }`,
    '\n  ',
  )}
}`;
}

/** `n` products in one dispatch (workgroup z), A's rows and/or B's (padded) rows stacked per product in its texture. */
interface Batched {
  n: number;
  a: boolean;
  b: boolean;
}

/**
 * The texture form's program: C = alpha·A·B (+ beta·C, C broadcast by `cRow`/`cCol`). `roundFirst`: the product is
 * rounded to its type before C is added (a MatMul and the Add after it run as one dispatch with the Add's bits).
 */

export function texturedProgram(
  ctx: ProgramContext,
  name: string,
  dtype: number,
  M: number,
  N: number,
  K: number,
  tex: TextureOperand[],
  outDims: number[],
  C?: GpuTensor,
  gemmAttrs: { alpha: number; beta: number; cRow: number; cCol: number } = { alpha: 1, beta: 0, cRow: 0, cCol: 0 },
  roundFirst = false,
  b: Batched = { n: 1, a: false, b: false },
): Program {
  const { alpha, beta, cRow, cCol } = gemmAttrs;
  const pt = params(M, N, K, 0, 0, alpha, beta, cRow, cCol, [0, 0]);
  const TR = rowsPer(M);
  return {
    key: `${name}:${dtype}:${C?.dtype ?? ''}:${roundFirst}:${b.a}:${b.b}:textured${TR}`,
    inputs: C ? [C] : [],
    outputs: [{ dtype, dims: outDims }],
    textures: tex,
    meta: pt.meta,
    groups: Math.ceil(N / (4 * TV * texGroup(TR)[0])),
    groupsY: Math.ceil(M / (TR * texGroup(TR)[1])),
    groupsZ: b.n,
    wgsl: () =>
      `${ctx.bindings(C ? [C.dtype] : [], [dtype])}\n${textured(ctx.type(dtype), !!C, pt, C ? 3 : 2, roundFirst, TR, b)}`,
  };
}

/** C as one row of N values added to every row of the product. */
const ROW_BIAS = { alpha: 1, beta: 1, cRow: 0, cCol: 1 };

/**
 * The texture form's operands for an M × K by K × N product (none when the adapter takes no textures, the product
 * is empty, or a side is longer than a texture's).
 */
function textureOperands(
  ctx: ProgramContext,
  A: GpuTensor,
  B: GpuTensor,
  M: number,
  N: number,
  K: number,
  tA: boolean,
  tB: boolean,
): TextureOperand[] | undefined {
  if (!ctx.software) return undefined;
  return texturesFit(ctx, [packOperand(ctx, A, M, K, tA, M), packOperand(ctx, B, K, N, tB, Math.ceil(K / 4) * 4)]);
}

/** The operands, when every texture side is between 1 and the adapter's largest (else undefined). */
export const texturesFit = (ctx: ProgramContext, ops: TextureOperand[]): TextureOperand[] | undefined =>
  ops.every((o) => Math.min(o.width, o.height) >= 1 && Math.max(o.width, o.height) <= ctx.maxTexture) ? ops : undefined;

/** Workgroup counts and WGSL of the GEMM form this adapter wants for an M × N product. */
function gemmForm(
  ctx: ProgramContext,
  M: number,
  N: number,
): { tag: string; gx: number; gy: number; wgsl: (T: string, withC: boolean, p: Params) => string } {
  if (ctx.software)
    return { tag: 'registers', gx: Math.ceil(N / (32 * CV)), gy: Math.ceil(M / (8 * RB)), wgsl: registers };
  const t4 = big(M, N),
    tile = t4 ? 64 : 16;
  return { tag: t4 ? 'tiled4' : 'tiled', gx: Math.ceil(N / tile), gy: Math.ceil(M / tile), wgsl: t4 ? tiled4 : tiled };
}

/** Products this large use the register-tiled kernel (below, the 16×16 one wastes fewer invocations). */
const big = (M: number, N: number) => M >= 64 && N >= 64;

/** Where a product writes: columns [cOff, cOff + its N) of `into` (N columns in all), for a product split over N. */
export interface ColumnBlock {
  into: GpuTensor;
  ldc: number;
  cOff: number;
}

function matmul(
  ctx: ProgramContext,
  node: Node,
  A?: GpuTensor,
  B?: GpuTensor,
  block?: ColumnBlock,
  bias?: GpuTensor,
): Program | undefined {
  if (!isFloatTensor(A) || !isFloatTensor(B) || A!.dtype !== B!.dtype || !A!.dims.length || !B!.dims.length)
    return undefined;
  // numpy's 1-D operands: a vector A is one row, a vector B one column, and that dim leaves the result.
  const a1 = A!.dims.length === 1,
    b1 = B!.dims.length === 1;
  const ad = a1 ? [1, A!.dims[0]] : A!.dims,
    bd = b1 ? [B!.dims[0], 1] : B!.dims;
  const M = ad[ad.length - 2],
    K = ad[ad.length - 1],
    N = bd[bd.length - 1];
  const batch = broadcastShape([ad.slice(0, -2), bd.slice(0, -2)], node);
  const nb = numel(batch);
  if (nb > 65535) return undefined;
  const ia = broadcastIndex(ad.slice(0, -2), batch),
    ib = broadcastIndex(bd.slice(0, -2), batch);
  const offs: number[] = [];
  for (let i = 0; i < nb; i++) offs.push(ia[i] * M * K, ib[i] * K * N);
  const T = ctx.type(A!.dtype);
  const outDims = [...batch, ...(a1 ? [] : [M]), ...(b1 ? [] : [N])];
  // One B for every batch of a contiguous A: the batches are rows of one M·batch × K product.
  const tex =
    !block &&
    bd.length === 2 &&
    !ia.some((x, i) => x !== i) &&
    textureOperands(ctx, A!, B!, M * nb, N, K, false, false);
  if (bias) {
    // The Add after the product, over its rows: a bias of N values along the last axis, of the product's type,
    // adding no axes.
    const fits =
      bias.dtype === A!.dtype &&
      numel(bias.dims) === N &&
      bias.dims[bias.dims.length - 1] === N &&
      bias.dims.length <= outDims.length;
    return tex && fits
      ? texturedProgram(ctx, 'matmul', A!.dtype, M * nb, N, K, tex, outDims, bias, ROW_BIAS, true)
      : undefined;
  }
  if (tex) return texturedProgram(ctx, 'matmul', A!.dtype, M * nb, N, K, tex, outDims);
  const p = params(M, N, K, 0, 0, 1, 0, 0, 0, offs, block?.ldc ?? N, block?.cOff ?? 0);
  const f = gemmForm(ctx, M, N);
  return {
    key: `matmul:${A!.dtype}:${f.tag}`,
    inputs: [A!, B!],
    outputs: [{ dtype: A!.dtype, dims: outDims }],
    into: block && [block.into],
    meta: p.meta,
    groups: f.gx,
    groupsY: f.gy,
    groupsZ: nb,
    wgsl: () => `${ctx.bindings([A!.dtype, B!.dtype], [A!.dtype])}${f.wgsl(T, false, p)}`,
  };
}

function gemm(
  ctx: ProgramContext,
  node: Node,
  A?: GpuTensor,
  B?: GpuTensor,
  C?: GpuTensor,
  block?: ColumnBlock,
): Program | undefined {
  if (!isFloatTensor(A) || !isFloatTensor(B) || A!.dtype !== B!.dtype || (C && C.dtype !== A!.dtype)) return undefined;
  const tA = node.attrInt('transA', 0),
    tB = node.attrInt('transB', 0);
  const M = tA ? A!.dims[1] : A!.dims[0],
    K = tA ? A!.dims[0] : A!.dims[1],
    N = tB ? B!.dims[0] : B!.dims[1];
  let cr = 0,
    cc = 0;
  if (C) {
    const cd = C.dims.length === 1 ? [1, C.dims[0]] : C.dims.length === 0 ? [1, 1] : C.dims;
    cr = cd[0] === 1 ? 0 : cd[1];
    cc = cd[1] === 1 ? 0 : 1;
  }
  const T = ctx.type(A!.dtype);
  const tex = !block && textureOperands(ctx, A!, B!, M, N, K, tA === 1, tB === 1);
  if (tex)
    return texturedProgram(ctx, 'gemm', A!.dtype, M, N, K, tex, [M, N], C, {
      alpha: node.attrFloat('alpha', 1),
      beta: node.attrFloat('beta', 1),
      cRow: cr,
      cCol: cc,
    });
  const ins = C ? [A!, B!, C] : [A!, B!];
  const p = params(
    M,
    N,
    K,
    tA,
    tB,
    node.attrFloat('alpha', 1),
    node.attrFloat('beta', 1),
    cr,
    cc,
    [0, 0],
    block?.ldc ?? N,
    block?.cOff ?? 0,
  );
  const f = gemmForm(ctx, M, N);
  return {
    key: `gemm:${A!.dtype}:${!!C}:${f.tag}`,
    inputs: ins,
    outputs: [{ dtype: A!.dtype, dims: [M, N] }],
    into: block && [block.into],
    meta: p.meta,
    groups: f.gx,
    groupsY: f.gy,
    groupsZ: 1,
    wgsl: () =>
      `${ctx.bindings(
        ins.map((t) => t.dtype),
        [A!.dtype],
      )}${f.wgsl(T, !!C, p)}`,
  };
}

/**
 * Products whose weight (input 1, on the CPU) exceeds the largest binding run as column blocks of the result:
 * block j reads B's columns [n0, n1) — rows of a transposed B (contiguous), else a copy of the columns — and
 * writes C[:, n0:n1] of the one output. Each output element is still one kernel's whole k-sum, so the result
 * is the unsplit product's. Per op: the output's dims, whether B is stored transposed, and a block's program.
 */
export const splitProducts: Record<
  string,
  {
    outDims: (node: Node, A: GpuTensor, K: number, N: number) => number[];
    transposed: (node: Node) => boolean;
    run: (
      ctx: ProgramContext,
      node: Node,
      A: GpuTensor,
      B: GpuTensor,
      C: GpuTensor | undefined,
      block: ColumnBlock,
    ) => Program | undefined;
  }
> = {
  MatMul: {
    outDims: (_n, A, _K, N) => [...A.dims.slice(0, -1), N],
    transposed: () => false,
    run: (ctx, node, A, B, _C, block) => matmul(ctx, node, A, B, block),
  },
  Gemm: {
    outDims: (node, A, _K, N) => [node.attrInt('transA', 0) ? A.dims[1] : A.dims[0], N],
    transposed: (node) => node.attrInt('transB', 0) === 1,
    run: (ctx, node, A, B, C, block) => gemm(ctx, node, A, B, C, block),
  },
};

/**
 * Products that may take the op reading them — `reader`, with a constant as its other operand (a layer's bias) —
 * into the same dispatch: the product rounded to its type, then the bias added, so the two ops' bits. Only in the
 * texture form (`run` gives undefined otherwise, and the two run apart).
 */
export const biasEpilogues: Record<
  string,
  {
    reader: string;
    run: (ctx: ProgramContext, node: Node, A: GpuTensor, B: GpuTensor, bias: GpuTensor) => Program | undefined;
  }
> = {
  MatMul: { reader: 'Add', run: (ctx, node, A, B, bias) => matmul(ctx, node, A, B, undefined, bias) },
};

export const matmulKernels: Record<string, GpuKernel> = {
  MatMul: (node, [A, B], ctx) => matmul(ctx, node, A, B),
  Gemm: (node, [A, B, C], ctx) => gemm(ctx, node, A, B, C),
};
