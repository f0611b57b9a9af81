import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { convertSync } from '../src/tools/convert.js';
import { encodeModel, modelFromBytes } from '../src/onnx/io.js';
import { ModelBuilder, GraphBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { fixtureModels, fixtureModelPath } from './helpers/fixtures.js';
import { runOrt } from './helpers/ort.js';
import { f16BitsToF32 } from '../src/core/half.js';
import { cli } from './helpers/cli.js';
import type { Model } from '../src/ir/graph.js';
import { cloneModel } from '../src/onnx/io.js';
import { formatSummary } from '../src/tools/summary.js';

const F = DataType.FLOAT,
  H = DataType.FLOAT16;
const typeOf = (m: Model, name: string) => m.graph.values.get(name)?.type?.elemType;
const ops = (m: Model, op: string) => m.graph.nodes.filter((n) => n.opType === op);

/** x → MatMul(W) → Exp (deny) and Relu; W also read by an fp32-only node. */
function mixedModel(opts: { big?: boolean } = {}): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', F, [2, 4]);
  const wdata = Float32Array.from({ length: 16 }, (_, i) => (i - 8) / 8);
  if (opts.big) {
    wdata[3] = 1e6;
    wdata[5] = 1e-9;
  }
  const w = b.init('W', F, [4, 4], wdata);
  const [mm] = b.node('MatMul', [x, w], {}, { name: 'mm', outputs: ['mm_out'] });
  b.node('Exp', [mm], {}, { name: 'exp1', outputs: ['e1'] });
  b.node('Log', [mm], {}, { name: 'log1', outputs: ['l1'] }); // a second fp32 reader of mm_out: one shared Cast
  b.node('Relu', [mm], {}, { name: 'relu', outputs: ['r'] });
  b.node('ReduceSum', [w], { keepdims: 0 }, { name: 'wsum', outputs: ['ws'] }); // W read in fp32 too
  for (const o of ['e1', 'l1', 'r']) b.output(o, F, [2, 4]);
  b.output('ws', F, []);
  return b.build();
}

describe('minimum cut (passes/min-cut.ts)', () => {
  it('finds the max flow and the source side of the CLRS example, and cuts deep chains without recursion', async () => {
    const { FlowNetwork } = await import('../passes/lib/min-cut.js');
    const net = new FlowNetwork(6); // s=0, v1..v4 = 1..4, t=5
    for (const [u, v, c] of [
      [0, 1, 16],
      [0, 2, 13],
      [2, 1, 4],
      [1, 3, 12],
      [3, 2, 9],
      [2, 4, 14],
      [4, 3, 7],
      [3, 5, 20],
      [4, 5, 4],
    ])
      net.edge(u, v, c);
    expect(net.maxFlow(0, 5)).toBe(23);
    expect(net.sourceSide(0)).toEqual([true, true, true, false, true, false]);
    const chain = new FlowNetwork(2);
    let prev = 0;
    for (let i = 0; i < 50_000; i++) {
      const v = chain.vertex();
      chain.edge(prev, v, i === 25_000 ? 1 : 5);
      prev = v;
    }
    chain.edge(prev, 1, 5);
    expect(chain.maxFlow(0, 1)).toBe(1);
    expect(chain.sourceSide(0).filter(Boolean)).toHaveLength(25_001); // s and the chain up to the bottleneck
  });
});

