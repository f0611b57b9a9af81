/** What a gradient rule sees: the forward node, the gradients of its outputs, and a way to emit IR. */
import type { Node } from '../../../src/ir/graph.js';
import type { AttrValue } from '../../../src/onnx/builder.js';

export interface GradContext {
  /** Appends a node to the training graph; returns its output names. */
  emit(op: string, inputs: string[], attrs?: Record<string, AttrValue>, nOut?: number): string[];
  /** Adds `g` to the gradient of forward value `name` (summing when several consumers contribute). */
  accumulate(name: string, g: string): void;
  /** A float scalar / int64 vector constant (initializers of the training graph). */
  scalar(v: number): string;
  ints(v: number[]): string;
  /** Is this forward value a float tensor that needs a gradient (depends on a trainable weight or input)? */
  needs(name: string): boolean;
  /** Static dims of a weight (undefined for activations). */
  weightDims(name: string): number[] | undefined;
  /** Dims of any forward value, probed by running the forward model once (batch 1). */
  shapeOf(name: string): number[] | undefined;
  /** The Indices output of a MaxPool node (added by autodiff when the model did not ask for it). */
  indicesOf(node: Node): string | undefined;
}
/** Emits the gradients of a node's inputs from the gradients of its outputs (undefined: no gradient flows). */
export type GradRule = (node: Node, dY: (string | undefined)[], ctx: GradContext) => void;
