/**
 * The mixed-precision pass: an ordered pipeline of small steps over one graph (see each file's header),
 * applied to the main graph and then to every subgraph body.
 *
 *   1 classify          policy table + overrides → allow / infer / clear / deny per node
 *   2 guard-constants   readers of constants fp16 cannot hold stay fp32 (or just that input slot group)
 *   3 paint-allow       allow → low precision, deny → fp32
 *   4 propagate-deny    infer nodes fed by deny nodes stay fp32
 *   5 paint-forward     infer/clear nodes reading a low value go low
 *   6 paint-backward    nodes feeding only low nodes go low (incl. Cast(to=FLOAT) retargeting); rest fp32
 *  6b fewest-casts      clear nodes re-decided by a minimum cut: the fewest (value, type) casts
 *   7 convert-initializers  float initializers/constants read by low slots converted (counted; clamped with --clamp)
 *   8 insert-casts      retype outputs, one shared Cast per (value, type) at each boundary, I/O policy
 *   9 cleanup           no-op casts, lossless round trips and dead casts removed
 *  10 fold-constant-casts  casts of constants computed now (a converted initializer / Constant instead)
 *  11 hoist-casts       (whole model, last) a body's casts of outer-scope values move out, before its node
 *
 * Bodies of If/Loop/Scan run the same pipeline after their enclosing graph (so outer-scope values already
 * have their final types) and keep their own input/output types — except the outputs of a branch node (If)
 * that every branch computes in low precision, and Loop outputs (carried values among them) its body computes
 * and reads in low precision: those go low on both sides of the boundary. Which ones is only known once the
 * bodies are converted, so a copy of the model is converted first (lowBranchOutputs).
 */
import { closest, fmtCount } from '../src/core/text.js';
import { AmpError } from '../src/core/errors.js';
import type { Graph, Model } from '../src/ir/graph.js';
import { inferTypes } from '../src/ir/infer.js';
import { emptySummary, keep, lowType, type ConvertSummary, type PassContext } from './context.js';
import { DataType } from '../src/core/dtype.js';
import type { Node } from '../src/ir/graph.js';
import type { ResolvedOptions } from './options.js';
import { classify } from './steps/01-classify.js';
import { guardConstants } from './steps/02-guard-constants.js';
import { paintAllow } from './steps/03-paint-allow.js';
import { propagateDeny } from './steps/04-propagate-deny.js';
import { paintForward } from './steps/05-paint-forward.js';
import { paintBackward } from './steps/06-paint-backward.js';
import { fewestCasts } from './steps/06b-fewest-casts.js';
import { convertInitializers } from './steps/07-convert-initializers.js';
import { insertCasts } from './steps/08-insert-casts.js';
import { cleanup } from './steps/09-cleanup.js';
import { foldConstantCasts } from './steps/10-fold-constant-casts.js';
import { hoistCasts } from './steps/11-hoist-casts.js';
import { upgradeOpset } from './upgrade.js';
import { bf16Limited } from './runtimes.js';
import { opRole, OP_POLICY } from './policy.js';
import { cloneModel } from '../src/onnx/io.js';

export const PIPELINE = [
  classify,
  guardConstants,
  paintAllow,
  propagateDeny,
  paintForward,
  paintBackward,
  fewestCasts,
  convertInitializers,
  insertCasts,
  cleanup,
  foldConstantCasts,
] as const;

function convertGraph(
  model: Model,
  graph: Graph,
  opts: ResolvedOptions,
  summary: ConvertSummary,
  isMain: boolean,
  branchLow: Map<Node, Set<number>>,
): void {
  const ctx: PassContext = {
    model,
    graph,
    opts,
    low: lowType(opts.target),
    opset: model.opset('') ?? 1,
    cls: new Map(),
    reason: new Map(),
    prec: new Map(),
    keepSlots: new Map(),
    isMain,
    branchLow,
    summary,
  };
  graph.reindex();
  // A loop-carried value that stays low enters the body low (the loop node's input is cast, if at all, outside).
  if (graph.owner && opRole(graph.owner.opType) === 'loop') {
    for (const j of branchLow.get(graph.owner) ?? []) {
      const v = graph.values.get(graph.inputs[2 + j]);
      if (2 + j < graph.inputs.length && v?.type?.elemType === DataType.FLOAT)
        v.type = { ...v.type, elemType: ctx.low };
    }
  }
  for (const step of PIPELINE) step(ctx);
  for (const n of graph.nodes) {
    // A Cast counts by what it produces; other nodes by their decision.
    const isCast = opRole(n.opType) === 'cast';
    const p = isCast
      ? ctx.prec.get(n) === 'none'
        ? 'none'
        : n.attrInt('to', 0) === ctx.low
          ? 'low'
          : 'high'
      : (ctx.prec.get(n) ?? 'none');
    summary.nodes.total++;
    summary.nodes[p]++;
    if (p !== 'none') {
      const e = (summary.nodes.byOp[n.opType] ??= { low: 0, high: 0 });
      e[p]++;
    }
    if (p === 'high' && !isCast) {
      const why = ctx.reason.get(n) ?? keep('policy', 'policy');
      summary.keptFp32[why.detail] = (summary.keptFp32[why.detail] ?? 0) + 1;
      const k = (summary.keptByKind[why.kind] ??= { total: 0, details: Object.create(null) });
      k.total++;
      k.details[why.detail] = (k.details[why.detail] ?? 0) + 1;
    }
  }
  for (const n of [...graph.nodes]) {
    for (const bodies of n.subgraphs.values()) {
      for (const body of bodies) {
        summary.subgraphs++;
        convertGraph(model, body, opts, summary, false, branchLow);
      }
    }
  }
  graph.reindex();
}

