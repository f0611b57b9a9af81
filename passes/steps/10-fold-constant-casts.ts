/**
 * Step 10 — fold casts of constants. A Cast whose input is a constant — an initializer of this graph or of
 * an enclosing one (If/Loop bodies read their parent's weights), or a Constant node read by nothing else —
 * is computed now: the initializer gains a converted copy (`<name>__fp16`, shared by every such Cast) or the
 * Constant's value is converted in place, and the Cast disappears. No Cast of a constant is left to run.
 * Graph outputs are never renamed: a Cast of an initializer into one stays; a Constant takes over the name.
 */
import type { PassContext } from '../context.js';
import { opRole } from '../policy.js';
import { DataType } from '../../src/core/dtype.js';
import { Tensor } from '../../src/ir/tensor.js';
import { makeAttr } from '../../src/onnx/builder.js';
import type { Graph, Node } from '../../src/ir/graph.js';
import { lowerValues } from '../lib/lower.js';
import { f16ArrayToF32, bf16ArrayToF32 } from '../../src/core/half.js';

const suffix = (t: number) => (t === DataType.FLOAT16 ? 'fp16' : t === DataType.BFLOAT16 ? 'bf16' : 'fp32');
const convertible = (from: number, to: number) =>
  from !== to &&
  [DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16].includes(from as never) &&
  [DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16].includes(to as never);

/** The tensor's values converted to `to` (fp32 → low rounds to nearest even, clamping finite overflow; low → fp32 is exact). */
function converted(t: Tensor, to: number, name: string): Tensor {
  if (t.dataType === DataType.FLOAT) return Tensor.fromArray(name, to, [...t.dims], lowerValues(t.raw(), to).bits);
  const bits = t.data() as Uint16Array;
  const f = t.dataType === DataType.FLOAT16 ? f16ArrayToF32(bits) : bf16ArrayToF32(bits);
  return to === DataType.FLOAT
    ? Tensor.fromArray(name, to, [...t.dims], f)
    : Tensor.fromArray(name, to, [...t.dims], lowerValues(new Uint8Array(f.buffer), to).bits);
}

/** The graph (this one or an enclosing one) whose initializer `name` resolves to, if any. */
function initializerOwner(g: Graph, name: string): Graph | undefined {
  for (let s: Graph | undefined = g; s; s = s.parent) {
    if (s.initializers.has(name)) return s;
    if (s.values.get(name)?.producer || s.inputs.includes(name)) return undefined; // shadowed by a nearer definition
  }
  return undefined;
}

/** Renames every read of `from` to `to` in graph g and the bodies nested in it. */
function renameReads(g: Graph, from: string, to: string): void {
  for (const n of g.allNodes()) n.inputs = n.inputs.map((x) => (x === from ? to : x));
}

export function foldConstantCasts(ctx: PassContext): void {
  const g = ctx.graph;
  for (const n of [...g.nodes]) {
    if (opRole(n.opType) !== 'cast') continue;
    const src = n.inputs[0],
      to = n.attrInt('to', 0);
    const owner = initializerOwner(g, src);
    if (owner && !g.outputs.includes(n.outputs[0])) {
      const t = owner.initializers.get(src)!;
      if (!convertible(t.dataType, to)) continue;
      let name = `${src}__${suffix(to)}`;
      const have = owner.initializers.get(name);
      if (!have || have.dataType !== to) {
        for (let i = 1; owner.lookup(name) || owner.values.has(name); i++) name = `${src}__${suffix(to)}_${i}`;
        owner.initializers.set(name, converted(t, to, name));
        owner.value(name).type = { elemType: to, shape: [...t.dims] };
        ctx.summary.initializers.duplicated++;
      }
      fold(ctx, n, name);
      continue;
    }
    const p = g.values.get(src)?.producer;
    const a = p?.attr('value');
    if (!p || p.graph !== g || opRole(p.opType) !== 'constant' || !a?.t || g.values.get(src)!.consumers.length !== 1)
      continue;
    const t = Tensor.fromProto(a.t);
    if (!convertible(t.dataType, to) || g.outputs.includes(src)) continue;
    p.setAttr(makeAttr('value', converted(t, to, t.name)));
    g.values.get(src)!.type = { ...(g.values.get(src)!.type ?? {}), elemType: to };
    if (g.outputs.includes(n.outputs[0])) {
      // The Cast writes a graph output: the Constant writes it instead, under the output's name.
      p.outputs[0] = n.outputs[0];
      g.values.get(n.outputs[0])!.type = { ...g.values.get(src)!.type! };
      dropCast(ctx, n, src);
      continue;
    }
    fold(ctx, n, src);
  }
  g.reindex();
}

/** Removes Cast n, its readers reading `value` instead. */
function fold(ctx: PassContext, n: Node, value: string): void {
  renameReads(ctx.graph, n.outputs[0], value);
  dropCast(ctx, n, n.outputs[0]);
}
/** Removes Cast n and `gone`, a value nothing reads or writes any more (its output, or the Constant's old one). */
function dropCast(ctx: PassContext, n: Node, gone: string): void {
  const g = ctx.graph;
  g.nodes = g.nodes.filter((x) => x !== n);
  g.values.delete(gone);
  g.valueInfo = g.valueInfo.filter((x) => x !== gone);
  ctx.summary.casts.removed++;
}
