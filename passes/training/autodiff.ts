/**
 * Reverse-mode autodiff over the IR. From a forward model whose output is logits it builds ONE training
 * model, in standard ONNX ops, so the same mixed-precision pass converts forward and backward alike:
 *
 *   inputs:  the model's inputs, `labels` (one-hot, float), every float initializer as an input (the weights:
 *            the trainer feeds fp16 copies of fp32 master weights), `grad_scale` (loss scale / batch) and
 *            `loss_coef` (−1 / batch)
 *   outputs: `loss` (mean softmax cross-entropy), then `grad/<weight>` for each weight: the gradients of
 *            the SCALED loss (loss scaling lives in the graph, as with autocast + GradScaler)
 *
 * Softmax cross-entropy is fused: loss = loss_coef·Σ labels·LogSoftmax(z), ∂(scaled loss)/∂z =
 * (Softmax(z) − labels)·grad_scale. Its nodes are named `loss/…` so the trainer keeps them fp32.
 */
import type { Graph, Model, Node } from '../../src/ir/graph.js';
import { makeAttr, type AttrValue } from '../../src/onnx/builder.js';
import { GraphWriter } from './writer.js';
import { DataType } from '../../src/core/dtype.js';
import { AmpError } from '../../src/core/errors.js';
import { gradRules, type GradContext } from './grad/index.js';
import { cloneModel } from '../../src/onnx/io.js';

/**
 * A training graph. `state`: with `bnTraining`, each BatchNormalization's running mean and variance — inputs
 * the trainer feeds and outputs it reads back after each step (the node updates them by its momentum).
 */
export interface TrainingGraph {
  model: Model;
  weights: string[];
  grads: string[];
  logits: string;
  classes: number;
  state: { input: string; output: string }[];
}

/**
 * The training graph of a forward model: loss, gradients of every float initializer (reverse-mode autodiff).
 * `shapes`: the dims of every forward value for batch 1 (the tools measure them by running the model once).
 */
export function trainingGraph(
  forward: Model,
  shapes: Map<string, number[]>,
  opts: { logits?: string; bnTraining?: boolean } = {},
): TrainingGraph {
  const model = cloneModel(forward); // work on a copy
  const g = model.graph;
  const logits = opts.logits ?? g.outputs[0];
  const shape = g.values.get(logits)?.type?.shape;
  const classes =
    shape && typeof shape[shape.length - 1] === 'number' ? (shape[shape.length - 1] as number) : undefined;
  if (!classes) throw new AmpError(`output '${logits}' must be logits with a known class dimension`);
  const { weights, weightDims } = weightsAsInputs(g);
  const w = new GraphWriter(g);
  // Values that depend on a weight need gradients.
  const needs = new Set<string>(weights);
  for (const n of g.nodes) if (n.inputs.some((i) => needs.has(i))) n.outputs.forEach((o) => needs.add(o));
  const fwdNodes: Node[] = [...g.nodes];
  const indices = maxPoolIndices(w, fwdNodes);
  const state = opts.bnTraining ? batchStatistics(w, fwdNodes, weightDims) : [];
  const dz = appendLoss(w, logits, classes);
  const grads = backward(w, fwdNodes, new Map([[logits, dz]]), {
    needs: (name) => needs.has(name),
    weightDims: (name) => weightDims.get(name),
    shapeOf: (name) => shapes.get(name),
    indicesOf: (node) => indices.get(node),
  });
  g.outputs = ['loss'];
  // Float initializers no gradient reaches (BatchNormalization running statistics) stay constants — or, with
  // bnTraining, inputs the trainer feeds (state).
  for (const name of [...weights]) {
    if (grads.has(name)) continue;
    weights.splice(weights.indexOf(name), 1);
    if (state.some((s) => s.input === name)) continue;
    g.initializers.set(name, forward.graph.initializers.get(name)!);
    g.inputs = g.inputs.filter((x) => x !== name);
  }
  const gradNames = weights.map((name) => {
    const out = `grad/${name}`;
    w.node('Identity', [grads.get(name)!], [out], `bwd/out/${name}`);
    w.output(out, weightDims.get(name));
    return out;
  });
  g.outputs.push(...state.map((s) => s.output));
  g.reindex();
  return { model, weights, grads: gradNames, logits, classes, state };
}