describe('the pass on small graphs', () => {
  it('puts one shared Cast per (value, type) at the boundary and keeps deny ops fp32', () => {
    const { model, summary } = convertSync(mixedModel());
    const casts = ops(model, 'Cast');
    const toMmFp32 = casts.filter((c) => c.inputs[0] === 'mm_out' && c.attrInt('to', 0) === F);
    expect(toMmFp32).toHaveLength(1); // shared by Exp and Log
    expect(ops(model, 'Exp')[0].inputs[0]).toBe(toMmFp32[0].outputs[0]);
    expect(ops(model, 'Log')[0].inputs[0]).toBe(toMmFp32[0].outputs[0]);
    expect(typeOf(model, 'mm_out')).toBe(H);
    expect(summary.nodes.byOp.Exp).toEqual({ low: 0, high: 1 });
    expect(summary.nodes.byOp.MatMul).toEqual({ low: 1, high: 0 });
    expect(summary.keptFp32['overflows fp16 above x≈11']).toBe(1);
  });
  it('says why nodes stay fp32 by kind and detail; the summary text groups by kind', () => {
    const { summary } = convertSync(mixedModel(), { keepFp32: ['/^m+$/'] });
    const byKind = summary.keptByKind;
    expect(byKind.policy?.details['overflows fp16 above x≈11']).toBe(1);
    expect(byKind.requested).toEqual({ total: 1, details: { 'kept fp32 by name': 1 } });
    // Every kept node has one kind and one detail: the two views count the same nodes.
    const total = Object.values(byKind).reduce((a, k) => a + k.total, 0);
    expect(total).toBe(Object.values(summary.keptFp32).reduce((a, n) => a + n, 0));
    expect(total).toBe(summary.nodes.high - (summary.nodes.byOp.Cast?.high ?? 0));
    const line = formatSummary(summary)
      .split('\n')
      .find((l) => l.startsWith('kept fp32:'))!;
    expect(line).toMatch(/\d+ by the policy table \(.*overflows fp16 above x≈11/);
    expect(line).toMatch(/1 as asked \(--keep-fp32, calibration, repair\) \(1 kept fp32 by name\)/);
  });

  it('gives an initializer read in fp16 and fp32 a converted copy, leaving the fp32 one intact', () => {
    const { model, summary } = convertSync(mixedModel());
    expect(summary.initializers.duplicated).toBe(1);
    expect(model.graph.initializers.get('W')!.dataType).toBe(F);
    const copy = model.graph.initializers.get('W__fp16')!;
    expect(copy.dataType).toBe(H);
    expect(ops(model, 'MatMul')[0].inputs[1]).toBe('W__fp16');
    expect(ops(model, 'ReduceSum')[0].inputs[0]).toBe('W');
  });

  it('by default keeps the reader of an out-of-range constant fp32 and names the constant', () => {
    const { model, summary } = convertSync(mixedModel({ big: true }));
    expect(ops(model, 'MatMul')[0].inputs[1]).toBe('W'); // W stays fp32 and so does its reader
    expect(summary.nodes.byOp.MatMul).toEqual({ low: 0, high: 1 });
    expect(summary.keptFp32['constant beyond fp16 range']).toBe(1);
    expect(summary.guarded).toEqual([{ node: 'mm', why: "constant 'W' reaches 1.00e+6 > 65504" }]);
    expect(summary.initializers.clampedValues).toBe(0);
    expect(model.graph.initializers.has('W__fp16')).toBe(false);
  });

  it('a constant losing a significant share of its mass to underflow keeps its reader fp32; --min-positive moves the line', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', F, [1, 4]);
    const w = b.init(
      'tiny',
      F,
      [4, 4],
      Float32Array.from({ length: 16 }, (_, i) => (i < 8 ? 1e-9 : 4e-9)),
    );
    b.node('MatMul', [x, w], {}, { name: 'mm', outputs: ['y'] });
    b.output('y', F, [1, 4]);
    const m = b.build();
    expect(convertSync(cloneModel(m)).summary.guarded[0].why).toMatch(/'tiny' loses 100.0% of its mass below 5.96e-8/);
    expect(convertSync(cloneModel(m), { minPositive: 1e-10 }).summary.guarded).toEqual([]);
    expect(convertSync(cloneModel(m), { minPositive: 2e-9, underflowMass: 0.5 }).summary.guarded).toEqual([]); // 20% of the mass below 2e-9
  });

  it('clamp: true clamps out-of-range weights and summarizes clamping and flushing in ONE warning', () => {
    const { model, summary } = convertSync(mixedModel({ big: true }), { clamp: true });
    const bits = model.graph.initializers.get('W__fp16')!.data() as Uint16Array;
    expect(f16BitsToF32(bits[3])).toBe(65504);
    expect(f16BitsToF32(bits[5])).toBe(0);
    expect(summary.initializers).toMatchObject({ clampedValues: 1, flushedValues: 1, clampedTensors: 1 });
    expect(summary.warnings).toHaveLength(1);
    expect(summary.warnings[0]).toMatch(/1 values beyond ±65504 clamped .*'W__fp16'.*1 tiny values flushed/);
  });

  it('keepIoTypes keeps fp32 model I/O (cast at the edge); by default float I/O becomes fp16 — but not what an fp32 Exp or sum writes', () => {
    const keep = convertSync(mixedModel(), { keepIoTypes: true }).model;
    expect(['x', 'e1', 'l1', 'r', 'ws'].map((n) => typeOf(keep, n))).toEqual([F, F, F, F, F]);
    const dflt = convertSync(mixedModel()).model;
    // e1 (Exp) and ws (ReduceSum) are kept fp32 for values that outgrow fp16: a cast at the edge would overflow too.
    expect(['x', 'e1', 'l1', 'r', 'ws'].map((n) => typeOf(dflt, n))).toEqual([H, F, H, H, F]);
    // The producer of an output renamed, a Cast restores the declared name.
    const rCast = ops(keep, 'Cast').find((c) => c.outputs[0] === 'r')!;
    expect(rCast.attrInt('to', 0)).toBe(F);
  });

  it('honours --allow, --deny, --keep-fp32 by name and /regex/, and a JSON config file', () => {
    expect(convertSync(mixedModel(), { allow: ['Exp'] }).summary.nodes.byOp.Exp).toEqual({ low: 1, high: 0 });
    expect(convertSync(mixedModel(), { deny: ['MatMul'] }).summary.nodes.byOp.MatMul).toEqual({ low: 0, high: 1 });
    expect(convertSync(mixedModel(), { keepFp32: ['mm'] }).summary.nodes.byOp.MatMul).toEqual({ low: 0, high: 1 });
    expect(convertSync(mixedModel(), { keepFp32: ['/^m+$/'] }).summary.keptFp32['kept fp32 by name']).toBe(1);
    const dir = mkdtempSync(join(tmpdir(), 'amp-cfg-'));
    writeFileSync(join(dir, 'amp.json'), JSON.stringify({ keepIoTypes: true, deny: ['MatMul'] }));
    const c = convertSync(mixedModel(), { config: join(dir, 'amp.json') });
    expect(c.summary.nodes.byOp.MatMul).toEqual({ low: 0, high: 1 });
    expect(typeOf(c.model, 'x')).toBe(F);
    // Explicit options win over the file.
    expect(typeOf(convertSync(mixedModel(), { config: join(dir, 'amp.json'), keepIoTypes: false }).model, 'x')).toBe(H);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ keepIOTypes: true }));
    expect(() => convertSync(mixedModel(), { config: join(dir, 'bad.json') })).toThrow(
      /unknown config key 'keepIOTypes'/,
    );
  });

  it('retargets an existing Cast(to=FLOAT) inside an fp16 region instead of adding casts', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', DataType.INT32, [2, 4]);
    const w = b.init(
      'W',
      F,
      [4, 4],
      Float32Array.from({ length: 16 }, (_, i) => i / 16),
    );
    const [xf] = b.node('Cast', [x], { to: F }, { name: 'tofloat' });
    b.node('MatMul', [xf, w], {}, { name: 'mm', outputs: ['y'] });
    b.output('y', F, [2, 4]);
    const { model, summary } = convertSync(b.build());
    expect(summary.casts.retargeted).toBe(1);
    expect(ops(model, 'Cast')).toHaveLength(1);
    expect(ops(model, 'Cast')[0].attrInt('to', 0)).toBe(H);
    const out = await runOrt(encodeModel(model), {
      x: { dtype: DataType.INT32, dims: [2, 4], data: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) },
    });
    expect(out.y.dtype).toBe(H);
  });

  it('keeps Resize scales fp32 while Resize itself runs fp16', async () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', F, [1, 1, 2, 2]);
    const w = b.init('W', F, [1, 1, 1, 1], Float32Array.from([2]));
    const [c] = b.node('Conv', [x, w], {}, { name: 'conv' });
    const scales = b.init('scales', F, [4], Float32Array.from([1, 1, 2, 2]));
    b.node('Resize', [c, '', scales], { mode: 'nearest' }, { name: 'resize', outputs: ['y'] });
    b.output('y', F, [1, 1, 4, 4]);
    const { model } = convertSync(b.build());
    expect(model.graph.initializers.get('scales')!.dataType).toBe(F);
    expect(typeOf(model, ops(model, 'Resize')[0].inputs[0])).toBe(H);
    const out = await runOrt(encodeModel(model), {
      x: { dtype: H, dims: [1, 1, 2, 2], data: Uint16Array.from([0x3c00, 0x4000, 0x4200, 0x4400]) },
    });
    expect(out.y.dims).toEqual([1, 1, 4, 4]);
  });

  it('converts If/Loop bodies consistently: branch outputs agree, carried values keep their type', () => {
    const { model, summary } = convertSync(fixtureModelPath('if_loop'));
    expect(summary.subgraphs).toBe(3);
    const iff = ops(model, 'If')[0];
    const [thenG, elseG] = [iff.subgraphs.get('then_branch')![0], iff.subgraphs.get('else_branch')![0]];
    const outType = (g: typeof thenG) => g.values.get(g.outputs[0])?.type?.elemType;
    expect(outType(thenG)).toBe(outType(elseG));
    const body = ops(model, 'Loop')[0].subgraphs.get('body')![0];
    expect(body.values.get(body.inputs[2])?.type?.elemType).toBe(body.values.get(body.outputs[1])?.type?.elemType);
    expect(
      [...body.nodes].some((n) => n.opType === 'MatMul' && body.values.get(n.outputs[0])?.type?.elemType === H),
    ).toBe(true);
  });

  it('lets an If output go low when every branch computes it low (nested too): no cast inside or outside', async () => {
    /** x → MatMul → If(c1){ Relu → MatMul | If(c2){ Tanh | Sigmoid } } → Relu → MatMul → y; e = Exp(x) passes through one branch of a second If. */
    const build = () => {
      const b = new ModelBuilder({ opset: 17 });
      const x = b.input('x', F, [4]);
      const c1 = b.input('c1', DataType.BOOL, []),
        c2 = b.input('c2', DataType.BOOL, []);
      const w = b.init(
        'w',
        F,
        [4, 4],
        Float32Array.from({ length: 16 }, (_, i) => (((i * 7) % 5) - 2) / 4),
      );
      const [hx] = b.node('MatMul', [x, w], {}, { name: 'pre' });
      const inner = (name: string, op: string, src = hx) => {
        const g = new GraphBuilder(name, b.graph);
        const [o] = g.node(op, [src], {}, { name: `${name}.${op}` });
        g.output(o, F, [4]);
        return g.graph;
      };
      const nested = new GraphBuilder('nest', b.graph);
      const [ni] = nested.node(
        'If',
        [c2],
        { then_branch: inner('t2', 'Tanh'), else_branch: inner('e2', 'Sigmoid') },
        { name: 'inner_if' },
      );
      nested.output(ni, F, [4]);
      const thenB = new GraphBuilder('t1', b.graph);
      const [r] = thenB.node('Relu', [hx], {}, { name: 't1.relu' });
      const [m] = thenB.node('MatMul', [r, w], {}, { name: 't1.mm' });
      thenB.output(m, F, [4]);
      const [o1] = b.node('If', [c1], { then_branch: thenB.graph, else_branch: nested.graph }, { name: 'outer_if' });
      const [r2] = b.node('Relu', [o1], {}, { name: 'post.relu' });
      b.node('MatMul', [r2, w], {}, { name: 'post.mm', outputs: ['y'] });
      b.output('y', F, [4]);
      // An fp32 value (Exp is kept fp32) passed through one branch: that output keeps fp32.
      const [e] = b.node('Exp', [x], {}, { name: 'exp' });
      const [o2] = b.node(
        'If',
        [c1],
        { then_branch: inner('t3', 'Relu'), else_branch: inner('e3', 'Identity', e) },
        { name: 'mixed_if' },
      );
      b.node('Identity', [o2], {}, { name: 'id', outputs: ['z'] });
      b.output('z', F, [4]);
      return b.build();
    };
    const { model } = convertSync(build());
    const all = [...model.graph.allNodes()];
    const casts = all.filter((n) => n.opType === 'Cast');
    // Only Exp's input and the mixed If need casts: its low branch casts up at its end, z goes down to fp16.
    expect(casts.map((c) => `${c.graph.name}: ${c.inputs[0]} → ${c.attrInt('to', 0)}`).sort()).toEqual([
      'main: x → 1',
      'main: z__fp32 → 10',
      't3: t3.relu_0__fp16 → 1',
    ]);
    const outer = all.find((n) => n.name === 'outer_if')!,
      innerIf = all.find((n) => n.name === 'inner_if')!,
      mixed = all.find((n) => n.name === 'mixed_if')!;
    expect(typeOf(model, outer.outputs[0])).toBe(H);
    expect(innerIf.graph.values.get(innerIf.outputs[0])?.type?.elemType).toBe(H);
    expect(typeOf(model, mixed.outputs[0])).toBe(F);
    for (const n of [outer, innerIf])
      for (const [g] of n.subgraphs.values()) expect(g.values.get(g.outputs[0])?.type?.elemType).toBe(H);
    // Valid and right: onnxruntime runs every path and agrees with the fp32 model.
    const bytes = encodeModel(model),
      ref = encodeModel(build());
    const hx = Uint16Array.from([0x3c00, 0xb800, 0x3e00, 0x3400]),
      fx = Float32Array.from([1, -0.5, 1.5, 0.25]);
    for (const [a, c] of [
      [1, 1],
      [0, 1],
      [0, 0],
    ]) {
      const bool = (v: number) => ({ dtype: DataType.BOOL, dims: [], data: Uint8Array.from([v]) });
      const got = await runOrt(bytes, { x: { dtype: H, dims: [4], data: hx }, c1: bool(a), c2: bool(c) });
      const want = await runOrt(ref, { x: { dtype: F, dims: [4], data: fx }, c1: bool(a), c2: bool(c) });
      const y = Array.from(got.y.data as Uint16Array, f16BitsToF32);
      (want.y.data as Float32Array).forEach((v, i) =>
        expect(Math.abs(y[i] - v)).toBeLessThan(1e-2 + 1e-2 * Math.abs(v)),
      );
    }
    // Idempotent: converting again changes nothing.
    expect(Buffer.compare(Buffer.from(encodeModel(convertSync(modelFromBytes(bytes)).model)), Buffer.from(bytes))).toBe(
      0,
    );
  });

  it('places casts where fewest are needed: a value cast once before its slices, not each slice (minimum cut)', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', F, [4, 6]);
    const w = b.init('w', F, [2, 3], Float32Array.from([0.5, -1, 2, 0.25, 1, -0.5]));
    const ints = (name: string, v: number[]) =>
      b.init(name, DataType.INT64, [v.length], BigInt64Array.from(v.map(BigInt)));
    const [s0, s1, s2] = [ints('s0', [0]), ints('s1', [2]), ints('s2', [4])],
      [e0, e1, e2] = [ints('e0', [2]), ints('e1', [4]), ints('e2', [6])];
    const [ax, ax1] = [ints('ax', [0]), ints('ax1', [1])];
    // x (kept fp32 at the edge) → three Slices → MatMul each (fp16): one cast of x, not three of the slices.
    for (const [i, [st, en]] of [
      [s0, e0],
      [s1, e1],
      [s2, e2],
    ].entries()) {
      const [sl] = b.node('Slice', [x, st, en, ax1], {}, { name: `slice${i}` });
      b.node('MatMul', [sl, w], {}, { name: `mm${i}`, outputs: [`y${i}`] });
      b.output(`y${i}`, F);
    }
    // A fp16 MatMul → two Slices → Exp (kept fp32): one upcast of the product, not one per slice.
    const [p] = b.node('MatMul', [x, b.init('w6', F, [6, 3], new Float32Array(18).fill(0.1))], {}, { name: 'mmx' });
    for (const [i, [st, en]] of [
      [s0, e0],
      [s1, e1],
    ].entries()) {
      const [sl] = b.node('Slice', [p, st, en, ax], {}, { name: `pslice${i}` });
      b.node('Exp', [sl], {}, { name: `exp${i}`, outputs: [`z${i}`] });
      b.output(`z${i}`, F);
    }
    const build = () => modelFromBytes(encodeModel(b.build()));
    const { model, summary } = convertSync(build(), { keepIoTypes: true });
    const casts = [...model.graph.allNodes()].filter((n) => n.opType === 'Cast');
    expect(casts.filter((c) => c.inputs[0] === 'x')).toHaveLength(1);
    expect(casts.filter((c) => c.inputs[0] === p)).toHaveLength(1);
    expect(summary.keptFp32['fewer casts in fp32']).toBe(2); // the two Slices of the product
    expect(casts).toHaveLength(2 + 3); // plus the three fp16 MatMul outputs cast back for the kept-fp32 outputs
    // Painting alone (the step turned off) casts every slice.
    const { runMixedPrecision, resolveOptions } = await import('../passes/index.js');
    const o = resolveOptions({ keepIoTypes: true });
    o.fewestCasts = false;
    expect(runMixedPrecision(build(), o).casts.total).toBeGreaterThan(casts.length);
    const feeds = {
      x: { dtype: F, dims: [4, 6], data: Float32Array.from({ length: 24 }, (_, i) => (i % 7) / 4 - 0.5) },
    };
    const [got, want] = [await runOrt(encodeModel(model), feeds), await runOrt(encodeModel(build()), feeds)];
    for (const k of Object.keys(want))
      (want[k].data as Float32Array).forEach((v, i) =>
        expect(Math.abs((got[k].data as Float32Array)[i] - v)).toBeLessThan(1e-2 + 1e-2 * Math.abs(v)),
      );
  });

  it("hoists a body's cast of an outer-scope value out of the Loop (computed once, not per iteration) and shares it between If branches", async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', F, [4]),
      c = b.input('c', DataType.BOOL, []);
    const w = b.init(
      'w',
      F,
      [4, 4],
      Float32Array.from({ length: 16 }, (_, i) => (((i * 5) % 7) - 3) / 8),
    );
    const branch = (name: string, op: string) => {
      const g = new GraphBuilder(name, b.graph);
      const [m] = g.node('MatMul', [x, w], {}, { name: `${name}.mm` });
      const [o] = g.node(op, [m], {}, { name: `${name}.${op}` });
      g.output(o, F, [4]);
      return g.graph;
    };
    const [iy] = b.node(
      'If',
      [c],
      { then_branch: branch('t', 'Relu'), else_branch: branch('e', 'Tanh') },
      { name: 'if' },
    );
    const body = new GraphBuilder('body', b.graph);
    body.input('i', DataType.INT64, []);
    body.input('cin', DataType.BOOL, []);
    body.input('acc', F, [4]);
    const [m] = body.node('MatMul', [x, w], {}, { name: 'body.mm' }); // x: outer scope, read every iteration
    const [a] = body.node('Add', [body.graph.inputs[2], m], {}, { name: 'body.add' });
    body.node('Identity', ['cin'], {}, { name: 'body.cond', outputs: ['cout'] });
    body.output('cout', DataType.BOOL, []);
    body.output(a, F, [4]);
    b.node(
      'Loop',
      [
        b.init('trip', DataType.INT64, [], BigInt64Array.from([3n])),
        b.init('t', DataType.BOOL, [], Uint8Array.from([1])),
        iy,
      ],
      { body: body.graph },
      { name: 'loop', outputs: ['y'] },
    );
    b.output('y', F, [4]);
    const build = () => modelFromBytes(encodeModel(b.build()));
    const { model } = convertSync(build(), { keepIoTypes: true });
    const all = [...model.graph.allNodes()];
    const bodyCasts = all.filter((n) => n.opType === 'Cast' && n.graph !== model.graph);
    expect(bodyCasts.filter((n) => n.inputs[0] === 'x')).toEqual([]);
    const xCasts = model.graph.nodes.filter((n) => n.opType === 'Cast' && n.inputs[0] === 'x');
    expect(xCasts).toHaveLength(1); // one, before the If, shared by both branches and the Loop body
    expect(model.graph.nodes.indexOf(xCasts[0])).toBeLessThan(model.graph.nodes.findIndex((n) => n.opType === 'If'));
    const again = convertSync(modelFromBytes(encodeModel(model)), { keepIoTypes: true });
    expect(Buffer.compare(Buffer.from(encodeModel(again.model)), Buffer.from(encodeModel(model)))).toBe(0);
    for (const cv of [0, 1]) {
      const feeds = {
        x: { dtype: F, dims: [4], data: Float32Array.from([0.5, -1, 1.5, 2]) },
        c: { dtype: DataType.BOOL, dims: [], data: Uint8Array.from([cv]) },
      };
      const [got, want] = [await runOrt(encodeModel(model), feeds), await runOrt(encodeModel(build()), feeds)];
      (want.y.data as Float32Array).forEach((v, i) =>
        expect(Math.abs((got.y.data as Float32Array)[i] - v)).toBeLessThan(1e-2 + 1e-2 * Math.abs(v)),
      );
    }
  });

  it('carries a Loop value in fp16 when the body reads and computes it in fp16: no casts per iteration, none at the Loop', async () => {
    /** x → MatMul → Loop(3){ h → MatMul → Tanh → h'; g → Exp (fp32) → g' } → MatMul → y; g stays fp32 (its reader is fp32). */
    const build = () => {
      const b = new ModelBuilder({ opset: 17 });
      const x = b.input('x', F, [4]);
      const w = b.init(
        'w',
        F,
        [4, 4],
        Float32Array.from({ length: 16 }, (_, i) => (((i * 3) % 7) - 3) / 6),
      );
      const [h0] = b.node('MatMul', [x, w], {}, { name: 'pre' });
      const body = new GraphBuilder('body', b.graph);
      body.input('i', DataType.INT64, []);
      body.input('cin', DataType.BOOL, []);
      const h = body.input('h', F, [4]),
        g = body.input('g', F, [4]);
      const [m] = body.node('MatMul', [h, w], {}, { name: 'body.mm' });
      const [t] = body.node('Tanh', [m], {}, { name: 'body.tanh' });
      const [e] = body.node('Exp', [g], {}, { name: 'body.exp' });
      const [gn] = body.node('Mul', [e, b.init('half', F, [], Float32Array.from([0.5]))], {}, { name: 'body.mul' });
      body.node('Identity', ['cin'], {}, { name: 'body.cond', outputs: ['cout'] });
      body.output('cout', DataType.BOOL, []);
      body.output(t, F, [4]);
      body.output(gn, F, [4]);
      const trip = b.init('trip', DataType.INT64, [], BigInt64Array.from([3n])),
        yes = b.init('yes', DataType.BOOL, [], Uint8Array.from([1]));
      const [hl, gl] = b.node(
        'Loop',
        [trip, yes, h0, x],
        { body: body.graph },
        { name: 'loop', outputs: ['hl', 'gl'] },
      );
      b.node('MatMul', [hl, w], {}, { name: 'post', outputs: ['y'] });
      b.output('y', F, [4]);
      b.node('Identity', [gl], {}, { name: 'gid', outputs: ['z'] });
      b.output('z', F, [4]);
      return b.build();
    };
    const { model } = convertSync(build(), { keepIoTypes: true });
    const loop = ops(model, 'Loop')[0],
      body = loop.subgraphs.get('body')![0];
    const bodyType = (name: string) => body.values.get(name)?.type?.elemType;
    // h: low on both sides and inside; g: fp32 (Exp reads it in fp32).
    expect([
      typeOf(model, loop.inputs[2]),
      bodyType(body.inputs[2]),
      bodyType(body.outputs[1]),
      typeOf(model, loop.outputs[0]),
    ]).toEqual([H, H, H, H]);
    expect([
      typeOf(model, loop.inputs[3]),
      bodyType(body.inputs[3]),
      bodyType(body.outputs[2]),
      typeOf(model, loop.outputs[1]),
    ]).toEqual([F, F, F, F]);
    expect(body.nodes.filter((n) => n.opType === 'Cast')).toEqual([]);
    // Casts only at the model's edge (x in, y and z out are kept fp32 by keepIoTypes).
    expect(
      model.graph.nodes
        .filter((n) => n.opType === 'Cast')
        .map((c) => c.inputs[0])
        .sort(),
    ).toEqual(['x', 'y__fp16']);
    const bytes = encodeModel(model);
    expect(
      Buffer.compare(
        Buffer.from(encodeModel(convertSync(modelFromBytes(bytes), { keepIoTypes: true }).model)),
        Buffer.from(bytes),
      ),
    ).toBe(0);
    const feeds = { x: { dtype: F, dims: [4], data: Float32Array.from([0.5, -1, 1.5, 0.25]) } };
    const [got, want] = [await runOrt(bytes, feeds), await runOrt(encodeModel(build()), feeds)];
    for (const k of ['y', 'z'])
      (want[k].data as Float32Array).forEach((v, i) =>
        expect(Math.abs((got[k].data as Float32Array)[i] - v)).toBeLessThan(1e-2 + 1e-2 * Math.abs(v)),
      );
  });

  it('targets bf16, and keeps ops whose opset has no bfloat16 in fp32', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', F, [1, 1, 4, 4]);
    const w = b.init('W', F, [1, 1, 3, 3], new Float32Array(9).fill(0.1));
    const [c] = b.node('Conv', [x, w], {}, { name: 'conv' }); // Conv: bfloat16 only from opset 22
    const m2 = b.init('M', F, [2, 2], new Float32Array(4).fill(1));
    const [r] = b.node(
      'Reshape',
      [c, b.init('shape', DataType.INT64, [2], BigInt64Array.from([2n, 2n]))],
      {},
      { name: 'rs' },
    );
    b.node('MatMul', [r, m2], {}, { name: 'mm', outputs: ['y'] });
    b.output('y', F, [2, 2]);
    const { model, summary } = convertSync(b.build(), { target: 'bf16', keepIoTypes: true });
    expect(summary.nodes.byOp.Conv).toEqual({ low: 0, high: 1 });
    expect(summary.nodes.byOp.MatMul).toEqual({ low: 1, high: 0 });
    expect(model.graph.initializers.get('M')!.dataType).toBe(DataType.BFLOAT16);
  });

  it('is deterministic and idempotent on every fixture (same bytes twice; converting again changes nothing)', () => {
    for (const keepIoTypes of [false, true]) {
      for (const n of fixtureModels()) {
        const a = encodeModel(convertSync(fixtureModelPath(n), { keepIoTypes }).model);
        const a2 = encodeModel(convertSync(fixtureModelPath(n), { keepIoTypes }).model);
        const again = convertSync(modelFromBytes(a), { keepIoTypes });
        expect(Buffer.compare(Buffer.from(a), Buffer.from(a2)), `${n} deterministic`).toBe(0);
        expect(Buffer.compare(Buffer.from(encodeModel(again.model)), Buffer.from(a)), `${n} idempotent`).toBe(0);
        expect(again.summary.casts.inserted).toBe(0);
      }
    }
  });
});

