/**
 * `--opset N`: the model's default-domain opset raised to N before converting (bf16 needs opset 13+ for most
 * ops, and the transformer ops 23+), with ONNX's version-converter rules for the ops whose signature changed on
 * the way — data, one rule per op and the opset it applies at:
 *   attributes that became inputs: Slice 10 (starts/ends/axes/steps), TopK 10 (k), Pad 11 (pads, value),
 *   Clip 11 (min, max), Dropout 12 (ratio), Split 13 (split), Squeeze/Unsqueeze 13 (axes), ReduceSum 13 and the
 *   other reductions 18 (axes);
 *   renamed or replaced ops: Scatter → ScatterElements 11, Upsample → Resize 11 (asymmetric coordinates, nearest
 *   floors, like Upsample);
 *   changed semantics: Softmax/LogSoftmax/Hardmax 13 (before: over all axes from `axis` on, flattened; after: one
 *   axis) — kept exact with Flatten → op → Reshape unless `axis` is the last; BatchNormalization 9 drops `spatial`
 *   (only spatial=1 has a rule); Split 18 gets `num_outputs` when it splits evenly; DFT 20 takes `axis` as an input.
 * Scan-8 (batched) has no rule and is refused.
 * Ops without a rule keep their form (their signature did not change). The IR version is raised to what the opset
 * needs. Bodies of If/Loop/Scan are upgraded with their graph. test/upgrade.test.ts runs every upgraded fixture and
 * node test against its original in onnxruntime.
 */
import { Model, Node, type Graph } from '../src/ir/graph.js';
import { Tensor } from '../src/ir/tensor.js';
import { DataType } from '../src/core/dtype.js';
import { makeAttr } from '../src/onnx/builder.js';
import { AmpError } from '../src/core/errors.js';
import { toNum } from '../src/onnx/proto/proto.js';

/** The newest default-domain opset --opset may name (the one our kernels, type rules and policy cover). */
export const MAX_UPGRADE_OPSET = 24;

/** What a rule does to one node, in its graph (it may add initializers and nodes before it). */
interface Edit {
  g: Graph;
  n: Node;
  before: Node[];
  fresh: (base: string) => string;
}
type Rule = { op: string; at: number; apply: (e: Edit) => void };

const i64 = (e: Edit, base: string, vals: number[], scalar = false): string => {
  const name = e.fresh(`${e.n.name || e.n.opType}_${base}`);
  e.g.initializers.set(
    name,
    Tensor.fromArray(name, DataType.INT64, scalar ? [] : [vals.length], BigInt64Array.from(vals.map(BigInt))),
  );
  e.g.value(name).type = { elemType: DataType.INT64, shape: scalar ? [] : [vals.length] };
  return name;
};
const f32 = (e: Edit, base: string, v: number): string => {
  const name = e.fresh(`${e.n.name || e.n.opType}_${base}`);
  e.g.initializers.set(name, Tensor.fromArray(name, DataType.FLOAT, [], Float32Array.from([v])));
  e.g.value(name).type = { elemType: DataType.FLOAT, shape: [] };
  return name;
};
const dropAttr = (n: Node, name: string) => {
  n.attributes = n.attributes.filter((a) => a.name !== name);
};
/** Moves int-list attribute `attr` to input slot `slot` (padding with '' for skipped optional inputs). */
function attrToInput(e: Edit, attr: string, slot: number): void {
  const v = e.n.attrInts(attr);
  if (v === undefined) return;
  dropAttr(e.n, attr);
  while (e.n.inputs.length < slot) e.n.inputs.push('');
  e.n.inputs[slot] = i64(e, attr, v);
}
const reduceAxes = (op: string, at: number): Rule => ({ op, at, apply: (e) => attrToInput(e, 'axes', 1) });

