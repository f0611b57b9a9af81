/**
 * 2-D Conv (groups, strides, pads incl. auto_pad, dilations, bias) and ConvTranspose (groups, strides, pads,
 * dilations, output_padding, output_shape / auto_pad, bias; geometry shared with the CPU kernel); f32
 * accumulation. A Conv without groups, with ≥ 32 output channels and ≥ 16 output pixels, is an implicit GEMM —
 * W[M, C·KH·KW] × im2col(X)[C·KH·KW, OH·OW] per image, gathered into the register-tiled GEMM's workgroup tiles
 * as they load (no im2col buffer) — on software adapters W and im2col(X) packed into textures for the texture GEMM
 * of kernels/matmul.ts, or register blocks; the others take one invocation per output element.
 */
import type { GpuKernel } from './types.js';
import { isFloatTensor, Params, type GpuTensor, type ProgramContext, type TextureOperand } from '../program.js';
import {
  RB,
  CV,
  accumulators,
  registerFma,
  blockStores,
  TILE_PRODUCT,
  TILE4_HEAD,
  packOperand,
  texturedProgram,
  texturesFit,
} from './matmul.js';
import { asConv2d, convGeometry, convTransposeGeometry, type Conv2dGeom } from '../../ops/conv.js';

/**
 * The register-tiled GEMM of kernels/matmul.ts over (output channel, output pixel), B tiles gathered from X.
 * Each invocation loads the same tile column of B at every step, so its pixel's window origin is computed once;
 * a pointwise conv (1×1, stride 1, no pads) reads X as the B matrix itself.
 */
function convGemm(T: string, withBias: boolean, pointwise: boolean, p: Params): string {
  return `${TILE4_HEAD(p)}
  let nb = wg.z; let P = OH * OW; let KK = KH * KW; let K = C * KK;
  let xOff = nb * C * u32(H) * u32(W);
  let tid = l.y * 16u + l.x;
  let row0 = wg.y * 64u + l.y * 4u; let col0 = wg.x * 64u + l.x * 4u;
  let ak = tid % 16u; let am0 = tid / 16u;
  let bn = tid % 64u; let bk0 = tid / 64u;
  let gp = wg.x * 64u + bn;
  let ih0 = i32((gp / OW) * SH) - i32(PT); let iw0 = i32((gp % OW) * SW) - i32(PL);
  var acc = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  for (var t = 0u; t < (K + 15u) / 16u; t++) {
    for (var e = 0u; e < 4u; e++) {
      let am = am0 + 16u * e;
      let gm = wg.y * 64u + am; let gk = t * 16u + ak;
      var av = 0.0;
      if (gm < M && gk < K) { av = f32(in1[gm * K + gk]); }
      As[ak][am] = av;
      let bk = bk0 + 4u * e; let gkb = t * 16u + bk;
      var bv = 0.0;
      if (gkb < K && gp < P) {
        ${
          pointwise
            ? 'bv = f32(in0[xOff + gkb * P + gp]);'
            : `let c = gkb / KK; let r = gkb % KK;
        let ih = ih0 + i32((r / KW) * DH); let iw = iw0 + i32((r % KW) * DW);
        if (ih >= 0 && ih < H && iw >= 0 && iw < W) { bv = f32(in0[xOff + (c * u32(H) + u32(ih)) * u32(W) + u32(iw)]); }`
        }
      }
      Bs[bk][bn] = bv;
    }
${TILE_PRODUCT}
  }
${blockStores(4, 4, 'P', `out0[(nb * M + row) * P + col] = ${T}(acc[i][j]${withBias ? ' + f32(in2[row])' : ''});`)}
}`;
}

/**
 * The implicit GEMM as register blocks (kernels/matmul.ts `registers`), for software adapters: RB output
 * channels × 4·CV pixels per invocation, each pixel's window origin computed once, (c, kh, kw) once per k.
 */