describe('models that already carry Cast(to=FLOAT) chains (exported classifiers)', () => {
  /** uint8 image → Cast(to=FLOAT) → Div → Conv → Cast(to=FLOAT) → Relu → GAP → Flatten → Gemm → Cast(to=FLOAT) → Softmax → Cast(to=FLOAT) → probs */
  function castChain() {
    const b = new ModelBuilder({ opset: 17 });
    let x = b.input('img', DataType.UINT8, [1, 3, 8, 8]);
    [x] = b.node('Cast', [x], { to: F }, { name: 'to_float' });
    [x] = b.node('Div', [x, b.init('s255', F, [], Float32Array.from([255]))], {}, { name: 'norm' });
    [x] = b.node(
      'Conv',
      [
        x,
        b.init(
          'w',
          F,
          [4, 3, 3, 3],
          Float32Array.from({ length: 108 }, (_, i) => Math.sin(i)),
        ),
      ],
      { kernel_shape: [3, 3] },
      { name: 'conv' },
    );
    [x] = b.node('Cast', [x], { to: F }, { name: 'upcast1' });
    [x] = b.node('Relu', [x], {}, { name: 'relu' });
    [x] = b.node('GlobalAveragePool', [x], {}, { name: 'gap' });
    [x] = b.node('Flatten', [x], {}, { name: 'flat' });
    [x] = b.node(
      'Gemm',
      [
        x,
        b.init(
          'fw',
          F,
          [5, 4],
          Float32Array.from({ length: 20 }, (_, i) => Math.cos(i)),
        ),
        b.init('fb', F, [5], new Float32Array(5)),
      ],
      { transB: 1 },
      { name: 'fc' },
    );
    [x] = b.node('Cast', [x], { to: F }, { name: 'upcast2' });
    [x] = b.node('Softmax', [x], { axis: 1 }, { name: 'sm' });
    b.node('Cast', [x], { to: F }, { name: 'upcast3', outputs: ['probs'] });
    b.output('probs', F, [1, 5]);
    return b.build();
  }
  it.each([false, true])(
    'upcasts inside the fp16 region are retargeted, and a second conversion changes nothing (keepIoTypes=%s)',
    (keepIoTypes) => {
      const first = convertSync(castChain(), { keepIoTypes });
      for (const n of ['conv', 'relu', 'gap', 'flat', 'fc', 'sm'])
        expect(typeOf(first.model, first.model.graph.nodes.find((x) => x.name === n)!.outputs[0]), n).toBe(H);
      expect(
        first.model.graph.nodes.filter((n) => n.opType === 'Cast' && n.attrInt('to', 0) === F).map((n) => n.name),
      ).toEqual(keepIoTypes ? ['upcast3'] : []);
      const bytes = encodeModel(first.model);
      const again = convertSync(modelFromBytes(bytes), { keepIoTypes });
      expect(Buffer.compare(Buffer.from(encodeModel(again.model)), Buffer.from(bytes))).toBe(0);
    },
  );
});

