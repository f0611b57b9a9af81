/** State shared by the steps of the pass over one graph: the decision per node and the summary. */
import type { Graph, Model, Node } from '../src/ir/graph.js';
import { DataType, isConvertibleFloat } from '../src/core/dtype.js';
import type { ResolvedOptions } from './options.js';
import { opRole, type OpClass } from './policy.js';

/**
 * Why a node stays fp32: a kind the summary groups by, and the detail (the policy's words, the op, the constant).
 * In the order a reader asks: what the tables and the schema say, what the caller asked, what the graph around it forced.
 */
export const KEEP_KINDS = {
  policy: 'by the policy table',
  schema: "by the opset's type constraints",
  opset: 'because the opset has no numeric Cast',
  type: 'for non-tensor or untyped values',
  runtime: "by the target runtime's limits",
  option: 'by --deny',
  requested: 'as asked (--keep-fp32, calibration, repair)',
  constant: 'for constants beyond the low range',
  downstream: 'downstream of fp32 nodes',
  isolated: 'with no low-precision neighbours',
  casts: 'for fewer casts',
} as const;
export type KeepKind = keyof typeof KEEP_KINDS;
export interface KeepReason {
  kind: KeepKind;
  detail: string;
}
export const keep = (kind: KeepKind, detail: string): KeepReason => ({ kind, detail });

/** 'low' = the target (fp16/bf16); 'high' = fp32; 'none' = the node touches no float tensor. */
export type Precision = 'low' | 'high' | 'none';

/**
 * What the pass did: node counts by precision, casts, initializers converted, nodes kept fp32 by reason,
 * warnings.
 */
export interface ConvertSummary {
  target: 'fp16' | 'bf16';
  nodes: {
    total: number;
    low: number;
    high: number;
    none: number;
    byOp: Record<string, { low: number; high: number }>;
  };
  /** Why nodes stayed fp32, by reason (the detail of a KeepReason). */
  keptFp32: Record<string, number>;
  /** The same nodes by kind of reason (KEEP_KINDS): how many, and how many by detail. */
  keptByKind: Partial<Record<KeepKind, { total: number; details: Record<string, number> }>>;
  /** Cast nodes the pass added, removed, retargeted; `total`: Cast nodes in the converted model. */
  casts: { inserted: number; removed: number; retargeted: number; total: number };
  initializers: {
    converted: number;
    duplicated: number;
    clampedValues: number;
    clampedTensors: number;
    flushedValues: number;
    flushedTensors: number;
    worstClamp?: { name: string; maxAbs: number };
    worstFlush?: { name: string; count: number };
  };
  subgraphs: number;
  /** Nodes (or input slots) kept fp32 because a constant they read does not fit the low type. */
  guarded: { node: string; why: string }[];
  /** One summarized warning line, or none. */
  warnings: string[];
}

export function emptySummary(target: 'fp16' | 'bf16'): ConvertSummary {
  return {
    target,
    // Keyed by op type and reason, which come from the model: null-prototype maps ('__proto__' is an op type like any other).
    nodes: { total: 0, low: 0, high: 0, none: 0, byOp: Object.create(null) },
    keptFp32: Object.create(null),
    keptByKind: {},
    casts: { inserted: 0, removed: 0, retargeted: 0, total: 0 },
    initializers: {
      converted: 0,
      duplicated: 0,
      clampedValues: 0,
      clampedTensors: 0,
      flushedValues: 0,
      flushedTensors: 0,
    },
    subgraphs: 0,
    guarded: [],
    warnings: [],
  };
}

export interface PassContext {
  model: Model;
  graph: Graph;
  opts: ResolvedOptions;
  /** ONNX element type of the low precision. */
  low: number;
  opset: number;
  cls: Map<Node, OpClass>;
  /** Why a node is fp32 (first reason wins). */
  reason: Map<Node, KeepReason>;
  prec: Map<Node, Precision>;
  /** Input slots that keep fp32 on a low node (the op allows mixed types there). */
  keepSlots: Map<Node, Set<number>>;
  /** Is this graph the main graph (its inputs/outputs follow keepIoTypes) or a body (they keep their types)? */
  isMain: boolean;
  /** Outputs (by index) of branch nodes that are low precision in every body (shared by all graphs of the model). */
  branchLow: Map<Node, Set<number>>;
  summary: ConvertSummary;
}

/** Is output `name` of node `p` a branch output that goes low as a whole? */
export const isLowBranchOutput = (ctx: PassContext, p: Node, name: string): boolean =>
  !!ctx.branchLow.get(p)?.has(p.outputs.indexOf(name));
/** The node output that body output k of a branch (k) or loop (k − 1) node is, or -1. */
export const ownerOutputOf = (owner: Node, k: number): number =>
  opRole(owner.opType) === 'loop' ? k - 1 : opRole(owner.opType) === 'branch' ? k : -1;
/** Is body output k of graph g (a body) going low with its node's output? */
export const isLowBodyOutput = (ctx: PassContext, g: Graph, k: number): boolean =>
  !!g.owner && !!ctx.branchLow.get(g.owner)?.has(ownerOutputOf(g.owner, k));
/** Loop-carried values going low: input slot 2 + j of a loop node (and its body's input 2 + j) for output j. */
export const isLowCarriedSlot = (ctx: PassContext, n: Node, slot: number): boolean =>
  opRole(n.opType) === 'loop' && slot >= 2 && !!ctx.branchLow.get(n)?.has(slot - 2);

export const lowType = (target: 'fp16' | 'bf16'): number => (target === 'bf16' ? DataType.BFLOAT16 : DataType.FLOAT16);

/** Element type of a value as currently typed in the IR (looking through outer scopes). */
export function elemType(g: Graph, name: string): number | undefined {
  return name ? g.lookup(name)?.type?.elemType || g.values.get(name)?.type?.elemType || undefined : undefined;
}
export const isFloatValue = (g: Graph, name: string): boolean => {
  const t = elemType(g, name);
  return t !== undefined && isConvertibleFloat(t);
};
/** Does the node read or write any fp32/fp16/bf16 tensor? */
export function touchesFloat(g: Graph, n: Node): boolean {
  return n.inputs.some((i) => isFloatValue(g, i)) || n.outputs.some((o) => isFloatValue(g, o));
}