function convRegisters(T: string, withBias: boolean, pointwise: boolean, p: Params): string {
  const CB = 4 * CV;
  const store = blockStores(
    RB,
    CB,
    'P',
    `out0[(nb * M + row) * P + col] = ${T}(acc[i][j / 4u][j % 4u]${withBias ? ' + f32(in2[row])' : ''});`,
  );
  const head = `${p.module}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  ${p.locals}
  let nb = wg.z; let P = OH * OW; let KK = KH * KW; let K = C * KK; let HW = u32(H) * u32(W);
  let xOff = nb * C * HW;
  let row0 = gid.y * ${RB}u; let col0 = gid.x * ${CB}u;
  if (row0 >= M || col0 >= P) { return; }
  var r: array<u32, ${RB}>; var pix: array<u32, ${CB}>; var ih0: array<i32, ${CB}>; var iw0: array<i32, ${CB}>;
  for (var i = 0u; i < ${RB}u; i++) { r[i] = min(row0 + i, M - 1u); }
  for (var j = 0u; j < ${CB}u; j++) {
    let q = min(col0 + j, P - 1u); pix[j] = q;
    ih0[j] = i32((q / OW) * SH) - i32(PT); iw0[j] = i32((q % OW) * SW) - i32(PL);
  }
  ${accumulators()}`;
  const fma = `for (var i = 0u; i < ${RB}u; i++) {
      let a = f32(in1[r[i] * K + wk]);
      ${registerFma()}
    }`;
  if (pointwise) {
    return `${head}
  for (var k = 0u; k < K; k++) {
    let xk = xOff + k * P; let wk = k;
    ${Array.from({ length: CV }, (_, v) => `let b${v} = vec4<f32>(${[0, 1, 2, 3].map((q) => `f32(in0[xk + pix[${4 * v + q}]])`).join(', ')});`).join('\n    ')}
    ${fma}
  }
${store}
}`;
  }
  // Taps outermost: each pixel's window offset and padding mask are computed once per (kh, kw), and the inner loop
  // over channels only steps by H·W (the index arithmetic of a gather per k cost about as much as its FMAs).
  const px = (j: number) => `select(0.0, f32(in0[po[${j}] + xc]), ok[${j}])`;
  return `${head}
  var po: array<u32, ${CB}>; var ok: array<bool, ${CB}>;
  for (var kh = 0u; kh < KH; kh++) {
    for (var kw = 0u; kw < KW; kw++) {
      for (var j = 0u; j < ${CB}u; j++) {
        let ih = ih0[j] + i32(kh * DH); let iw = iw0[j] + i32(kw * DW);
        ok[j] = ih >= 0 && ih < H && iw >= 0 && iw < W;
        po[j] = xOff + u32(clamp(ih, 0, H - 1)) * u32(W) + u32(clamp(iw, 0, W - 1));
      }
      let kk = kh * KW + kw;
      for (var c = 0u; c < C; c++) {
        let xc = c * HW; let wk = c * KK + kk;
        ${Array.from({ length: CV }, (_, v) => `let b${v} = vec4<f32>(${[0, 1, 2, 3].map((q) => px(4 * v + q)).join(', ')});`).join('\n        ')}
        ${fma}
      }
    }
  }
${store}
}`;
}

/** The conv's sizes as kernel parameters, after `p`'s own (the WGSL reads them by name). */
const convParams = (p: Params, C: number, M: number, c: Conv2dGeom): Params =>
  p
    .u32('C', C)
    .i32('H', c.H)
    .i32('W', c.W)
    .u32('M', M)
    .u32('OH', c.OH)
    .u32('OW', c.OW)
    .u32('KH', c.KH)
    .u32('KW', c.KW)
    .u32('SH', c.SH)
    .u32('SW', c.SW)
    .u32('PT', c.PT)
    .u32('PL', c.PL)
    .u32('DH', c.DH)
    .u32('DW', c.DW);

/**
 * im2col(X) of every image as an rgba32float texture for the texture GEMM (software adapters): texel (x, n·K4 + k)
 * holds pixels 4x … 4x+3 of row k = (c, kh, kw) — W's own order — of image n, zero in the padding and past the
 * edges (K4: K rounded up to 4).
 */
