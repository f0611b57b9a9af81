/**
 * LSTM (gate order i, o, f, c as the ONNX spec) and GRU (z, r, h; linear_before_reset either way): one 64-wide
 * workgroup per (direction, batch row) walks the sequence, the hidden state in workgroup memory between steps
 * (barriers per step), the LSTM cell state in registers, f32 throughout, outputs stored in the tensor type. Forms
 * left to the CPU: sequence_lens, peepholes, clip, input_forget, other activations, layout 1, hidden size above 256.
 */
import type { GpuKernel } from './types.js';
import type { GpuTensor } from '../program.js';
import { isFloatTensor, Params, type ProgramContext } from '../program.js';
import type { Node } from '../../../src/ir/graph.js';

const MAX_HIDDEN = 256;

/**
 * The entry point both recurrences share: the hidden state in workgroup memory (plus `extra` declarations), one
 * workgroup per (direction d, batch row b), the direction's walk order and the state offset `so`.
 */
const head = (p: Params, extra: string) => `var<workgroup> hs: array<f32, ${MAX_HIDDEN}>;
${extra}
fn sig_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${p.locals}
  let d = wid.x / Bn; let b = wid.x % Bn;
  let backward = d == 1u || rev == 1u;
  let so = (d * Bn + b) * Hn;`;

/**
 * What LSTM and GRU share: direction and sizes (declined past MAX_HIDDEN or with mixed types), the inputs as
 * bound (optional ones only when present, `at` naming each binding), the parameters and 64-wide units per row.
 */
function recurrence(
  node: Node,
  X: GpuTensor,
  W: GpuTensor,
  R: GpuTensor,
  optional: (GpuTensor | undefined)[],
  ctx: ProgramContext,
) {
  const dir = node.attrString('direction', 'forward'),
    D = dir === 'bidirectional' ? 2 : 1;
  const [T, Bn, In] = X.dims,
    Hn = R.dims[2];
  if (Hn > MAX_HIDDEN || W.dims[0] !== D || [W, R, ...optional].some((t) => t && t.dtype !== X.dtype)) return undefined;
  const ins: GpuTensor[] = [X, W, R, ...optional.filter((t): t is GpuTensor => !!t)];
  const at = (t?: GpuTensor) => (t ? `in${ins.indexOf(t)}` : '');
  const p = new Params()
    .u32('T', T)
    .u32('Bn', Bn)
    .u32('In', In)
    .u32('Hn', Hn)
    .u32('rev', dir === 'reverse' ? 1 : 0);
  return { D, T, Bn, Hn, ins, at, dt: X.dtype, Ty: ctx.type(X.dtype), p, units: Math.ceil(Hn / 64) };
}

const lstm: GpuKernel = (node, [X, W, R, B, lens, h0, c0, P], ctx) => {
  if (!isFloatTensor(X) || !W || !R || lens || P || X!.dims.length !== 3) return undefined;
  if (node.attr('clip') || node.attrInt('input_forget', 0) || node.attr('activations') || node.attrInt('layout', 0))
    return undefined;
  const r = recurrence(node, X!, W, R, [B, h0, c0], ctx);
  if (!r) return undefined;
  const { D, T, Bn, Hn, ins, at, dt, Ty, p, units } = r;
  return {
    key: `lstm:${dt}:${!!B}:${!!h0}:${!!c0}:${units}`,
    inputs: ins,
    outputs: [
      { dtype: dt, dims: [T, D, Bn, Hn] },
      { dtype: dt, dims: [D, Bn, Hn] },
      { dtype: dt, dims: [D, Bn, Hn] },
    ],
    meta: p.meta,
    groups: D * Bn,
    wgsl: () => `${ctx.bindings(
      ins.map((t) => t.dtype),
      [dt, dt, dt],
    )}
${head(p, '')}
  var c: array<f32, ${units}>;
  for (var q = 0u; q < ${units}u; q++) {
    let h = lid + q * 64u;
    if (h < Hn) { hs[h] = ${h0 ? `f32(${at(h0)}[so + h])` : '0.0'}; c[q] = ${c0 ? `f32(${at(c0)}[so + h])` : '0.0'}; }
  }
  workgroupBarrier();
  for (var s = 0u; s < T; s++) {
    let t = select(s, T - 1u - s, backward);
    var hn: array<f32, ${units}>;
    for (var q = 0u; q < ${units}u; q++) {
      let h = lid + q * 64u;
      if (h < Hn) {
        var g: array<f32, 4>;
        for (var k = 0u; k < 4u; k++) {
          let j = k * Hn + h;
          var acc = ${B ? `f32(${at(B)}[d * 8u * Hn + j]) + f32(${at(B)}[d * 8u * Hn + 4u * Hn + j])` : '0.0'};
          let wo = (d * 4u * Hn + j) * In; let ro = (d * 4u * Hn + j) * Hn; let xo = (t * Bn + b) * In;
          for (var i = 0u; i < In; i++) { acc += f32(in0[xo + i]) * f32(in1[wo + i]); }
          for (var i = 0u; i < Hn; i++) { acc += hs[i] * f32(in2[ro + i]); }
          g[k] = acc;
        }
        c[q] = sig_(g[2]) * c[q] + sig_(g[0]) * tanh(g[3]);
        hn[q] = sig_(g[1]) * tanh(c[q]);
      }
    }
    workgroupBarrier();
    for (var q = 0u; q < ${units}u; q++) {
      let h = lid + q * 64u;
      if (h < Hn) { hs[h] = hn[q]; out0[((t * ${D}u + d) * Bn + b) * Hn + h] = ${Ty}(hn[q]); }
    }
    workgroupBarrier();
  }
  for (var q = 0u; q < ${units}u; q++) {
    let h = lid + q * 64u;
    if (h < Hn) { out1[so + h] = ${Ty}(hs[h]); out2[so + h] = ${Ty}(c[q]); }
  }
}`,
  };
};