/** Converts a model in place; returns what was done. Deterministic: no randomness, no map-order surprises. */
export function runMixedPrecision(model: Model, opts: ResolvedOptions): ConvertSummary {
  // A graph that outputs nothing computes nothing: there is no result to convert (and runtimes disagree on it).
  if (!model.graph.outputs.length) throw new AmpError('the model has no outputs: nothing to convert', model.file);
  if (opts.opset !== undefined) upgradeOpset(model, opts.opset);
  inferTypes(model);
  const readBefore = readNames(model);
  const branchLow = lowBranchOutputs(model, opts);
  const summary = emptySummary(opts.target);
  summary.warnings.push(...unmatchedOptions(model, opts));
  convertGraph(model, model.graph, opts, summary, true, branchLow);
  hoistCasts(model, summary);
  // A dropped original whose converted copy remains was converted, not duplicated.
  const dropped = dropUnread(model, readBefore);
  summary.initializers.duplicated -= dropped;
  summary.initializers.converted += dropped;
  for (const n of model.graph.allNodes()) if (opRole(n.opType) === 'cast') summary.casts.total++;
  // A converted model is always written in topological order (a valid model), whatever order it came in.
  for (const g of model.graph.allGraphs()) g.storedOrder = undefined;
  const s = summary.initializers;
  if (s.clampedValues || s.flushedValues) {
    const parts: string[] = [];
    if (s.clampedValues)
      parts.push(
        `${fmtCount(s.clampedValues)} values beyond ±65504 clamped in ${s.clampedTensors} tensor(s) (worst '${s.worstClamp!.name}', max |x| ${s.worstClamp!.maxAbs.toPrecision(4)})`,
      );
    if (s.flushedValues)
      parts.push(
        `${fmtCount(s.flushedValues)} tiny values flushed to zero in ${s.flushedTensors} tensor(s) (most in '${s.worstFlush!.name}': ${fmtCount(s.worstFlush!.count)})`,
      );
    summary.warnings.push(`initializers: ${parts.join('; ')}`);
  }
  if (opts.target === 'bf16' && (model.opset('') ?? 0) < 13)
    summary.warnings.push(
      'opset < 13: few ops accept bfloat16, most nodes stay fp32 — upgrade it first with --opset 13 (or later)',
    );
  // Converted for no runtime in particular, a bf16 model may not load where it is deployed: say where bf16 is scarce.
  if (opts.target === 'bf16' && (opts.runtime === 'any' || opts.runtime === 'portable') && summary.nodes.low)
    summary.warnings.push(
      `bf16 kernels are few in some runtimes — ${bf16Limited().join(', ')}: give --runtime for the one this model is for`,
    );
  return summary;
}

/** Every value name some node of the model reads or some graph outputs. */
function readNames(model: Model): Set<string> {
  const read = new Set<string>();
  for (const g of model.graph.allGraphs()) {
    for (const n of g.nodes) for (const i of n.inputs) if (i) read.add(i);
    for (const o of g.outputs) read.add(o);
  }
  return read;
}

/**
 * Initializers the conversion left unread — fp32 originals whose every reader now reads a converted copy (weights
 * read only inside If/Loop bodies, whose casts were hoisted out and folded) — are dropped: kept, they would make
 * the converted model larger than the original. Initializers the model never read are left as they were.
 */
function dropUnread(model: Model, readBefore: Set<string>): number {
  const read = readNames(model);
  let copied = 0;
  for (const g of model.graph.allGraphs()) {
    for (const name of [...g.initializers.keys()]) {
      if (!readBefore.has(name) || read.has(name) || g.inputs.includes(name)) continue;
      g.initializers.delete(name);
      g.values.delete(name);
      if ([...g.initializers.keys()].some((k) => k.startsWith(`${name}__`))) copied++;
    }
  }
  return copied;
}

const branchNodes = (m: Model): Node[] =>
  [...m.graph.allNodes()].filter((n) => opRole(n.opType) === 'branch' || opRole(n.opType) === 'loop');

/**
 * The branch-node outputs that every body computes in low precision — the body's output k is already low, or
 * is the pass's Cast(to=FLOAT) of a low value — found by converting a copy. Letting them go low removes the
 * cast at the end of each body and the readers' casts back down, and loses nothing (the value was low
 * already). Repeated while new ones appear (an inner If going low lets its enclosing one go low), at most 8
 * rounds; models without a float-valued branch node skip it.
 */