/** Float initializers become graph inputs (the trainer feeds the weights); their dims by name. */
function weightsAsInputs(g: Graph): { weights: string[]; weightDims: Map<string, number[]> } {
  const weights = [...g.initializers.values()].filter((t) => t.dataType === DataType.FLOAT).map((t) => t.name);
  const weightDims = new Map<string, number[]>();
  for (const name of weights) {
    const t = g.initializers.get(name)!;
    weightDims.set(name, [...t.dims]);
    g.initializers.delete(name);
    g.inputs.push(name);
    g.value(name).type = { elemType: DataType.FLOAT, shape: [...t.dims] };
  }
  return { weights, weightDims };
}

/** MaxPool gradients route through the Indices output: asked for where the model did not. */
function maxPoolIndices(w: GraphWriter, fwdNodes: Node[]): Map<Node, string> {
  const indices = new Map<Node, string>();
  for (const n of fwdNodes) {
    if (n.opType !== 'MaxPool') continue;
    if (!n.outputs[1]) {
      n.outputs[1] = w.fresh('maxpool.indices');
      w.g.value(n.outputs[1]).type = { elemType: DataType.INT64 };
    }
    indices.set(n, n.outputs[1]);
  }
  return indices;
}

/** Training-mode BatchNormalization: batch statistics in the forward pass, running statistics as state. */
function batchStatistics(
  w: GraphWriter,
  fwdNodes: Node[],
  weightDims: Map<string, number[]>,
): { input: string; output: string }[] {
  const state: { input: string; output: string }[] = [];
  for (const n of fwdNodes) {
    if (n.opType !== 'BatchNormalization') continue;
    n.setAttr(makeAttr('training_mode', 1));
    for (const k of [3, 4]) {
      const out = w.fresh(`${n.label}.running_${k === 3 ? 'mean' : 'var'}`);
      n.outputs[k - 2] = out;
      w.g.value(out).type = { elemType: DataType.FLOAT, shape: weightDims.get(n.inputs[k]) };
      state.push({ input: n.inputs[k], output: out });
    }
  }
  return state;
}

/** Fused softmax cross-entropy (its nodes `loss/…`, kept fp32 by name), and the seed gradient of the scaled loss. */
function appendLoss(w: GraphWriter, logits: string, classes: number): string {
  const g = w.g;
  w.input('labels', ['N', classes]);
  w.input('grad_scale', []);
  w.input('loss_coef', []);
  const emit1 = (op: string, inputs: string[], name: string, attrs: Record<string, AttrValue> = {}) => {
    const out = w.fresh(`grad.${op.toLowerCase()}`);
    w.node(op, inputs, [out], name, attrs);
    return out;
  };
  const ls = emit1('LogSoftmax', [logits], 'loss/logsoftmax', { axis: -1 });
  const pick = emit1('Mul', [ls, 'labels'], 'loss/pick');
  const sum = emit1('ReduceSum', [pick], 'loss/sum', { keepdims: 0 });
  w.node('Mul', [sum, 'loss_coef'], ['loss'], 'loss/mean');
  g.value('loss').type = { elemType: DataType.FLOAT, shape: [] };
  const p = emit1('Softmax', [logits], 'loss/softmax', { axis: -1 });
  const d = emit1('Sub', [p, 'labels'], 'loss/dlogits');
  return emit1('Mul', [d, 'grad_scale'], 'loss/dlogits_scaled');
}

/** Reverse-mode sweep: each forward node's gradient rule, from the last node back; gradients by value name. */
function backward(
  w: GraphWriter,
  fwdNodes: Node[],
  grads: Map<string, string>,
  facts: Pick<GradContext, 'needs' | 'weightDims' | 'shapeOf' | 'indicesOf'>,
): Map<string, string> {
  const emit = (op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, nOut = 1): string[] => {
    const outs = Array.from({ length: nOut }, () => w.fresh(`grad.${op.toLowerCase()}`));
    w.node(op, inputs, outs, `bwd/${outs[0]}`, attrs);
    return outs;
  };
  const ctx: GradContext = {
    ...facts,
    emit: (op, inputs, attrs, nOut) => emit(op, inputs, attrs ?? {}, nOut ?? 1),
    accumulate: (name, gr) => {
      const prev = grads.get(name);
      grads.set(name, prev ? emit('Add', [prev, gr])[0] : gr);
    },
    scalar: (v) => w.constant(v),
    ints: (v) => w.ints(v),
  };
  for (const n of [...fwdNodes].reverse()) {
    const dY = n.outputs.map((o) => grads.get(o));
    if (dY.every((x) => !x)) continue;
    const rule = gradRules[n.opType];
    if (!rule) throw new AmpError(`no gradient rule for ${n.opType} (node '${n.label}')`);
    rule(n, dY, ctx);
  }
  return grads;
}
