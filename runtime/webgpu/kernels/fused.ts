/**
 * Fused elementwise chains. A group of elementwise nodes (unary, binary, comparisons, logic, IsInf/IsNaN, Where,
 * Cast) runs as ONE kernel when every operand is one shape or a single element: intermediates stay in
 * registers, rounded to fp16 where their type is fp16, so the results equal the unfused kernels' bit for bit.
 * Why: a dispatch costs about 0.1 ms on a software adapter, more than a small elementwise op — the training
 * step's optimizer update is ~10 such ops per weight.
 *
 * planFusion groups nodes statically (graph structure only); fusedProgram checks shapes and types at run
 * time and declines (undefined) when they do not fit, and the executor then runs the members one by one.
 */
import type { Graph, Node } from '../../../src/ir/graph.js';
import type { GpuTensor, Program } from '../program.js';
import { numel, Params, f32bits, Q16, QB16, HALF_BITS, type ProgramContext } from '../program.js';
import { UNARY, BINARY, ERF, POW, TO_HALF } from './elementwise.js';
import { COMPARE, LOGIC, BOOL_EXPR, CLASS_F32, infTest } from './logic.js';
import { reduceGeometry, ROWS_MAIN } from './reduce.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import { broadcastShape } from '../../ops/broadcast.js';
import { DataType } from '../../../src/core/dtype.js';

const F = DataType.FLOAT,
  H = DataType.FLOAT16,
  B = DataType.BOOL,
  BF = DataType.BFLOAT16;
const isFloat = (t: number) => t === F || t === H || t === BF;

/** Ops a group may hold (Identity is a view, not a kernel). */
export const FUSABLE = new Set([
  ...Object.keys(UNARY).filter((k) => k !== 'Identity'),
  ...Object.keys(BINARY),
  ...Object.keys(COMPARE),
  ...Object.keys(LOGIC),
  'Not',
  'IsInf',
  'IsNaN',
  'Where',
  'Cast',
]);

/**
 * One member's WGSL: the body computing `t` from operands `v` (f32 or bool locals) and its result type, or
 * undefined for a form the fused kernel does not take.
 */
function member(n: Node, dts: number[]): { body: string; out: number } | undefined {
  const op = n.opType,
    [d0, d1, d2] = dts;
  if (op in UNARY) {
    if (!isFloat(d0) || dts.length !== 1 || (op === 'Gelu' && n.attrString('approximate', 'none') !== 'none'))
      return undefined;
    return {
      body: `let x = v0; let alpha = bitcast<f32>(${f32bits(n.attrFloat('alpha', 0.01))}u); t = ${UNARY[op]};`,
      out: d0,
    };
  }
  if (op in BINARY)
    return dts.length === 2 && isFloat(d0) && d0 === d1 ? { body: `t = ${BINARY[op]};`, out: d0 } : undefined;
  if (op in COMPARE)
    return dts.length === 2 && d0 === d1 && (isFloat(d0) || (op === 'Equal' && d0 === B))
      ? { body: `t = ${COMPARE[op]};`, out: B }
      : undefined;
  if (op in LOGIC) return dts.length === 2 && d0 === B && d1 === B ? { body: `t = ${LOGIC[op]};`, out: B } : undefined;
  // Values are f32 locals here (fp16 ones included), so IsInf/IsNaN and the bool cast take the f32 forms.
  if (op === 'Not') return d0 === B ? { body: `t = ${BOOL_EXPR.Not};`, out: B } : undefined;
  if (op === 'IsNaN') return isFloat(d0) ? { body: `t = ${BOOL_EXPR.IsNaN};`, out: B } : undefined;
  if (op === 'IsInf') return isFloat(d0) ? { body: `let c = class_(v0); t = ${infTest(n, 'c')};`, out: B } : undefined;
  if (op === 'Where')
    return d0 === B && isFloat(d1) && d1 === d2 ? { body: `t = ${BOOL_EXPR.Where};`, out: d1 } : undefined;
  if (op === 'Cast') {
    const to = n.attrInt('to', 0);
    if (isFloat(d0) && isFloat(to)) return { body: 't = v0;', out: to }; // the fp16 rounding follows (below)
    if (d0 === B && isFloat(to)) return { body: `t = ${BOOL_EXPR.fromBool};`, out: to };
    if (isFloat(d0) && to === B) return { body: `t = ${BOOL_EXPR.toBoolF32};`, out: B };
  }
  return undefined;
}