describe('amp-convert model.onnx (CLI)', () => {
  it('writes model.fp16.onnx beside the input, prints the summary, never touches the input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amp-cli-'));
    const src = join(dir, 'mlp.onnx');
    writeFileSync(src, readFileSync(fixtureModelPath('mlp')));
    const before = readFileSync(src);
    const r = cli([src]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/nodes: \d+ — \d+ fp16/);
    expect(r.stdout).toMatch(/size: .* → /);
    expect(existsSync(join(dir, 'mlp.fp16.onnx'))).toBe(true);
    expect(Buffer.compare(readFileSync(src), before)).toBe(0);
    // Existing output: refused without --force, one line, exit 2.
    const again = cli([src]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/--force/);
    const j = cli([src, '--force', '--json', '--keep-io-types', '--keep-fp32', 'fc2']);
    const s = JSON.parse(j.stdout);
    expect(s.output).toBe(join(dir, 'mlp.fp16.onnx'));
    expect(s.nodes.byOp.Gemm).toEqual({ low: 2, high: 1 });
    expect(s.bytesAfter).toBeLessThan(s.bytesBefore);
    expect(cli([src, '--bf16']).code).toBe(0);
    expect(existsSync(join(dir, 'mlp.bf16.onnx'))).toBe(true);
  });
});

