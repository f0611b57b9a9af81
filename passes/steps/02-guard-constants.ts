/**
 * Step 2 — guard constants. A float constant (initializer, Constant / ConstantOfShape value) that fp16
 * cannot hold keeps its reader in fp32 instead of being clamped: values beyond `maxInit` (default 65504,
 * fp16's largest finite), or a tensor that would lose more than `underflowMass` of its L1 mass to values
 * below `minPositive` (default 2^-24, fp16's smallest subnormal). Where the op's type constraints let that
 * input keep fp32 while the node runs low (`mixed` slot groups in the policy, e.g. BatchNormalization-15's
 * scale/bias and mean/var), only the slot group stays fp32. With `clamp` the old behaviour returns: values
 * are clamped to ±65504 in step 7 and nothing is kept. bf16 holds fp32's range, so it is guarded only
 * against limits the user sets.
 */
import type { PassContext } from '../context.js';
import type { ScanF32, RangeCounts } from '../options.js';
import { isFloatValue } from '../context.js';
import { opRole, slotPolicy } from '../policy.js';
import { DataType } from '../../src/core/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { Node } from '../../src/ir/graph.js';

/**
 * A constant's range: largest |x|; the share of its L1 mass and the count of nonzero values below
 * minPositive; and `zeroed`, the nonzero values fp16 rounds to zero (|x| ≤ 2⁻²⁵, ties to even).
 */
export interface ConstantRange { maxAbs: number; flushedMass: number; flushed: number; zeroed: number }
const cache = new WeakMap<object, ConstantRange & { key: string }>();
/**
 * What a range is cached by: a payload still in its file by its file range (copies of a model share it —
 * lowBranchOutputs' trial conversions — so the weights are scanned once), any other by its tensor.
 */
const rangeKey = (t: Tensor): object => (!t.loaded && !t.derived && (t.backing ?? t.external)) || t;

/**
 * Largest |x|, and the share of the L1 mass and the count of nonzero values below `minPositive`. One pass on
 * the bit patterns (|x| orders like its bits); the mass is summed in a second pass only when the tiny values
 * could be `underflowMass` of it (the largest value alone is a lower bound of the mass).
 */
export function constantRange(t: Tensor, minPositive: number, underflowMass = 0, scan?: ScanF32): ConstantRange {
  const key = `${minPositive}|${underflowMass}`, hit = cache.get(rangeKey(t));
  if (hit?.key === key) return hit;
  // Chunk by chunk (Tensor.chunks): an external tensor is scanned without being held in memory.
  const views = function* () {
    for (const raw of t.chunks()) {
      const bytes = raw.byteOffset % 4 === 0 ? raw : new Uint8Array(raw);
      const n = bytes.byteLength >>> 2;
      yield [new Int32Array(bytes.buffer, bytes.byteOffset, n), new Float32Array(bytes.buffer, bytes.byteOffset, n)] as const;
    }
  };
  f32[0] = minPositive;
  const tinyBits = minPositive > 0 ? u32[0] : 0;
  let acc: RangeCounts = { maxBits: 0, tiny: 0, flushed: 0, zeroed: 0 };
  if (scan) acc = scan(t, tinyBits);
  else for (const [bits, v] of views()) scanChunk(bits, v, tinyBits, acc);
  const { maxBits, tiny, flushed, zeroed } = acc;
  u32[0] = maxBits;
  const maxAbs = f32[0];
  let mass = maxAbs;
  if (tiny > 0 && tiny > underflowMass * maxAbs) {
    mass = 0;
    for (const [, v] of views()) for (let i = 0; i < v.length; i++) { const a = Math.abs(v[i]); if (Number.isFinite(a)) mass += a; }
  }
  const r = { maxAbs, flushedMass: mass > 0 ? tiny / mass : 0, flushed, zeroed, key };
  cache.set(rangeKey(t), r);
  return r;
}
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
/**
 * One chunk of constantRange's pass, on the bits as int32 (|x| orders like its bits without the sign): the
 * largest finite |x|, the count and mass below `tinyBits`, the nonzero values fp16 rounds to zero (≤ 2⁻²⁵).
 * Top-level and monomorphic, so it compiles to a tight loop; the rare branches nest under one test.
 */