/**
 * A group: its nodes in order, the node index it runs at (its last member), its outer inputs (GPU tensors) and
 * its outputs; `reduce`: a ReduceSum/ReduceMean that ends the group, summing a member's value over rows
 * (its axes input, if any, is CPU data, not among `inputs`).
 */
export interface FusionGroup {
  members: Node[];
  at: number;
  inputs: string[];
  outputs: string[];
  reduce?: Node;
}
const REDUCE = new Set(['ReduceSum', 'ReduceMean']);

/** An elementwise node a group may take: one output, every operand present, no subgraph. */
const joinable = (n: Node) =>
  FUSABLE.has(n.opType) && !n.subgraphs.size && n.outputs.length === 1 && n.inputs.every(Boolean);

/**
 * Groups of fusable nodes of `g`, greedily in node order: a node joins the groups of its operands' producers —
 * all of them merged when that is allowed, else one — when every value of those groups read outside them is
 * read after this node (a group runs at its last member), the kernel's bindings stay within `maxBindings`, and
 * the declared shapes in it agree (one tensor shape plus single elements: what fusedProgram takes). Groups of
 * one node are dropped; nodes in `apart` join none.
 */
export function planFusion(g: Graph, maxBindings: number, apart: Set<Node> = new Set()): FusionGroup[] {
  const groupOf = new Map<string, FusionGroup>(); // value → the group producing it
  const pos = new Map<Node, number>(g.nodes.map((n, i) => [n, i]));
  const strip = (d: number[]) => {
    const k = d.findIndex((x) => x !== 1);
    return k < 0 ? [] : d.slice(k);
  };
  /** The declared non-scalar shapes a node touches (unknown shapes say nothing). */
  const shapesOf = (n: Node) =>
    [...n.inputs, ...n.outputs].flatMap((x) => {
      const sh = g.lookup(x)?.type?.shape ?? g.values.get(x)?.type?.shape;
      return sh && sh.every((d) => typeof d === 'number') && numel(sh as number[]) > 1
        ? [strip(sh as number[]).join('x')]
        : [];
    });
  const ioOf = (members: Node[]) => {
    const made = new Set(members.flatMap((m) => m.outputs));
    const inside = new Set(members);
    const inputs = [
      ...new Set(
        members
          .flatMap((m) => (REDUCE.has(m.opType) ? m.inputs.slice(0, 1) : m.inputs))
          .filter((x) => x && !made.has(x)),
      ),
    ];
    const outputs = [...made].filter(
      (o) => g.outputs.includes(o) || (g.values.get(o)?.consumers ?? []).some((c) => !inside.has(c) || c.graph !== g),
    );
    return { inputs, outputs };
  };
  const all: FusionGroup[] = [];
  const shape = new Map<FusionGroup, Set<string>>();
  /** `n` joined with these groups, or undefined when that is not allowed. */
  const tryJoin = (groups: FusionGroup[], n: Node, i: number): FusionGroup | undefined => {
    const members = [...groups.flatMap((grp) => grp.members), n].sort((a, b) => pos.get(a)! - pos.get(b)!);
    const inside = new Set(members);
    const late = members
      .flatMap((m) => m.outputs)
      .flatMap((o) => g.values.get(o)?.consumers ?? [])
      .filter((c) => !inside.has(c));
    if (late.some((c) => c.graph !== g || (pos.get(c) ?? Infinity) <= i)) return undefined;
    const shapes = new Set([
      ...groups.flatMap((grp) => [...shape.get(grp)!]),
      ...(REDUCE.has(n.opType) ? [] : shapesOf(n)),
    ]);
    if (shapes.size > 1) return undefined;
    const io = ioOf(members);
    if (io.inputs.length + io.outputs.length + 1 > maxBindings) return undefined;
    const merged: FusionGroup = { members, at: i, ...io, ...(REDUCE.has(n.opType) ? { reduce: n } : {}) };
    shape.set(merged, shapes);
    return merged;
  };
  g.nodes.forEach((n, i) => {
    if (REDUCE.has(n.opType)) {
      // A reduction ends the group computing its input (nothing joins after it: its output is another shape).
      const grp = groupOf.get(n.inputs[0]);
      const joined = grp && !grp.reduce ? tryJoin([grp], n, i) : undefined;
      if (joined) {
        all.splice(all.indexOf(grp!), 1, joined);
        for (const m of joined.members) if (m !== n) groupOf.set(m.outputs[0], joined);
      }
      return;
    }
    if (apart.has(n) || !joinable(n)) return;
    const cands = [
      ...new Set(n.inputs.map((x) => groupOf.get(x)).filter((grp): grp is FusionGroup => !!grp && !grp.reduce)),
    ];
    const joined =
      (cands.length > 1 ? tryJoin(cands, n, i) : undefined) ?? cands.map((c) => tryJoin([c], n, i)).find(Boolean);
    const used = joined ? cands.filter((c) => c.members.every((m) => joined.members.includes(m))) : [];
    const grp = joined ?? { members: [n], at: i, ...ioOf([n]) };
    if (!joined) shape.set(grp, new Set(shapesOf(n)));
    for (const old of used) all.splice(all.indexOf(old), 1);
    all.push(grp);
    for (const m of grp.members) groupOf.set(m.outputs[0], grp);
  });
  return all.filter((grp) => grp.members.length > 1);
}

