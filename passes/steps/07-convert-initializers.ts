/**
 * Step 7 — convert initializers and constants in place. A float initializer read only by low-precision
 * slots is converted (values beyond ±65504 clamped to ±65504 rather than becoming Inf; nonzero values that
 * round to zero counted as flushed). One read by both low and fp32 slots keeps its fp32 original and gains
 * a converted copy (`<name>__fp16`) for the low readers: a second copy of a usually small tensor costs
 * less than a Cast on every run. Float Constant / ConstantOfShape nodes painted low get their tensor
 * converted the same way. Statistics go to the summary; one warning line is made from them at the end.
 */
import type { PassContext } from '../context.js';
import { requiredInputType } from '../lib/required.js';
import { DataType } from '../../src/core/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { opPolicy, opRole } from '../policy.js';

import { lowerValues } from '../lib/lower.js';
import { uniqueName } from '../lib/names.js';
import { makeAttr } from '../../src/onnx/builder.js';
import type { Node } from '../../src/ir/graph.js';

/**
 * The low-precision version of tensor `t` under `name` (t itself, converted in place, when the name is its
 * own). A tensor not in memory (external data, or inline data left in the model file) whose range (step 2) rules out clamping becomes a
 * derived tensor instead: converted chunk by chunk while the model is written (Tensor.derived), so a model
 * larger than memory converts in the memory of one chunk.
 */
function lowerTensor(ctx: PassContext, t: Tensor, name: string): Tensor {
  const s = ctx.summary.initializers;
  const known = ctx.opts.ranges.known(t);
  if (!t.loaded && (t.external || t.backing) && (ctx.low !== DataType.FLOAT16 || (known && known.maxAbs < 65504))) {
    s.converted++;
    // Nothing to clamp (step 2 measured the range); the values fp16 rounds to zero were counted there too.
    if (ctx.low === DataType.FLOAT16 && known!.zeroed) {
      s.flushedValues += known!.zeroed;
      s.flushedTensors++;
      if (!s.worstFlush || known!.zeroed > s.worstFlush.count) s.worstFlush = { name, count: known!.zeroed };
    }
    const low = ctx.low,
      codec = ctx.opts.halfCodec,
      scan = ctx.opts.scanF32;
    // Counted already (step 2's range): the chunks are only converted — streamed by the faster scan when there is one.
    const stream =
      low === DataType.FLOAT16 && scan
        ? (emit: (chunk: Uint8Array) => void) => {
            scan(t, 0, (b) => emit(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
          }
        : undefined;
    return Tensor.derive(
      name,
      low,
      [...t.dims],
      t,
      (chunk) => {
        const b = lowerValues(chunk, low, known, codec, false).bits;
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      },
      stream,
    );
  }
  const r = lowerValues(t.raw(), ctx.low, known, ctx.opts.halfCodec);
  s.converted++;
  if (r.clamped) {
    s.clampedValues += r.clamped;
    s.clampedTensors++;
    if (!s.worstClamp || r.maxAbs > s.worstClamp.maxAbs) s.worstClamp = { name, maxAbs: r.maxAbs };
  }
  if (r.flushed) {
    s.flushedValues += r.flushed;
    s.flushedTensors++;
    if (!s.worstFlush || r.flushed > s.worstFlush.count) s.worstFlush = { name, count: r.flushed };
  }
  const out = t.name === name ? t : Tensor.fromBytes(name, ctx.low, [...t.dims], new Uint8Array(0));
  out.setData(ctx.low, r.bits);
  out.name = name;
  return out;
}

function readers(ctx: PassContext, name: string): { node: Node; slot: number; type: number | undefined }[] {
  const g = ctx.graph;
  const out: { node: Node; slot: number; type: number | undefined }[] = [];
  for (const c of new Set(g.values.get(name)?.consumers ?? [])) {
    if (c.graph !== g) {
      out.push({ node: c, slot: -1, type: DataType.FLOAT });
      continue;
    } // read in a subgraph
    c.inputs.forEach((x, slot) => {
      if (x === name) out.push({ node: c, slot, type: requiredInputType(ctx, c, slot) });
    });
    if (!c.inputs.includes(name)) out.push({ node: c, slot: -1, type: DataType.FLOAT }); // implicit (subgraph) read
  }
  return out;
}

export function convertInitializers(ctx: PassContext): void {
  const g = ctx.graph;
  for (const [name, t] of [...g.initializers]) {
    if (t.dataType !== DataType.FLOAT || g.inputs.includes(name)) continue;
    const rs = readers(ctx, name);
    const low = rs.filter((r) => r.type === ctx.low);
    if (!low.length) continue;
    const v = g.values.get(name)!;
    if (low.length === rs.length && !g.outputs.includes(name)) {
      g.initializers.set(name, lowerTensor(ctx, t, name));
      v.type = { ...(v.type ?? { elemType: ctx.low }), elemType: ctx.low };
      continue;
    }
    // Mixed readers: a converted copy for the low ones.
    const copyName = uniqueName(ctx, `${name}__${ctx.opts.target}`);
    const copy = lowerTensor(ctx, t, copyName);
    ctx.summary.initializers.duplicated++;
    g.initializers.set(copyName, copy);
    g.value(copyName).type = { elemType: ctx.low, shape: [...t.dims] };
    for (const r of low) r.node.inputs[r.slot] = copyName;
  }
  for (const n of g.nodes) {
    if (ctx.prec.get(n) !== 'low') continue;
    // A graph output keeps the type step 8 reads as declared (it casts at the edge), as initializers do above.
    if (opRole(n.opType) === 'constant' && !g.outputs.includes(n.outputs[0])) lowerConstant(ctx, n, 'value');
  }
  g.reindex();
}

function lowerConstant(ctx: PassContext, n: Node, attr: string): void {
  const a = n.attr(attr);
  let t: Tensor | undefined;
  if (a?.t) t = Tensor.fromProto(a.t);
  else if (!a && opPolicy(n.opType, n.domain).fill !== undefined)
    t = Tensor.fromArray('', DataType.FLOAT, [1], new Float32Array([opPolicy(n.opType, n.domain).fill!]));
  else {
    const vf = n.attr('value_float') ?? n.attr('value_floats');
    if (!vf) return;
    const vals = vf.name === 'value_float' ? [vf.f ?? 0] : [...(vf.floats ?? [])];
    t = Tensor.fromArray('', DataType.FLOAT, vf.name === 'value_float' ? [] : [vals.length], Float32Array.from(vals));
    n.attributes = n.attributes.filter((x) => x !== vf);
  }
  if (t.dataType !== DataType.FLOAT) return;
  const lowered = lowerTensor(
    ctx,
    Tensor.fromArray(t.name, DataType.FLOAT, [...t.dims], (t.data() as Float32Array).slice()),
    t.name,
  );
  n.setAttr(makeAttr(attr, lowered));
  const out = ctx.graph.values.get(n.outputs[0]);
  if (out) out.type = { ...(out.type ?? { elemType: ctx.low }), elemType: ctx.low };
}