function lowBranchOutputs(model: Model, opts: ResolvedOptions): Map<Node, Set<number>> {
  const nodes = branchNodes(model);
  const low = lowType(opts.target);
  const found = new Map<Node, Set<number>>();
  if (!nodes.some((n) => n.outputs.some((o) => model.graph.lookup(o)?.type?.elemType === DataType.FLOAT))) return found;
  for (let round = 0; round < 8; round++) {
    const trial = cloneModel(model);
    inferTypes(trial);
    const twins = branchNodes(trial); // same order: the copy has the same graphs and nodes
    const hints = new Map<Node, Set<number>>();
    nodes.forEach((n, i) => {
      if (found.has(n)) hints.set(twins[i], found.get(n)!);
    });
    convertGraph(trial, trial.graph, opts, emptySummary(opts.target), true, hints);
    let grew = false;
    twins.forEach((t, i) => {
      const loop = opRole(t.opType) === 'loop',
        carried = t.inputs.length - 2;
      t.outputs.forEach((_, k) => {
        if (found.get(nodes[i])?.has(k)) return;
        const bodies = [...t.subgraphs.values()].flat();
        if (!bodies.length || !bodies.every((b) => isLowOutput(b, b.outputs[loop ? 1 + k : k], low))) return;
        // A carried value goes low only if the body reads it low anyway (else its first iteration would lose precision).
        if (loop && k < carried && !bodies.every((b) => readOnlyLow(b, b.inputs[2 + k], low))) return;
        if (!found.has(nodes[i])) found.set(nodes[i], new Set());
        found.get(nodes[i])!.add(k);
        grew = true;
      });
    });
    if (!grew) break;
  }
  return found;
}

/** Is body input `name` low already (a converted model), or read only through casts to the low type? */
function readOnlyLow(body: Graph, name: string | undefined, low: number): boolean {
  if (name && body.values.get(name)?.type?.elemType === low) return true;
  const cs = name ? (body.values.get(name)?.consumers ?? []) : [];
  return (
    cs.length > 0 && cs.every((c) => c.graph === body && opRole(c.opType) === 'cast' && c.attrInt('to', 0) === low)
  );
}

/** Is body output `name` low precision, or an fp32 Cast of a low value produced in the body? */
function isLowOutput(body: Graph, name: string | undefined, low: number): boolean {
  if (!name) return false;
  const v = body.values.get(name);
  if (v?.type?.elemType === low) return true;
  const p = v?.producer;
  return (
    !!p &&
    p.graph === body &&
    opRole(p.opType) === 'cast' &&
    p.attrInt('to', 0) === DataType.FLOAT &&
    body.values.get(p.inputs[0])?.type?.elemType === low
  );
}

/**
 * Option values that match nothing — an op type in allow/deny that is neither in the policy table nor in the
 * model, a keepFp32 name no node has, a pattern no node matches, a keepIoTypes name that is no model input or
 * output — as warnings with the closest candidates
 * (a typo there would otherwise silently convert what the user meant to keep).
 */
function unmatchedOptions(model: Model, opts: ResolvedOptions): string[] {
  const nodes = [...model.graph.allNodes()];
  const ops = new Set([...Object.keys(OP_POLICY), ...nodes.map((n) => n.opType)]);
  const names = new Set(nodes.flatMap((n) => [n.name, n.label].filter(Boolean)));
  const hint = (s: string, pool: Iterable<string>) => {
    const c = closest(s, pool);
    return c.length ? `; did you mean ${c.map((x) => `'${x}'`).join(', ')}?` : '';
  };
  const out: string[] = [];
  for (const [flag, set] of [
    ['allow', opts.allow],
    ['deny', opts.deny],
  ] as const) {
    for (const op of set) if (!ops.has(op)) out.push(`${flag} '${op}' is not an op type${hint(op, ops)}`);
  }
  for (const name of opts.keepNames)
    if (!names.has(name)) out.push(`keepFp32 '${name}' names no node of the model${hint(name, names)}`);
  for (const re of opts.keepPatterns)
    if (!nodes.some((n) => re.test(n.name) || re.test(n.label)))
      out.push(`keepFp32 ${re} matches no node of the model`);
  const io = [...model.graph.inputs, ...model.graph.outputs];
  if (opts.keepIoTypes instanceof Set)
    for (const name of opts.keepIoTypes)
      if (!io.includes(name)) out.push(`keepIoTypes '${name}' is not an input or output of the model${hint(name, io)}`);
  for (const re of opts.keepIoPatterns)
    if (!io.some((n) => re.test(n))) out.push(`keepIoTypes ${re} matches no input or output of the model`);
  return out;
}

export type { ConvertSummary } from './context.js';
export { RangeCache } from './lib/ranges.js';
export { resolveOptions, type ConvertOptions, type ResolvedOptions } from './options.js';