type OperandInfo = Map<string, { dims: number[]; dtype: number; ref: string }>;

/** Each elementwise member as a WGSL block computing `t<j>` from its operands; which half types they produce. */
function memberCode(
  grp: FusionGroup,
  info: OperandInfo,
  fits: (d: number[]) => boolean,
): { code: string[]; half: boolean; bf: boolean } | undefined {
  const code: string[] = [];
  let half = false,
    bf = false;
  const elementwise = grp.members.filter((m) => m !== grp.reduce);
  for (const [j, m] of elementwise.entries()) {
    const ops = m.inputs.map((x) => info.get(x));
    if (ops.some((o) => !o)) return undefined;
    const spec = member(
      m,
      ops.map((o) => o!.dtype),
    );
    let dims: number[];
    try {
      dims = broadcastShape(
        ops.map((o) => o!.dims),
        m,
      );
    } catch {
      return undefined;
    }
    if (!spec || !fits(dims)) return undefined;
    half ||= spec.out === H;
    const T = spec.out === B ? 'bool' : 'f32';
    bf ||= spec.out === BF;
    code.push(
      `var t${j}: ${T}; { ${ops.map((o, k) => `let v${k} = ${o!.ref};`).join(' ')} var t: ${T}; ${spec.body}${spec.out === H ? ' t = q16(t);' : spec.out === BF ? ' t = qb16(t);' : ''} t${j} = t; }`,
    );
    info.set(m.outputs[0], { dims, dtype: spec.out, ref: `t${j}` });
  }
  return { code, half, bf };
}

/** A value stored as its output type: bool as 0/1, fp16 natively or rounded in f32 (emulated), bf16 rounded. */
function storeAs(dtype: number, v: string, emu: boolean): string {
  if (dtype === B) return `select(0u, 1u, ${v})`;
  if (dtype === H) return emu ? `q16(${v})` : `to_half(${v})`;
  return dtype === BF ? `qb16(${v})` : v;
}

/** q16 rounds to fp16 in f32; ctx.bindings() brings it along with emulated fp16 I/O, else it is defined here. */
function halfFunctions(emu: boolean, half: boolean, outHalf: boolean, ioTypes: number[]): string {
  const q16 = 'fn q16(x: f32) -> f32 { return unpack2x16float(half_bits(x)).x; }';
  if (emu) return (half || outHalf) && !ioTypes.includes(H) ? Q16 : '';
  return outHalf ? `${TO_HALF}\n${q16}` : half ? `${HALF_BITS}\n${q16}` : '';
}

/** What the WGSL depends on besides types and shapes: the members, their operands and their attributes. */
function groupSignature(grp: FusionGroup, info: OperandInfo): string {
  const attrs = (m: Node) =>
    `${m.opType === 'Cast' ? m.attrInt('to', 0) : ''}${m.opType === 'LeakyRelu' ? m.attrFloat('alpha', 0.01) : ''}${m.opType === 'IsInf' ? `${m.attrInt('detect_positive', 1)}${m.attrInt('detect_negative', 1)}` : ''}`;
  return grp.members
    .map((m) => `${m.opType}(${m.inputs.map((x) => info.get(x)?.ref ?? 'axes').join(',')})${attrs(m)}`)
    .join(';');
}

/**
 * Operands of a fused group share one layout — dims equal but for leading 1s — or are single elements: `fits`
 * checks a tensor's dims against the first multi-element one seen, `count` is that layout's element count.
 */
function oneLayout(): { fits: (d: number[]) => boolean; count: () => number } {
  const strip = (d: number[]) => {
    const k = d.findIndex((x) => x !== 1);
    return k < 0 ? [] : d.slice(k);
  };
  let big: number[] | undefined;
  return {
    fits: (d) => {
      if (numel(d) === 1) return true;
      big ??= strip(d);
      return strip(d).join() === big.join();
    },
    count: () => (big ? numel(big) : 1),
  };
}

