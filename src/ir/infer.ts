/**
 * Element-type inference over the IR. Fills `Value.type.elemType` for every value an op produces, using the
 * rule table in infer-rules.ts; If/Loop/Scan types come from their bodies (inferred first, with body inputs
 * typed from the node's inputs). Declared types are never overridden. Shapes are left as declared.
 */
import { lookupOwn, type Graph, type Model, type Node } from './graph.js';
import { DataType } from '../core/dtype.js';
import { typeRules, applySpec } from './infer-rules.js';

const elemOf = (g: Graph, name: string): number | undefined =>
  name ? g.lookup(name)?.type?.elemType || undefined : undefined;

function setType(g: Graph, name: string, elemType: number | undefined): void {
  if (!name || !elemType) return;
  const v = g.value(name);
  if (!v.type) v.type = { elemType };
  else if (!v.type.elemType) v.type.elemType = elemType;
}

/** Types the body's inputs from the enclosing node when the body does not declare them. */
function typeBodyInputs(body: Graph, types: (number | undefined)[]): void {
  body.inputs.forEach((n, i) => setType(body, n, types[i]));
}

function subgraphOutputs(node: Node, attr: string): (number | undefined)[] {
  const body = node.subgraphs.get(attr)?.[0];
  if (!body) return [];
  inferGraph(body);
  return body.outputs.map((o) => elemOf(body, o));
}

/** Output element types of one node, given its inputs' element types. */
export function inferNodeElemTypes(node: Node, inputs: (number | undefined)[]): (number | undefined)[] {
  const n = node.outputs.length;
  switch (node.opType) {
    case 'If': {
      const t = subgraphOutputs(node, 'then_branch');
      const e = subgraphOutputs(node, 'else_branch');
      return node.outputs.map((_, i) => t[i] ?? e[i]);
    }
    case 'Loop': {
      const body = node.subgraphs.get('body')?.[0];
      if (!body) return new Array(n).fill(undefined);
      const carried = inputs.slice(2);
      typeBodyInputs(body, [DataType.INT64, DataType.BOOL, ...carried]);
      const outs = subgraphOutputs(node, 'body'); // [cond, carried..., scan outputs...]
      return node.outputs.map((_, i) => outs[i + 1] ?? carried[i]);
    }
    case 'Scan': {
      const body = node.subgraphs.get('body')?.[0];
      if (!body) return new Array(n).fill(undefined);
      typeBodyInputs(body, inputs);
      return subgraphOutputs(node, 'body');
    }
  }
  const rule = lookupOwn(typeRules, node.key);
  if (!rule) return new Array(n).fill(undefined);
  return node.outputs.map((_, i) => applySpec(rule[Math.min(i, rule.length - 1)], node, inputs));
}

export function inferGraph(g: Graph): void {
  for (const node of g.nodes) {
    const ins = node.inputs.map((i) => elemOf(g, i));
    const outs = inferNodeElemTypes(node, ins);
    node.outputs.forEach((o, i) => setType(g, o, outs[i]));
    // Bodies of nodes handled by a rule (none today) and nested graphs still get their own inference.
    for (const gs of node.subgraphs.values())
      for (const sg of gs) if (!['If', 'Loop', 'Scan'].includes(node.opType)) inferGraph(sg);
  }
}

/** Fills missing element types across the whole model (main graph and all subgraphs). */
export function inferTypes(model: Model): void {
  inferGraph(model.graph);
}