/**
 * The GRU's WGSL after its bindings: one workgroup per (direction, batch row), the hidden state in workgroup
 * memory, gates z and r, then the candidate (with `lbr`, the reset applied after the recurrent product).
 */
function gruBody(o: {
  p: Params;
  units: number;
  Ty: string;
  D: number;
  lbr: boolean;
  h0?: string;
  wb: (k: string) => string;
}): string {
  const { p, units, Ty, D, lbr, h0, wb } = o;
  return `${head(p, `var<workgroup> rh: array<f32, ${MAX_HIDDEN}>;`)}
  for (var q = 0u; q < ${units}u; q++) { let h = lid + q * 64u; if (h < Hn) { hs[h] = ${h0 ? `f32(${h0}[so + h])` : '0.0'}; } }
  workgroupBarrier();
  for (var s = 0u; s < T; s++) {
    let t = select(s, T - 1u - s, backward);
    let xo = (t * Bn + b) * In;
    var z: array<f32, ${units}>; var hx: array<f32, ${units}>;
    for (var q = 0u; q < ${units}u; q++) {
      let h = lid + q * 64u;
      if (h < Hn) {
        var gx: array<f32, 3>; var gh: array<f32, 3>;
        for (var k = 0u; k < 3u; k++) {
          let j = k * Hn + h;
          var ax = ${wb('j')}; var ah = ${wb('3u * Hn + j')};
          for (var i = 0u; i < In; i++) { ax += f32(in0[xo + i]) * f32(in1[(d * 3u * Hn + j) * In + i]); }
          if (k < 2u || ${lbr ? 'true' : 'false'}) { for (var i = 0u; i < Hn; i++) { ah += hs[i] * f32(in2[(d * 3u * Hn + j) * Hn + i]); } }
          gx[k] = ax; gh[k] = ah;
        }
        z[q] = sig_(gx[0] + gh[0]);
        let r = sig_(gx[1] + gh[1]);
        ${lbr ? 'hx[q] = tanh(gx[2] + r * gh[2]);' : 'hx[q] = gx[2] + gh[2]; rh[h] = r * hs[h];'}
      }
    }
    workgroupBarrier();
    ${
      lbr
        ? ''
        : `for (var q = 0u; q < ${units}u; q++) {
      let h = lid + q * 64u;
      if (h < Hn) {
        var acc = 0.0;
        for (var i = 0u; i < Hn; i++) { acc += rh[i] * f32(in2[(d * 3u * Hn + 2u * Hn + h) * Hn + i]); }
        hx[q] = tanh(hx[q] + acc);
      }
    }
    workgroupBarrier();`
    }
    for (var q = 0u; q < ${units}u; q++) {
      let h = lid + q * 64u;
      if (h < Hn) {
        let hn = (1.0 - z[q]) * hx[q] + z[q] * hs[h];
        hs[h] = hn;
        out0[((t * ${D}u + d) * Bn + b) * Hn + h] = ${Ty}(hn);
      }
    }
    workgroupBarrier();
  }
  for (var q = 0u; q < ${units}u; q++) { let h = lid + q * 64u; if (h < Hn) { out1[so + h] = ${Ty}(hs[h]); } }
}`;
}

const gru: GpuKernel = (node, [X, W, R, B, lens, h0], ctx) => {
  if (!isFloatTensor(X) || !W || !R || lens || X!.dims.length !== 3) return undefined;
  if (node.attr('clip') || node.attr('activations') || node.attrInt('layout', 0)) return undefined;
  const r = recurrence(node, X!, W, R, [B, h0], ctx);
  if (!r) return undefined;
  const { D, T, Bn, Hn, ins, at, dt, Ty, p, units } = r;
  const lbr = node.attrInt('linear_before_reset', 0) !== 0;
  const wb = (k: string) => (B ? `f32(${at(B)}[d * 6u * Hn + ${k}])` : '0.0');
  return {
    key: `gru:${dt}:${!!B}:${!!h0}:${lbr}:${units}`,
    inputs: ins,
    outputs: [
      { dtype: dt, dims: [T, D, Bn, Hn] },
      { dtype: dt, dims: [D, Bn, Hn] },
    ],
    meta: p.meta,
    groups: D * Bn,
    wgsl: () => `${ctx.bindings(
      ins.map((t) => t.dtype),
      [dt, dt],
    )}
${gruBody({ p, units, Ty, D, lbr, h0: h0 ? at(h0) : undefined, wb })}`,
  };
};

export const rnnKernels: Record<string, GpuKernel> = { LSTM: lstm, GRU: gru };