function im2col(ctx: ProgramContext, X: GpuTensor, C: number, M: number, c: Conv2dGeom, N: number): TextureOperand {
  const K = C * c.KH * c.KW,
    K4 = Math.ceil(K / 4) * 4,
    P = c.OH * c.OW;
  const width = Math.ceil(P / 4),
    height = N * K4;
  const p = convParams(
    new Params()
      .u32('count', width * height)
      .u32('TW', width)
      .u32('K4', K4),
    C,
    M,
    c,
  );
  return {
    width,
    height,
    key: '',
    pack: {
      key: `im2col4:${X.dtype}`,
      inputs: [X],
      outputs: [],
      meta: p.meta,
      groups: ctx.groups(width * height),
      wgsl: () => `${ctx.bindings([X.dtype], [])}
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;
${ctx.prologue('count', p)}
  let y = i / TW; let x = i % TW;
  let nb = y / K4; let k = y % K4;
  let KK = KH * KW; let P = OH * OW;
  var v = vec4<f32>(0.0);
  if (k < C * KK) {
    let ch = k / KK; let kh = (k % KK) / KW; let kw = k % KW;
    let xc = (nb * C + ch) * u32(H);
    for (var q = 0u; q < 4u; q++) {
      let px = x * 4u + q;
      let ih = i32((px / OW) * SH + kh * DH) - i32(PT); let iw = i32((px % OW) * SW + kw * DW) - i32(PL);
      if (px < P && ih >= 0 && ih < H && iw >= 0 && iw < W) { v[q] = f32(in0[(xc + u32(ih)) * u32(W) + u32(iw)]); }
    }
  }
  textureStore(dst, vec2<i32>(i32(x), i32(y)), v);
}`,
    },
  };
}

/** Direct convolution, one output element an invocation (groups, any size): the body after the prologue. */
const directConv = (T: string, bias: boolean): string => `  let mPerG = M / G;
  let ow = i % OW; let oh = (i / OW) % OH; let m = (i / (OW * OH)) % M; let nb = i / (OW * OH * M);
  let grp = m / mPerG;
  var acc = ${bias ? 'f32(in2[m])' : '0.0'};
  for (var c = 0u; c < CG; c++) {
    let xc = (nb * C + grp * CG + c) * u32(H) * u32(W);
    let wc = (m * CG + c) * KH * KW;
    for (var kh = 0u; kh < KH; kh++) {
      let ih = i32(oh * SH + kh * DH) - i32(PT);
      if (ih < 0 || ih >= H) { continue; }
      for (var kw = 0u; kw < KW; kw++) {
        let iw = i32(ow * SW + kw * DW) - i32(PL);
        if (iw < 0 || iw >= W) { continue; }
        acc += f32(in0[xc + u32(ih) * u32(W) + u32(iw)]) * f32(in1[wc + kh * KW + kw]);
      }
    }
  }
  out0[i] = ${T}(acc);
}`;