/** Softmax-family before 13 → 13: exact unless the axis is already the last one. */
function softmaxAxis(e: Edit): void {
  const rank = e.g.lookup(e.n.inputs[0])?.type?.shape?.length;
  const axis = e.n.attrInt('axis', 1);
  if (rank !== undefined && (axis === rank - 1 || axis === -1)) {
    e.n.setAttr(makeAttr('axis', -1));
    return;
  }
  // Over the flattened trailing block: Flatten(axis) → op(axis -1) → Reshape back to the input's shape.
  const x = e.n.inputs[0],
    flat = e.fresh(`${x}_flat`),
    shape = e.fresh(`${x}_shape`),
    out = e.n.outputs[0],
    mid = e.fresh(`${out}_2d`);
  e.before.push(
    new Node('Flatten', [x], [flat], e.g, '', '', [makeAttr('axis', axis)]),
    new Node('Shape', [x], [shape], e.g),
  );
  e.n.inputs[0] = flat;
  e.n.outputs[0] = mid;
  e.n.setAttr(makeAttr('axis', -1));
  e.g.value(flat);
  e.g.value(shape);
  e.g.value(mid);
  // The Reshape goes after the node: queued on the node itself, placed by upgradeGraph.
  (e.n as Node & { after?: Node[] }).after = [new Node('Reshape', [mid, shape], [out], e.g)];
}

const RULES: Rule[] = [
  {
    op: 'Slice',
    at: 10,
    apply: (e) => {
      attrToInput(e, 'starts', 1);
      attrToInput(e, 'ends', 2);
      attrToInput(e, 'axes', 3);
    },
  },
  {
    op: 'TopK',
    at: 10,
    apply: (e) => {
      const k = e.n.attrInt('k', -1);
      if (k < 0) return;
      dropAttr(e.n, 'k');
      e.n.inputs[1] = i64(e, 'k', [k]);
    },
  },
  {
    op: 'Pad',
    at: 11,
    apply: (e) => {
      const pads = e.n.attrInts('pads'),
        value = e.n.attrFloat('value', 0);
      if (pads === undefined) return;
      dropAttr(e.n, 'pads');
      dropAttr(e.n, 'value');
      e.n.inputs[1] = i64(e, 'pads', pads);
      if (value !== 0) e.n.inputs[2] = f32(e, 'value', value);
    },
  },
  {
    op: 'Clip',
    at: 11,
    apply: (e) => {
      const lo = e.n.attr('min') ? e.n.attrFloat('min', 0) : undefined,
        hi = e.n.attr('max') ? e.n.attrFloat('max', 0) : undefined;
      dropAttr(e.n, 'min');
      dropAttr(e.n, 'max');
      e.n.inputs = [
        e.n.inputs[0],
        lo !== undefined ? f32(e, 'min', lo) : '',
        ...(hi !== undefined ? [f32(e, 'max', hi)] : []),
      ];
    },
  },
  {
    op: 'Dropout',
    at: 12,
    apply: (e) => {
      const r = e.n.attr('ratio') ? e.n.attrFloat('ratio', 0.5) : undefined;
      dropAttr(e.n, 'ratio');
      dropAttr(e.n, 'is_test');
      if (r !== undefined) e.n.inputs[1] = f32(e, 'ratio', r);
    },
  },
  { op: 'Split', at: 13, apply: (e) => attrToInput(e, 'split', 1) },
  { op: 'Squeeze', at: 13, apply: (e) => attrToInput(e, 'axes', 1) },
  { op: 'Unsqueeze', at: 13, apply: (e) => attrToInput(e, 'axes', 1) },
  reduceAxes('ReduceSum', 13),
  ...[
    'ReduceMean',
    'ReduceMax',
    'ReduceMin',
    'ReduceProd',
    'ReduceL1',
    'ReduceL2',
    'ReduceLogSum',
    'ReduceLogSumExp',
    'ReduceSumSquare',
  ].map((op) => reduceAxes(op, 18)),
  {
    op: 'Split',
    at: 18,
    apply: (e) => {
      if (!e.n.inputs[1] && !e.n.attr('num_outputs')) e.n.setAttr(makeAttr('num_outputs', e.n.outputs.length));
    },
  },
  {
    op: 'Scatter',
    at: 11,
    apply: (e) => {
      e.n.opType = 'ScatterElements';
    },
  },
  {
    op: 'Upsample',
    at: 11,
    apply: (e) => {
      const mode = e.n.attrString('mode', 'nearest');
      const scales =
        e.n.inputs[1] ||
        (e.n.attrFloats('scales')
          ? (() => {
              const s = e.n.attrFloats('scales')!,
                name = e.fresh(`${e.n.name || 'Upsample'}_scales`);
              e.g.initializers.set(name, Tensor.fromArray(name, DataType.FLOAT, [s.length], Float32Array.from(s)));
              e.g.value(name).type = { elemType: DataType.FLOAT, shape: [s.length] };
              return name;
            })()
          : '');
      e.n.opType = 'Resize';
      e.n.attributes = [
        makeAttr('mode', mode === 'bilinear' ? 'linear' : mode),
        makeAttr('coordinate_transformation_mode', 'asymmetric'),
        ...(mode === 'nearest' ? [makeAttr('nearest_mode', 'floor')] : []),
      ];
      e.n.inputs = [e.n.inputs[0], '', scales];
    },
  },
  ...['Softmax', 'LogSoftmax', 'Hardmax'].map((op): Rule => ({ op, at: 13, apply: softmaxAxis })),
  {
    op: 'DFT',
    at: 20,
    apply: (e) => {
      const axis = e.n.attrInt('axis', 1);
      dropAttr(e.n, 'axis');
      while (e.n.inputs.length < 2) e.n.inputs.push('');
      e.n.inputs[2] = i64(e, 'axis', [axis], true);
    },
  },
  {
    op: 'Scan',
    at: 9,
    apply: (e) => {
      throw new AmpError(
        `node '${e.n.label}': Scan-8 (batched, with sequence_lens) has no upgrade rule; keep the model's opset`,
      );
    },
  },
  {
    op: 'BatchNormalization',
    at: 9,
    apply: (e) => {
      if (e.n.attr('spatial') && e.n.attrInt('spatial', 1) !== 1)
        throw new AmpError(`node '${e.n.label}': BatchNormalization with spatial=0 has no form in opset 9 and later`);
      dropAttr(e.n, 'spatial');
      dropAttr(e.n, 'is_test');
      dropAttr(e.n, 'consumed_inputs');
    },
  },
];

