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
import type { Model, Node } from '../../src/ir/graph.js';
import { Node as IrNode } from '../../src/ir/graph.js';
import { makeAttr, type AttrValue } from '../../src/onnx/builder.js';
import { Tensor } from '../../src/ir/tensor.js';
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
  // Weights become inputs.
  const weights = [...g.initializers.values()].filter((t) => t.dataType === DataType.FLOAT).map((t) => t.name);
  const weightDims = new Map<string, number[]>();
  for (const w of weights) {
    const t = g.initializers.get(w)!;
    weightDims.set(w, [...t.dims]);
    g.initializers.delete(w);
    g.inputs.push(w);
    g.value(w).type = { elemType: DataType.FLOAT, shape: [...t.dims] };
  }
  let counter = 0;
  const fresh = (p: string) => {
    let n;
    do n = `${p}_${counter++}`;
    while (g.values.has(n));
    return n;
  };
  const emit = (op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, nOut = 1, name = ''): string[] => {
    const outs = Array.from({ length: nOut }, () => fresh(`grad.${op.toLowerCase()}`));
    const node = new IrNode(
      op,
      inputs,
      outs,
      g,
      name || `bwd/${outs[0]}`,
      '',
      Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
    );
    g.nodes.push(node);
    return outs;
  };
  const scalar = (v: number) => {
    const n = fresh('c');
    g.initializers.set(n, Tensor.fromArray(n, DataType.FLOAT, [], Float32Array.from([v])));
    g.value(n).type = { elemType: DataType.FLOAT, shape: [] };
    return n;
  };
  const ints = (v: number[]) => {
    const n = fresh('axes');
    g.initializers.set(n, Tensor.fromArray(n, DataType.INT64, [v.length], BigInt64Array.from(v.map(BigInt))));
    g.value(n).type = { elemType: DataType.INT64, shape: [v.length] };
    return n;
  };
  // Values that depend on a weight need gradients.
  const needs = new Set<string>(weights);
  for (const n of g.nodes) if (n.inputs.some((i) => needs.has(i))) n.outputs.forEach((o) => needs.add(o));
  const fwdNodes: Node[] = [...g.nodes];
  // MaxPool gradients route through the Indices output: ask for it where the model did not.
  const indices = new Map<Node, string>();
  for (const n of fwdNodes)
    if (n.opType === 'MaxPool') {
      if (!n.outputs[1]) {
        n.outputs[1] = fresh('maxpool.indices');
        g.value(n.outputs[1]).type = { elemType: DataType.INT64 };
      }
      indices.set(n, n.outputs[1]);
    }
  // Training-mode BatchNormalization: batch statistics in the forward pass, running statistics as state.
  const state: { input: string; output: string }[] = [];
  if (opts.bnTraining)
    for (const n of fwdNodes)
      if (n.opType === 'BatchNormalization') {
        n.setAttr(makeAttr('training_mode', 1));
        for (const k of [3, 4]) {
          const out = fresh(`${n.label}.running_${k === 3 ? 'mean' : 'var'}`);
          n.outputs[k - 2] = out;
          g.value(out).type = { elemType: DataType.FLOAT, shape: weightDims.get(n.inputs[k]) };
          state.push({ input: n.inputs[k], output: out });
        }
      }

  // Fused softmax cross-entropy (fp32 by name), and the seed gradient of the scaled loss.
  g.inputs.push('labels', 'grad_scale', 'loss_coef');
  g.value('labels').type = { elemType: DataType.FLOAT, shape: ['N', classes] };
  g.value('grad_scale').type = { elemType: DataType.FLOAT, shape: [] };
  g.value('loss_coef').type = { elemType: DataType.FLOAT, shape: [] };
  const [ls] = emit('LogSoftmax', [logits], { axis: -1 }, 1, 'loss/logsoftmax');
  const [pick] = emit('Mul', [ls, 'labels'], {}, 1, 'loss/pick');
  const [sum] = emit('ReduceSum', [pick], { keepdims: 0 }, 1, 'loss/sum');
  g.nodes.push(new IrNode('Mul', [sum, 'loss_coef'], ['loss'], g, 'loss/mean'));
  g.value('loss').type = { elemType: DataType.FLOAT, shape: [] };
  const [p] = emit('Softmax', [logits], { axis: -1 }, 1, 'loss/softmax');
  const [d] = emit('Sub', [p, 'labels'], {}, 1, 'loss/dlogits');
  const [dz] = emit('Mul', [d, 'grad_scale'], {}, 1, 'loss/dlogits_scaled');

  const grads = new Map<string, string>([[logits, dz]]);
  const ctx: GradContext = {
    emit: (op, inputs, attrs, nOut) => emit(op, inputs, attrs ?? {}, nOut ?? 1),
    accumulate: (name, gr) => {
      const prev = grads.get(name);
      grads.set(name, prev ? emit('Add', [prev, gr])[0] : gr);
    },
    scalar,
    ints,
    needs: (name) => needs.has(name),
    weightDims: (name) => weightDims.get(name),
    shapeOf: (name) => shapes.get(name),
    indicesOf: (node) => indices.get(node),
  };
  for (const n of [...fwdNodes].reverse()) {
    const dY = n.outputs.map((o) => grads.get(o));
    if (dY.every((x) => !x)) continue;
    const rule = gradRules[n.opType];
    if (!rule) throw new AmpError(`no gradient rule for ${n.opType} (node '${n.label}')`);
    rule(n, dY, ctx);
  }
  g.outputs = ['loss'];
  const gradNames: string[] = [];
  // Float initializers no gradient reaches (BatchNormalization running statistics) stay constants — or, with
  // bnTraining, inputs the trainer feeds (state).
  for (const w of [...weights]) {
    if (grads.has(w)) continue;
    if (state.some((s) => s.input === w)) {
      weights.splice(weights.indexOf(w), 1);
      continue;
    }
    const t = forward.graph.initializers.get(w)!;
    g.initializers.set(w, t);
    g.inputs = g.inputs.filter((x) => x !== w);
    weights.splice(weights.indexOf(w), 1);
  }
  for (const w of weights) {
    const gw = grads.get(w)!;
    const out = `grad/${w}`;
    g.nodes.push(new IrNode('Identity', [gw], [out], g, `bwd/out/${w}`));
    g.value(out).type = { elemType: DataType.FLOAT, shape: weightDims.get(w) };
    g.outputs.push(out);
    gradNames.push(out);
  }
  g.outputs.push(...state.map((s) => s.output));
  g.reindex();
  return { model, weights, grads: gradNames, logits, classes, state };
}