describe('option values that match nothing are warned about, with close matches', () => {
  it('keepIoTypes as a list keeps only the named inputs/outputs; typos in allow/deny/keepFp32/keepIoTypes warn', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', F, [2, 4]),
      z = b.input('z', F, [2, 4]);
    const [s] = b.node('Add', [x, z], {}, { name: 'add' });
    b.node('Relu', [s], {}, { name: 'relu1', outputs: ['y'] });
    b.node('Sigmoid', [s], {}, { name: 'sig', outputs: ['w'] });
    b.output('y', F, [2, 4]);
    b.output('w', F, [2, 4]);
    const { model, summary } = convertSync(b.build(), { keepIoTypes: ['x', 'w'] });
    expect([typeOf(model, 'x'), typeOf(model, 'z')]).toEqual([F, H]);
    expect(model.graph.outputs.map((o) => typeOf(model, o))).toEqual([H, F]);
    expect(summary.warnings).toEqual([]);
    const typos = convertSync(mixedModel(), {
      deny: ['Rellu'],
      allow: ['Expp'],
      keepFp32: ['mmm', '/^nothing$/'],
      keepIoTypes: ['xx'],
    }).summary.warnings;
    expect(typos).toContain("deny 'Rellu' is not an op type; did you mean 'Relu', 'Celu', 'Elu'?");
    expect(typos.some((w) => /^allow 'Expp' is not an op type; did you mean 'Exp'/.test(w))).toBe(true);
    expect(typos.some((w) => /^keepFp32 'mmm' names no node of the model; did you mean 'mm'/.test(w))).toBe(true);
    expect(typos).toContain('keepFp32 /^nothing$/ matches no node of the model');
    expect(
      typos.some((w) => /^keepIoTypes 'xx' is not an input or output of the model; did you mean 'x'/.test(w)),
    ).toBe(true);
  });
});

