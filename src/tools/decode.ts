/**
 * Greedy decode check for decoders with a KV cache (Optimum's layout: `past_key_values.N.key/value` inputs,
 * `present.N.key/value` outputs, `input_ids`, `logits`; optional `position_ids`, `attention_mask`,
 * `use_cache_branch`). One forward pass hides how KV-cache error accumulates, and next-token agreement is what
 * LLM users judge: starting from the given input set, the fp32 model picks each next token greedily; both
 * models are fed those tokens (teacher forcing) with their own cache carried from step to step, and at every
 * step the converted model's last-position logits are compared with the fp32 model's — the error, and whether
 * the argmax (the next token) agrees.
 */
import type { Model } from '../ir/graph.js';
import { DataType } from '../core/dtype.js';
import { CpuExecutor } from '../../runtime/cpu/executor.js';
import { toFloat32, type RTensor } from '../ir/rtensor.js';
import { tensorStats, meets, type Tolerance } from './report/stats.js';
import { feedsFor, type DecodeCheck, type DecodeStep } from './verify.js';

/** How the decoder's inputs and outputs pair up. */
export interface DecoderIo {
  ids: string;
  logits: string;
  cache: { past: string; present: string }[];
  positions?: string;
  mask?: string;
  branch?: string;
}

const PAST = /^past_key_values\.(\d+)\.(key|value)$|^past_(key|value)s?\.?(\d+)?$/;

/** The decoder layout of a model, or undefined when it is not a KV-cache decoder. */
export function decoderIo(model: Model): DecoderIo | undefined {
  const g = model.graph;
  const ins = g.inputs.filter((i) => !g.initializers.has(i));
  const ids = ins.find((i) => i === 'input_ids');
  const logits = g.outputs.find((o) => o === 'logits');
  if (!ids || !logits) return undefined;
  const cache = ins
    .filter((i) => PAST.test(i))
    .map((past) => {
      const present = past.startsWith('past_key_values.')
        ? past.replace('past_key_values.', 'present.')
        : past.replace(/^past/, 'present');
      return { past, present };
    });
  if (!cache.length || cache.some((c) => !g.outputs.includes(c.present))) return undefined;
  const opt = (n: string) => (ins.includes(n) ? n : undefined);
  return {
    ids,
    logits,
    cache,
    positions: opt('position_ids'),
    mask: opt('attention_mask'),
    branch: opt('use_cache_branch'),
  };
}

const argmaxLast = (t: RTensor): number => {
  const v = toFloat32(t),
    V = t.dims[t.dims.length - 1],
    off = v.length - V;
  let best = 0;
  for (let i = 1; i < V; i++) if (v[off + i] > v[off + best]) best = i;
  return best;
};
const lastRow = (t: RTensor): Float32Array => {
  const v = toFloat32(t),
    V = t.dims[t.dims.length - 1];
  return v.slice(v.length - V);
};
const ints = (dt: number, dims: number[], vals: number[]): RTensor =>
  dt === DataType.INT32
    ? { dtype: dt, dims, data: Int32Array.from(vals) }
    : { dtype: DataType.INT64, dims, data: BigInt64Array.from(vals.map(BigInt)) };

/** Feeds for the next step: one new token at the next position, the cache from `out`. */
function nextFeeds(
  io: DecoderIo,
  prev: Record<string, RTensor>,
  out: Record<string, RTensor>,
  token: number,
): Record<string, RTensor> {
  const f: Record<string, RTensor> = { ...prev };
  const idT = prev[io.ids].dtype;
  f[io.ids] = ints(idT, [1, 1], [token]);
  for (const c of io.cache) f[c.past] = out[c.present];
  if (io.positions) {
    const p = prev[io.positions],
      v = toFloat32(p);
    f[io.positions] = ints(p.dtype, [1, 1], [v[v.length - 1] + 1]);
  }
  if (io.mask) {
    const m = prev[io.mask];
    f[io.mask] = ints(m.dtype, [1, m.dims[1] + 1], new Array(m.dims[1] + 1).fill(1));
  }
  if (io.branch) f[io.branch] = { dtype: DataType.BOOL, dims: prev[io.branch].dims, data: Uint8Array.from([1]) };
  return f;
}

/** Teacher-forced greedy decode of `steps` tokens on both models from `feeds` (batch 1). */
export function decodeCheck(
  original: Model,
  converted: Model,
  feeds: Record<string, RTensor>,
  steps: number,
  tolerance: Tolerance,
): DecodeCheck {
  const io = decoderIo(original);
  if (!io) throw new Error('not a KV-cache decoder');
  const ref = new CpuExecutor(original),
    conv = new CpuExecutor(converted);
  let rf = feeds,
    cf = feedsFor(converted, feeds);
  const out: DecodeStep[] = [];
  for (let s = 0; s < steps; s++) {
    const ro = ref.runSync(rf),
      co = conv.runSync(cf);
    const token = argmaxLast(ro[io.logits]),
      convertedToken = argmaxLast(co[io.logits]);
    const st = tensorStats(lastRow(ro[io.logits]), lastRow(co[io.logits]), tolerance);
    out.push({
      step: s,
      token,
      convertedToken,
      maxAbs: st.maxAbs,
      cosine: Number.isNaN(st.cosine) ? -1 : st.cosine,
      pass: meets(st, tolerance),
    });
    rf = nextFeeds(io, rf, ro, token);
    cf = feedsFor(converted, nextFeeds(io, cf, co, token));
  }
  const agree = out.filter((s) => s.token === s.convertedToken).length;
  return { steps: out, agreement: out.length ? agree / out.length : 1, pass: out.every((s) => s.pass) };
}