/**
 * The group's kernel for these input tensors (by grp.inputs), or undefined: every member's operands must be
 * `count` elements of one layout (dims equal but for leading 1s) or single elements.
 */
export function fusedProgram(
  ctx: ProgramContext,
  grp: FusionGroup,
  ins: GpuTensor[],
  axes?: RTensor,
): { program: Program; dtypes: number[]; dims: number[][] } | undefined {
  const info: OperandInfo = new Map();
  grp.inputs.forEach((name, k) => info.set(name, { dims: ins[k].dims, dtype: ins[k].dtype, ref: `e${k}` }));
  const layout = oneLayout();
  const fits = layout.fits;
  const emu = ctx.halfEmulated;
  const loads = ins.map((t, k) => {
    if (!fits(t.dims)) return undefined;
    const at = numel(t.dims) === 1 ? '0u' : 'i';
    return t.dtype === B ? `let e${k} = in${k}[${at}] != 0u;` : `let e${k} = f32(in${k}[${at}]);`;
  });
  if (loads.some((l) => l === undefined)) return undefined;
  const members = memberCode(grp, info, fits);
  if (!members) return undefined;
  const { code, half, bf } = members;
  const count = layout.count();
  // A closing reduction: over rows of the group's one shape (trailing axes), its input computed per element.
  const red = grp.reduce,
    src = red && info.get(red.inputs[0]);
  const geo = red && src ? reduceGeometry(red, src.dims, axes) : undefined;
  if (red && (!src || !isFloat(src.dtype) || !geo || !geo.trailing || numel(src.dims) !== count)) return undefined;
  if (red) info.set(red.outputs[0], { dims: geo!.outDims, dtype: src!.dtype, ref: '' });
  const outs = grp.outputs.map((o) => info.get(o)!);
  const store = (o: { dtype: number; ref: string }, v = o.ref) => storeAs(o.dtype, v, emu);
  // Each output stored per element; a single-element output once (by element 0); the reduction's in its rows.
  const stores = grp.outputs.flatMap((name, k) =>
    red && name === red.outputs[0]
      ? []
      : [
          numel(outs[k].dims) === 1 && count > 1
            ? `if (i == 0u) { out${k}[0] = ${store(outs[k])}; }`
            : `out${k}[i] = ${store(outs[k])};`,
        ],
  );
  const ioTypes = [...ins.map((t) => t.dtype), ...outs.map((o) => o.dtype)];
  const halfFns = halfFunctions(
    emu,
    half,
    outs.some((o) => o.dtype === H),
    ioTypes,
  );
  const sig = groupSignature(grp, info);
  const shapes = [...ins, ...outs].map((t) => (numel(t.dims) === 1 ? 's' : 'n')).join('');
  const bfFns = bf && !ioTypes.includes(BF) ? QB16 : ''; // else ctx.bindings() brings it
  const header = `${ctx.bindings(
    ins.map((t) => t.dtype),
    outs.map((o) => o.dtype),
  )}\n${halfFns}\n${bfFns}\n${ERF}\n${POW}\n${CLASS_F32}`;
  const body = `${loads.join('\n  ')}\n  ${code.join('\n  ')}\n  ${stores.join('\n  ')}`;
  const base = { dtypes: outs.map((o) => o.dtype), dims: outs.map((o) => o.dims) };
  const outputs = outs.map((o) => ({ dtype: o.dtype, dims: o.dims }));
  if (red) {
    const k = grp.outputs.indexOf(red.outputs[0]);
    if (k < 0) return undefined; // a sum nobody reads
    const wgsl = () =>
      `${header}\n${ROWS_MAIN(p.locals, `${body}\n  let v = ${src!.ref};`, `out${k}[o] = ${store(outs[k], 'part[0] * scale')};`)}`;
    const p = new Params().u32('count', geo!.count).u32('R', geo!.R).f32('scale', geo!.scale);
    const key = `fused-rows:${sig}:${ioTypes.join(',')}:${shapes}`;
    return { ...base, program: { key, inputs: ins, outputs, meta: p.meta, groups: geo!.count, wgsl } };
  }
  const p = new Params().u32('count', count);
  return {
    ...base,
    program: {
      key: `fused:${sig}:${ioTypes.join(',')}:${shapes}:${count > 1 ? 'n' : '1'}`,
      inputs: ins,
      outputs,
      meta: p.meta,
      groups: ctx.groups(count),
      wgsl: () => `${header}${ctx.prologue('count', p)}\n  ${body}\n}`,
    },
  };
}
