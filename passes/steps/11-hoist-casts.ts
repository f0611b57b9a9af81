/**
 * Step 11 (over the whole model, after every graph is converted) — hoist casts of outer-scope values. A body
 * that casts a value from an enclosing scope gets the cast from the graph that holds its If/Loop/Scan node
 * instead: one Cast before that node, shared by all its bodies (both If branches) and by an existing cast of
 * the same value there, and computed once rather than on every Loop iteration. Innermost bodies first, so a
 * cast climbs as far as its value allows. A cast whose output is a body output stays (runtimes reject a body
 * output that is an outer-scope value).
 */
import type { Graph, Model } from '../../src/ir/graph.js';
import { Node } from '../../src/ir/graph.js';
import { makeAttr } from '../../src/onnx/builder.js';
import { CAST_OP, opRole } from '../policy.js';
import type { ConvertSummary } from '../context.js';
import { DataType } from '../../src/core/dtype.js';

export function hoistCasts(model: Model, summary: ConvertSummary): void {
  const taken = new Set<string>();
  for (const g of model.graph.allGraphs()) for (const v of g.values.keys()) taken.add(v);
  for (const body of [...model.graph.allGraphs()].reverse()) {
    const owner = body.owner,
      parent = body.parent;
    if (!owner || !parent) continue;
    for (const c of [...body.nodes]) {
      if (opRole(c.opType) !== 'cast' || body.outputs.includes(c.outputs[0])) continue;
      const x = c.inputs[0];
      if (
        !x ||
        body.values.get(x)?.producer ||
        body.inputs.includes(x) ||
        body.initializers.has(x) ||
        !body.parent!.lookup(x)
      )
        continue;
      const to = c.attrInt('to', 0);
      const y = castIn(parent, owner, x, to, taken, summary);
      for (const n of body.allNodes()) n.inputs = n.inputs.map((i) => (i === c.outputs[0] ? y : i));
      body.nodes = body.nodes.filter((n) => n !== c);
      body.values.delete(c.outputs[0]);
      body.valueInfo = body.valueInfo.filter((v) => v !== c.outputs[0]);
      summary.casts.removed++;
    }
  }
  model.graph.reindex();
}

/** The name of `x` cast to `to` in graph g: an existing Cast there, or a new one placed before `before`. */
function castIn(g: Graph, before: Node, x: string, to: number, taken: Set<string>, summary: ConvertSummary): string {
  const have = g.nodes.find((n) => opRole(n.opType) === 'cast' && n.inputs[0] === x && n.attrInt('to', 0) === to);
  if (have) {
    // It must run before the node whose bodies now read it (x is available there: that node reads it too).
    if (g.nodes.indexOf(have) > g.nodes.indexOf(before)) {
      g.nodes = g.nodes.filter((n) => n !== have);
      g.nodes.splice(g.nodes.indexOf(before), 0, have);
    }
    return have.outputs[0];
  }
  const suffix = to === DataType.FLOAT ? 'fp32' : to === DataType.BFLOAT16 ? 'bf16' : 'fp16';
  let name = `${x}__${suffix}`;
  for (let i = 1; taken.has(name); i++) name = `${x}__${suffix}_${i}`;
  taken.add(name);
  const cast = new Node(CAST_OP, [x], [name], g, `amp_cast/${name}`, '', [makeAttr('to', to)]);
  const src = g.lookup(x)?.type;
  g.value(name).type = { elemType: to, shape: src?.shape ? [...src.shape] : undefined };
  g.nodes.splice(g.nodes.indexOf(before), 0, cast);
  g.reindex();
  summary.casts.inserted++;
  return name;
}