describe('external weights convert in bounded memory', () => {
  it('fp32 external tensors are scanned and converted chunk by chunk while written, never held whole, with the same bytes as an in-memory conversion', async () => {
    const { saveModel, loadModel } = await import('../src/onnx/io.js');
    const dir = mkdtempSync(join(tmpdir(), 'amp-stream-'));
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', F, [1, 1024]);
    let h = x;
    for (let i = 0; i < 3; i++) {
      // Values away from zero, but a few that fp16 rounds to zero (counted as flushed either way).
      const w = b.init(
        `w${i}`,
        F,
        [1024, 1024],
        Float32Array.from({ length: 1024 * 1024 }, (_, k) =>
          k % 100003 === 5 ? 2 ** -26 : k % 100003 === 9 ? 2 ** -25 : ((((k + i) % 7) + 1) / 256) * (k % 2 ? 1 : -1),
        ),
      );
      [h] = b.node('MatMul', [h, w], {}, { name: `mm${i}` });
    }
    b.node('Relu', [h], {}, { outputs: ['y'], name: 'relu' });
    b.output('y', F, [1, 1024]);
    saveModel(b.build(), join(dir, 'm.onnx'), { externalData: true });
    const streamed = loadModel(join(dir, 'm.onnx'));
    const sources = [...streamed.graph.initializers.values()];
    const { model, summary } = convertSync(streamed);
    const outs = [...model.graph.initializers.values()];
    expect(outs.every((t) => t.derived && !t.loaded)).toBe(true);
    expect(sources.every((t) => !t.loaded)).toBe(true); // step 2 scanned them in chunks without keeping them
    saveModel(model, join(dir, 's.onnx'), { externalData: true });
    expect(outs.every((t) => !t.loaded) && sources.every((t) => !t.loaded)).toBe(true); // written without being held
    // The same model converted in memory writes the same bytes.
    const eager = loadModel(join(dir, 'm.onnx'));
    for (const t of eager.graph.initializers.values()) t.raw();
    const e = convertSync(eager);
    saveModel(e.model, join(dir, 'e.onnx'), { externalData: true });
    expect(summary.initializers.flushedValues).toBeGreaterThan(0);
    expect(summary.initializers).toEqual(e.summary.initializers);
    expect(readFileSync(join(dir, 's.onnx.data')).equals(readFileSync(join(dir, 'e.onnx.data')))).toBe(true);
    expect(typeOf(loadModel(join(dir, 's.onnx')), 'w0')).toBe(H);
  });
});