/** The IR version an opset needs (ONNX's release table). */
function irFor(opset: number): number {
  return opset >= 21
    ? 10
    : opset >= 19
      ? 9
      : opset >= 15
        ? 8
        : opset >= 13
          ? 7
          : opset >= 12
            ? 7
            : opset >= 11
              ? 6
              : opset >= 10
                ? 5
                : 4;
}

function upgradeGraph(g: Graph, from: number, to: number, fresh: (base: string) => string): number {
  let edits = 0;
  const out: Node[] = [];
  for (const n of g.nodes) {
    for (const gs of n.subgraphs.values()) for (const sg of gs) edits += upgradeGraph(sg, from, to, fresh);
    const before: Node[] = [];
    if (!n.domain || n.domain === 'ai.onnx') {
      for (const r of RULES)
        if (r.op === n.opType && from < r.at && r.at <= to) {
          r.apply({ g, n, before, fresh });
          edits++;
        }
    }
    const after = (n as Node & { after?: Node[] }).after ?? [];
    delete (n as Node & { after?: Node[] }).after;
    out.push(...before, n, ...after);
  }
  g.nodes = out;
  g.reindex();
  return edits;
}

/**
 * Raises the default-domain opset of `model` to `to` in place (a no-op when it is there already); returns the number
 * of node edits. A target below the model's opset, or past what this version knows, is refused.
 */
export function upgradeOpset(model: Model, to: number): number {
  if (!Number.isInteger(to) || to < 1 || to > MAX_UPGRADE_OPSET)
    throw new AmpError(`--opset must be a whole number from 1 to ${MAX_UPGRADE_OPSET} (got ${to})`, model.file);
  const from = model.opset('') ?? 1;
  if (to < from)
    throw new AmpError(`--opset ${to} is below the model's opset ${from}: only upgrades are supported`, model.file);
  if (to === from) return 0;
  const names = new Set<string>();
  for (const g of model.graph.allGraphs()) {
    for (const k of g.values.keys()) names.add(k);
    for (const n of g.nodes) for (const o of n.outputs) names.add(o);
  }
  const fresh = (base: string) => {
    let s = base.replace(/[^\w./-]/g, '_'),
      i = 0;
    while (names.has(s)) s = `${base}_${++i}`;
    names.add(s);
    return s;
  };
  const edits = upgradeGraph(model.graph, from, to, fresh);
  const imports = model.proto.opsetImport ?? (model.proto.opsetImport = []);
  const own = imports.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (own) own.version = to as never;
  else imports.push({ domain: '', version: to } as never);
  if (toNum(model.proto.irVersion ?? 0) < irFor(to)) model.proto.irVersion = irFor(to) as never;
  return edits;
}