export const convKernels: Record<string, GpuKernel> = {
  Conv: (node, [Xin, Win, B], ctx) => {
    if (
      !isFloatTensor(Xin) ||
      (Xin!.dims.length !== 4 && Xin!.dims.length !== 3) ||
      Win!.dtype !== Xin!.dtype ||
      (B && B.dtype !== Xin!.dtype)
    )
      return undefined;
    // A 1-D conv is a 2-D one of height 1 (the same buffers, other dims).
    const one = Xin!.dims.length === 3;
    const X = one ? { ...Xin!, dims: [Xin!.dims[0], Xin!.dims[1], 1, Xin!.dims[2]] } : Xin!,
      W = one ? { ...Win!, dims: [Win!.dims[0], Win!.dims[1], 1, Win!.dims[2]] } : Win!;
    const [N, C] = X.dims,
      [M, CG] = W.dims,
      kdims = Win!.dims.slice(2);
    const g = convGeometry(node, Xin!.dims.slice(2), node.attrInts('kernel_shape') ?? kdims),
      c = asConv2d(Xin!.dims.slice(2), kdims, g);
    const { KH, KW, OH, OW } = c;
    const group = node.attrInt('group', 1);
    const n = N * M * OH * OW,
      T = ctx.type(X!.dtype);
    const ins = B ? [X!, W!, B] : [X!, W!];
    const outDims = one ? [N, M, OW] : [N, M, OH, OW];
    const K = C * KH * KW;
    // Software adapters: W (M × K, kept) times im2col(X) (K × OH·OW per image) from textures, the bias per row.
    // Not below `convTextureFrom` output channels: there, on lavapipe, packing im2col costs more than it saves.
    const gemmShaped = group === 1 && M >= 32 && OH * OW >= 16 && N <= 65535;
    const tex =
      gemmShaped &&
      ctx.software &&
      M >= ctx.convTextureFrom &&
      texturesFit(ctx, [packOperand(ctx, W, M, K, false, M), im2col(ctx, X, C, M, c, N)]);
    if (tex) {
      const bias = { alpha: 1, beta: 1, cRow: 1, cCol: 0 };
      return texturedProgram(ctx, 'conv', X.dtype, M, OH * OW, K, tex, outDims, B, bias, false, {
        n: N,
        a: false,
        b: true,
      });
    }
    if (gemmShaped) {
      const q = convParams(new Params(), C, M, c);
      const pointwise = KH === 1 && KW === 1 && g.strides.every((v) => v === 1) && g.pads.every((v) => v === 0);
      const regs = ctx.software;
      return {
        key: `conv2d-gemm:${X!.dtype}:${!!B}:${pointwise}:${regs}`,
        inputs: ins,
        outputs: [{ dtype: X!.dtype, dims: one ? [N, M, OW] : [N, M, OH, OW] }],
        meta: q.meta,
        groups: Math.ceil((OH * OW) / (regs ? 32 * CV : 64)),
        groupsY: Math.ceil(M / (regs ? 8 * RB : 64)),
        groupsZ: N,
        wgsl: () =>
          `${ctx.bindings(
            ins.map((t) => t.dtype),
            [X!.dtype],
          )}${(regs ? convRegisters : convGemm)(T, !!B, pointwise, q)}`,
      };
    }
    const p = convParams(new Params().u32('count', n), C, M, c).u32('G', group).u32('CG', CG);
    return {
      key: `conv2d:${X!.dtype}:${!!B}`,
      inputs: ins,
      outputs: [{ dtype: X!.dtype, dims: one ? [N, M, OW] : [N, M, OH, OW] }],
      meta: p.meta,
      groups: ctx.groups(n),
      wgsl: () => `${ctx.bindings(
        ins.map((t) => t.dtype),
        [X!.dtype],
      )}${ctx.prologue('count', p)}
${directConv(T, !!B)}`,
    };
  },
  ConvTranspose: (node, [X, W, B], ctx) => {
    if (!isFloatTensor(X) || X!.dims.length !== 4 || W!.dtype !== X!.dtype || (B && B.dtype !== X!.dtype))
      return undefined;
    const [N, C, H, Wd] = X!.dims,
      [, MG, KH, KW] = W!.dims,
      group = node.attrInt('group', 1);
    const {
      strides: s,
      dilations: d,
      pads: p0,
      out: [OH, OW],
    } = convTransposeGeometry(node, [H, Wd], [KH, KW]);
    const M = MG * group,
      n = N * M * OH * OW,
      T = ctx.type(X!.dtype);
    if (OH <= 0 || OW <= 0) return undefined;
    const ins = B ? [X!, W!, B] : [X!, W!];
    const p = new Params()
      .u32('count', n)
      .u32('C', C)
      .i32('H', H)
      .i32('W', Wd)
      .u32('M', M)
      .u32('MG', MG)
      .u32('OH', OH)
      .u32('OW', OW)
      .u32('KH', KH)
      .u32('KW', KW)
      .i32('SH', s[0])
      .i32('SW', s[1])
      .i32('PT', p0[0])
      .i32('PL', p0[1])
      .i32('DH', d[0])
      .i32('DW', d[1])
      .u32('CG', C / group);
    return {
      key: `convtranspose2d:${X!.dtype}:${!!B}`,
      inputs: ins,
      outputs: [{ dtype: X!.dtype, dims: [N, M, OH, OW] }],
      meta: p.meta,
      groups: ctx.groups(n),
      wgsl: () => `${ctx.bindings(
        ins.map((t) => t.dtype),
        [X!.dtype],
      )}${ctx.prologue('count', p)}
  let ow = i % OW; let oh = (i / OW) % OH; let m = (i / (OW * OH)) % M; let nb = i / (OW * OH * M);
  let grp = m / MG; let ml = m % MG;
  var acc = ${B ? 'f32(in2[m])' : '0.0'};
  for (var c = 0u; c < CG; c++) {
    let cg = grp * CG + c;
    let xc = (nb * C + cg) * u32(H) * u32(W);
    let wc = (cg * MG + ml) * KH * KW;
    for (var kh = 0u; kh < KH; kh++) {
      let th = i32(oh) + PT - i32(kh) * DH;
      if (th < 0 || th % SH != 0) { continue; }
      let ih = th / SH;
      if (ih >= H) { continue; }
      for (var kw = 0u; kw < KW; kw++) {
        let tw = i32(ow) + PL - i32(kw) * DW;
        if (tw < 0 || tw % SW != 0) { continue; }
        let iw = tw / SW;
        if (iw >= W) { continue; }
        acc += f32(in0[xc + u32(ih) * u32(W) + u32(iw)]) * f32(in1[wc + kh * KW + kw]);
      }
    }
  }
  out0[i] = ${T}(acc);
}`,
    };
  },
};