function scanChunk(bits: Int32Array, v: Float32Array, tinyBits: number, acc: RangeCounts): void {
  let { maxBits, tiny, flushed, zeroed } = acc;
  const rare = Math.max(tinyBits, 0x33000001);
  for (let i = 0; i < bits.length; i++) {
    const a = bits[i] & 0x7fffffff;
    if (a > maxBits && a <= 0x7f800000) maxBits = a;
    if (a < rare && a !== 0) {
      if (a < tinyBits) { tiny += Math.abs(v[i]); flushed++; }
      if (a <= 0x33000000) zeroed++;
    }
  }
  acc.maxBits = maxBits; acc.tiny = tiny; acc.flushed = flushed; acc.zeroed = zeroed;
}
/** A payload's range if step 2 measured it with fp16's default limit (what step 7 needs to skip its scan). */
export const knownRange = (t: Tensor): ConstantRange | undefined => { const r = cache.get(rangeKey(t)); return r?.key.startsWith(`${2 ** -24}|`) ? r : undefined; };

/** The float tensor behind an input, when it is a constant of this graph. */
function constantOf(ctx: PassContext, name: string): Tensor | undefined {
  const g = ctx.graph;
  const init = g.initializers.get(name);
  if (init) return init.dataType === DataType.FLOAT && !g.inputs.includes(name) ? init : undefined;
  const p = g.values.get(name)?.producer;
  if (!p || p.graph !== g || opRole(p.opType) !== 'constant') return undefined;
  const a = p.attr('value');
  return a?.t && a.t.dataType === DataType.FLOAT ? Tensor.fromProto(a.t) : undefined;
}

export function guardConstants(ctx: PassContext): void {
  const { opts } = ctx;
  const f16 = ctx.low === DataType.FLOAT16;
  const maxInit = opts.maxInit ?? (f16 ? 65504 : Infinity);
  const minPositive = opts.minPositive ?? (f16 ? 2 ** -24 : 0);
  if (opts.clamp || (maxInit === Infinity && minPositive === 0)) return;
  for (const n of ctx.graph.nodes) {
    if (ctx.cls.get(n) === 'deny') continue;
    const sp = slotPolicy(n.key, ctx.opset);
    n.inputs.forEach((name, slot) => {
      if (!name || !isFloatValue(ctx.graph, name) || sp.inputs?.[slot] === 'keep' || sp.inputs?.[slot] === 'any') return;
      const t = constantOf(ctx, name);
      if (!t) return;
      const r = constantRange(t, minPositive, opts.underflowMass, opts.scanF32);
      const why = r.maxAbs > maxInit ? `constant '${t.name || name}' reaches ${r.maxAbs.toPrecision(3)} > ${maxInit}`
        : r.flushedMass > opts.underflowMass ? `constant '${t.name || name}' loses ${(100 * r.flushedMass).toFixed(1)}% of its mass below ${minPositive.toPrecision(3)}`
          : undefined;
      if (!why) return;
      const group = sp.mixed?.find((gr) => gr.includes(slot));
      if (group) keepSlots(ctx, n, group, why);
      else if (ctx.cls.get(n) !== 'deny') { ctx.cls.set(n, 'deny'); ctx.reason.set(n, 'constant beyond fp16 range'); ctx.summary.guarded.push({ node: n.label, why }); }
    });
  }
}

function keepSlots(ctx: PassContext, n: Node, slots: number[], why: string): void {
  const s = ctx.keepSlots.get(n) ?? new Set<number>();
  for (const i of slots) s.add(i);
  ctx.keepSlots.set(n, s);
  ctx.summary.guarded.push({ node: n.label, why: `${why} (inputs ${slots.join(', ')} kept fp32)` });
}