describe('models that are partly fp16 already', () => {
  it('an fp16 Attention (opset 23), fed fp16 or through a Cast from fp32, is left fp16 and the result runs on onnxruntime', async () => {
    const { f32ArrayToF16 } = await import('../src/core/half.js');
    for (const mixed of [false, true]) {
      const b = new ModelBuilder({ opset: 23, irVersion: 10 });
      const q = b.input('q', H, [1, 2, 4, 8]),
        k = b.input('k', H, [1, 2, 4, 8]);
      let v = b.input('v', mixed ? F : H, [1, 2, 4, 8]);
      if (mixed) [v] = b.node('Cast', [v], { to: H }, { name: 'to_half' });
      b.node('Attention', [q, k, v], {}, { outputs: ['y'], name: 'attn' });
      b.output('y', H, [1, 2, 4, 8]);
      const { model, summary } = convertSync(b.build());
      expect(summary.casts.total).toBe(0);
      expect(model.graph.outputs.map((o) => typeOf(model, o))).toEqual([H]);
      const t = (dt: number) => {
        const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
        return { dtype: dt, dims: [1, 2, 4, 8], data: dt === H ? f32ArrayToF16(x) : x };
      };
      const feeds = Object.fromEntries(model.graph.inputs.map((n) => [n, t(typeOf(model, n)!)]));
      const out = await runOrt(encodeModel(model), feeds as never);
      expect(out.y.dtype).toBe(H);
    }
  });
});

