/**
 * Step 8 — apply the decisions: retype outputs and insert casts only at boundaries.
 * - Main graph I/O: without keepIoTypes, float inputs and outputs become low precision; with it, they keep
 *   fp32 and the cast sits at the edge. Subgraph bodies keep their I/O types — except the outputs of a
 *   branch or loop node found low in its bodies (ctx.branchLow): the node's output and the body output it is
 *   become low (and a loop-carried value's input on both sides), so neither side casts.
 * - One Cast per (value, target type), shared by every consumer that needs it, placed right before the
 *   first of them. Casts are named `<value>__fp16` / `<value>__fp32` so reports can map values through them.
 * - Cast(to=FLOAT) nodes painted low are retargeted; a graph output whose producer changed type is renamed
 *   `<name>__<type>` and a Cast restores the declared name and type.
 */
import { isLowBodyOutput, type PassContext } from '../context.js';
import { requiredInputType, lowOutputs } from '../lib/required.js';
import { uniqueName } from '../lib/names.js';
import { keepIo } from '../lib/sources.js';
import { DataType, isConvertibleFloat } from '../../src/core/dtype.js';
import { Node } from '../../src/ir/graph.js';
import { makeAttr } from '../../src/onnx/builder.js';
import { CAST_OP, followsSlot, opPolicy, opRole } from '../policy.js';

const suffix = (t: number) => (t === DataType.FLOAT16 ? 'fp16' : t === DataType.BFLOAT16 ? 'bf16' : 'fp32');

export function makeCast(ctx: PassContext, input: string, to: number, output: string): Node {
  const g = ctx.graph;
  const n = new Node(CAST_OP, [input], [output], g, `amp_cast/${output}`, '', [makeAttr('to', to)]);
  const src = (g.values.get(input) ?? g.lookup(input))?.type;
  g.value(output).type = { elemType: to, shape: src?.shape ? [...src.shape] : undefined };
  ctx.prec.set(n, to === DataType.FLOAT ? 'high' : 'low');
  ctx.summary.casts.inserted++;
  return n;
}

export function insertCasts(ctx: PassContext): void {
  const g = ctx.graph;
  const typeOf = (name: string) => g.lookup(name)?.type?.elemType ?? g.values.get(name)?.type?.elemType;
  // Declared I/O types before anything changes.
  const outDecl = new Map(g.outputs.map((o) => [o, typeOf(o)]));
  if (ctx.isMain) {
    for (const i of g.inputs) {
      const v = g.values.get(i);
      if (!keepIo(ctx, i) && v?.type?.elemType === DataType.FLOAT && !g.initializers.has(i))
        v.type = { ...v.type, elemType: ctx.low };
    }
  }
  const cache = new Map<string, string>();
  const out: Node[] = [];
  for (const n of g.nodes) {
    n.inputs.forEach((name, slot) => {
      const want = requiredInputType(ctx, n, slot);
      const have = name ? typeOf(name) : undefined;
      if (want === undefined || have === undefined || want === have || !isConvertibleFloat(have)) return;
      const key = `${name}->${want}`;
      let cast = cache.get(key);
      if (!cast) {
        cast = uniqueName(ctx, `${name}__${suffix(want)}`);
        out.push(makeCast(ctx, name, want, cast));
        cache.set(key, cast);
      }
      n.inputs[slot] = cast;
    });
    if (ctx.prec.get(n) === 'low') {
      const role = opRole(n.opType);
      if (role === 'cast' && n.attrInt('to', 0) === DataType.FLOAT) {
        n.setAttr(makeAttr('to', ctx.low));
        ctx.summary.casts.retargeted++;
        const v = g.values.get(n.outputs[0]);
        if (v?.type) v.type = { ...v.type, elemType: ctx.low };
      } else if (followsSlot(n.opType, ctx.opset)) {
        const v = g.values.get(n.outputs[0]);
        if (v?.type?.elemType === DataType.FLOAT) v.type = { ...v.type, elemType: ctx.low };
      } else if (role !== 'constant') {
        for (const j of lowOutputs(ctx, n)) {
          const v = g.values.get(n.outputs[j])!;
          v.type = { ...v.type!, elemType: ctx.low };
        }
        for (const [k, val] of Object.entries(opPolicy(n.opType, n.domain, ctx.opset).lowAttrs ?? {}))
          if (!n.attr(k)) n.setAttr(makeAttr(k, val));
      }
    }
    for (const j of ctx.branchLow.get(n) ?? []) {
      const v = g.values.get(n.outputs[j]);
      if (v?.type?.elemType === DataType.FLOAT) v.type = { ...v.type, elemType: ctx.low };
    }
    out.push(n);
  }
  g.nodes = out;
  g.reindex();
  fixOutputs(ctx, outDecl);
}

/** Graph outputs must keep their names; when the type they should have differs, cast at the edge. */
function fixOutputs(ctx: PassContext, declared: Map<string, number | undefined>): void {
  const g = ctx.graph;
  for (const o of [...g.outputs]) {
    const v = g.values.get(o);
    const have = v?.type?.elemType ?? g.lookup(o)?.type?.elemType;
    const decl = declared.get(o);
    if (have === undefined || decl === undefined || !isConvertibleFloat(have)) continue;
    const k = g.outputs.indexOf(o);
    const branchLow = isLowBodyOutput(ctx, g, k);
    const want = (ctx.isMain && !keepIo(ctx, o) && decl === DataType.FLOAT) || branchLow ? ctx.low : decl;
    if (have === want) continue;
    const p = v?.producer;
    if (!p || p.graph !== g) {
      // A value passed straight through: left as is, unless the branch output must go low (outputs are positional).
      if (branchLow) {
        const cast = uniqueName(ctx, `${o}__${suffix(want!)}`);
        g.nodes.push(makeCast(ctx, o, want!, cast));
        g.outputs[k] = cast;
      }
      continue;
    }
    const renamed = uniqueName(ctx, `${o}__${suffix(have)}`);
    g.value(renamed).type = { ...v!.type!, elemType: have };
    p.outputs = p.outputs.map((x) => (x === o ? renamed : x));
    for (const c of g.nodes) if (c !== p) c.inputs = c.inputs.map((x) => (x === o ? renamed : x));
    const idx = g.nodes.indexOf(p);
    g.nodes.splice(idx + 1, 0, makeCast(ctx, renamed, want, o));
    v!.type = { ...v!.type!, elemType: want };
  }
  g.reindex();
}