describe('inline weights stay in the model file', () => {
  it('a loaded model leaves large raw_data in its file (read or streamed from there), encodes the same bytes, and converts streaming', async () => {
    const { saveModel, loadModel } = await import('../src/onnx/io.js');
    const dir = mkdtempSync(join(tmpdir(), 'amp-backing-'));
    const b = new ModelBuilder({ opset: 17 });
    let h = b.input('x', F, [1, 512]);
    for (let i = 0; i < 3; i++)
      [h] = b.node('MatMul', [
        h,
        b.init(
          `w${i}`,
          F,
          [512, 512],
          Float32Array.from({ length: 512 * 512 }, (_, k) => (((k + i) % 5) + 1) / 64),
        ),
      ]);
    b.node('Relu', [h], {}, { outputs: ['y'] });
    b.output('y', F, [1, 512]);
    saveModel(b.build(), join(dir, 'm.onnx'));
    const m = loadModel(join(dir, 'm.onnx'));
    const ws = [...m.graph.initializers.values()];
    expect(ws.every((t) => t.backing && !t.loaded)).toBe(true);
    expect(Buffer.from(encodeModel(m)).equals(readFileSync(join(dir, 'm.onnx')))).toBe(true);
    const { model } = convertSync(m);
    expect([...model.graph.initializers.values()].every((t) => t.derived && !t.loaded)).toBe(true);
    saveModel(model, join(dir, 's.onnx'));
    expect(ws.every((t) => !t.loaded)).toBe(true);
    const eager = loadModel(join(dir, 'm.onnx'));
    for (const t of eager.graph.initializers.values()) t.raw();
    saveModel(convertSync(eager).model, join(dir, 'e.onnx'));
    expect(readFileSync(join(dir, 's.onnx')).equals(readFileSync(join(dir, 'e.onnx')))).toBe(true);
  });
});
