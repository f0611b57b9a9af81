/**
 * Verified by default: each class of model a blind converter breaks is converted by default to a
 * model that onnxruntime-node runs within tolerance, and the result says what was proven.
 *   bad_bn_stats   BatchNormalization statistics beyond fp16 → mean/var slots kept fp32 (static guard)
 *   bad_deep_cnn   activations outgrow fp16 though weights fit → the overflowing layers kept fp32 (range)
 *   bad_near_zero  outputs ~1e-7 → judged by atol, not by cosine noise
 *   lrn_cnn        LRN (the executor used to refuse it) → calibrated and verified
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { convert, convertSync } from '../src/tools/convert.js';
import { encodeModel, loadModel } from '../src/onnx/io.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { toFloat32 } from '../src/ir/rtensor.js';
import { feedsFor } from '../src/tools/verify.js';
import { fixtureModelPath, fixtureInputs, agreement } from './helpers/fixtures.js';
import { runOrt } from './helpers/ort.js';
import { cli } from './helpers/cli.js';
import { fixturePath } from './helpers/nodetests.js';
import { cloneModel } from '../src/onnx/io.js';

async function ortAgreement(name: string, converted: ReturnType<typeof loadModel>) {
  const feeds = fixtureInputs(name);
  const ref = await runOrt(readFileSync(fixtureModelPath(name)), feeds);
  const got = await runOrt(encodeModel(converted), feedsFor(converted, feeds));
  return Object.keys(ref).map((k) => agreement(toFloat32(got[k]), toFloat32(ref[k])));
}

describe('convert() proves its output by default', () => {
  it('BatchNormalization statistics beyond fp16 keep their inputs fp32 instead of being clamped', async () => {
    const r = await convert(fixtureModelPath('bad_bn_stats'), { inputs: [fixtureInputs('bad_bn_stats')] });
    expect(r.verification.status).toBe('verified');
    expect(r.summary.guarded).toEqual([
      {
        node: 'stem.bn',
        why: expect.stringMatching(/constant 'stem.bn.var' reaches 1.\d+e\+8 > 65504 \(inputs 3, 4 kept fp32\)/),
      },
    ]);
    expect(r.summary.initializers.clampedValues).toBe(0);
    const bn = r.model.graph.nodes.find((n) => n.name === 'stem.bn')!;
    expect(r.model.graph.values.get(bn.outputs[0])?.type?.elemType).toBe(10); // the node itself runs fp16
    for (const a of await ortAgreement('bad_bn_stats', r.model)) {
      expect(a.cosine).toBeGreaterThan(0.9999);
      expect(a.maxScaled).toBeLessThan(0.01);
    }
    // What the old default did: clamped statistics, a wrecked output.
    const clamped = await convert(fixtureModelPath('bad_bn_stats'), { verify: false, clamp: true });
    expect(clamped.summary.initializers.clampedValues).toBeGreaterThan(0);
    const [bad] = await ortAgreement('bad_bn_stats', clamped.model);
    expect(bad.maxScaled).toBeGreaterThan(0.1); // 500× the guarded conversion's error
  });

  it('activations that outgrow fp16 keep the overflowing layers fp32 (range calibration on synthesized inputs)', async () => {
    const r = await convert(fixtureModelPath('bad_deep_cnn'));
    expect(r.verification.status).toBe('verified');
    expect(r.verification.inputs).toEqual({ source: 'synthesized', sets: 2, seed: 0 });
    expect(Object.keys(r.verification.calibrated)).toEqual(expect.arrayContaining(['conv7']));
    expect(r.summary.keptFp32['activation range']).toBeGreaterThan(0);
    for (const a of await ortAgreement('bad_deep_cnn', r.model)) expect(a.cosine).toBeGreaterThan(0.9999);
    // Without the range step the converted model overflows on the fp16 executor (a GPU would too).
    const blind = await convert(fixtureModelPath('bad_deep_cnn'), { verify: false });
    const out = new CpuExecutor(blind.model).runSync(feedsFor(blind.model, fixtureInputs('bad_deep_cnn'))).features;
    expect(toFloat32(out).some((v) => !Number.isFinite(v))).toBe(true);
  });

  it('near-zero outputs are judged by atol: verified, where a cosine/scaled-only check fails', async () => {
    const r = await convert(fixtureModelPath('bad_near_zero'), { inputs: [fixtureInputs('bad_near_zero')] });
    expect(r.verification.status).toBe('verified');
    expect(r.verification.repaired).toEqual([]);
    const [o] = r.verification.outputs;
    expect(o.maxAbs).toBeLessThan(1e-6);
    expect(o.scaled).toBeGreaterThan(0.01); // what `rel=0.01` alone would have failed
    const old = await convert(fixtureModelPath('bad_near_zero'), {
      inputs: [fixtureInputs('bad_near_zero')],
      tolerance: { rel: 0.01, cos: 0.999 },
      maxEvals: 2,
    });
    expect(old.verification.outputs[0].pass && old.verification.repaired.length === 0).toBe(false);
  });

  it('LRN models are calibrated and verified; LRN runs fp16 where calibration proves its sum of squares fits', async () => {
    const r = await convert(fixtureModelPath('lrn_cnn'));
    expect(r.verification.status).toBe('verified');
    expect(r.summary.nodes.byOp.LRN).toEqual({ low: 1, high: 0 });
    expect(r.summary.casts.total).toBe(0);
    for (const a of await ortAgreement('lrn_cnn', r.model)) expect(a.cosine).toBeGreaterThan(0.9999);
    // Without evidence (the static path) the policy keeps it fp32.
    expect(convertSync(fixtureModelPath('lrn_cnn')).summary.nodes.byOp.LRN).toEqual({ low: 0, high: 1 });
  });

  it('range-only denials (Pow, ReduceMean of a decomposed LayerNorm) lift where calibration saw their values fit', async () => {
    const r = await convert(fixtureModelPath('hello_deepa'), { inputs: [fixtureInputs('hello_deepa')] });
    expect(r.verification.status).toBe('verified');
    expect(r.summary.nodes.byOp.Pow.high).toBe(0);
    expect(r.summary.nodes.byOp.ReduceMean.high).toBe(0);
    expect(r.summary.casts.total).toBe(0);
    expect(convertSync(fixtureModelPath('hello_deepa')).summary.casts.total).toBeGreaterThan(0);
    for (const a of await ortAgreement('hello_deepa', r.model)) expect(a.cosine).toBeGreaterThan(0.9999);
  });

  it('… and only there: values beyond 512, squares that outgrow it, reductions deeper than 4096 stay fp32', async () => {
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    // x → MatMul (so a low region exists) → Exp / ReduceL2 (over 4) / ReduceMean (over 5000 when wide)
    const build = (width: number) => {
      const b = new ModelBuilder({ opset: 13 });
      const x = b.input('x', 1, [2, width]);
      const [e] = b.node('Exp', [x], {}, { name: 'exp' });
      const [l2] = b.node(
        'ReduceL2',
        [b.node('Reshape', [x, b.init('s', 7, [3], BigInt64Array.from([2n, BigInt(width / 4), 4n]))])[0]],
        { axes: [2], keepdims: 0 },
        { name: 'l2' },
      );
      const [mean] = b.node('ReduceMean', [e], { axes: [1], keepdims: 1 }, { name: 'mean' });
      b.node(
        'Add',
        [b.node('ReduceSum', [l2], { keepdims: 1 }, { name: 'sum' })[0], mean],
        {},
        { name: 'add', outputs: ['y'] },
      );
      b.output('y', 1, [1, 1]);
      return b.build();
    };
    const feeds = (width: number, v: number) => ({
      x: { dtype: 1, dims: [2, width], data: Float32Array.from({ length: 2 * width }, (_, i) => (i % 2 ? v : -v)) },
    });
    const prec = (r: Awaited<ReturnType<typeof convert>>) =>
      Object.fromEntries(
        ['exp', 'l2', 'mean'].map((k) => [
          k,
          r.model.graph.nodes.some((n) => n.name === k && r.model.graph.values.get(n.outputs[0])?.type?.elemType === 10)
            ? 'low'
            : 'fp32',
        ]),
      );
    // Small values, short rows: everything proven.
    expect(prec(await convert(build(8), { inputs: [feeds(8, 2)] }))).toEqual({ exp: 'low', l2: 'low', mean: 'low' });
    // |x| = 8: exp(8) ≈ 2981 fits the 8192 headroom (nothing kept fp32 for its range) but not the 512 a lift asks
    // for; 8² · 4 = 256 does.
    expect(prec(await convert(build(8), { inputs: [feeds(8, 8)] }))).toEqual({ exp: 'fp32', l2: 'low', mean: 'fp32' });
    // |x| = 60: exp(60) beyond 8192 (calibration keeps it fp32); the L2 norm itself is 120, but 60² · 4 = 14 400 is not.
    expect(prec(await convert(build(8), { inputs: [feeds(8, 60)] }))).toEqual({
      exp: 'fp32',
      l2: 'fp32',
      mean: 'fp32',
    });
    // Rows of 8000: ReduceMean reduces 8000 > 4096 elements.
    expect(prec(await convert(build(8000), { inputs: [feeds(8000, 1)] })).mean).toBe('fp32');
    // From opset 18 the axes are an input: read from the constant, not taken as a reduction of unknown (0) depth.
    const build18 = (width: number) => {
      const b = new ModelBuilder({ opset: 18 });
      const [mean] = b.node(
        'ReduceMean',
        [b.input('x', 1, [2, width]), b.init('axes', 7, [1], BigInt64Array.from([1n]))],
        { keepdims: 1 },
        { name: 'mean' },
      );
      b.node('Relu', [mean], {}, { outputs: ['y'] });
      b.output('y', 1, [2, 1]);
      return b.build();
    };
    expect(prec(await convert(build18(8), { inputs: [feeds(8, 1)] })).mean).toBe('low');
    expect(prec(await convert(build18(8000), { inputs: [feeds(8000, 1)] })).mean).toBe('fp32');
  });

  it('a model its synthesized inputs cannot run gets the static rules and a note, never an exception', async () => {
    const r = await convert(fixtureModelPath('silero_vad_v5'));
    expect(r.verification.status).toBe('unverified');
    expect(r.verification.note).toMatch(
      /not verified: the model could not run on synthesized inputs .*--shape for the symbolic dims of input/,
    );
    expect(r.summary.nodes.low).toBeGreaterThan(0);
    const given = await convert(fixtureModelPath('silero_vad_v5'), { inputs: [fixtureInputs('silero_vad_v5')] });
    expect(given.verification.status).toBe('verified');
  });
});

describe('runtime profiles', () => {
  it("--runtime ort-cpu keeps Scatter* with a reduction fp32, which onnxruntime's CPU provider cannot run in fp16", async () => {
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    const { convertSync } = await import('../src/tools/convert.js');
    const b = new ModelBuilder({ opset: 18 });
    const x = b.input('x', 1, [4, 3]),
      u = b.input('u', 1, [2, 3]);
    const [m] = b.node(
      'MatMul',
      [x, b.init('w', 1, [3, 3], Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]))],
      {},
      { name: 'mm' },
    );
    b.node(
      'ScatterND',
      [m, b.init('i', 7, [2, 1], BigInt64Array.from([1n, 3n])), u],
      { reduction: 'add' },
      { name: 'scatter', outputs: ['y'] },
    );
    b.output('y', 1, [4, 3]);
    const model = b.build();
    const feeds = {
      x: { dtype: 1, dims: [4, 3], data: new Float32Array(12).fill(1) },
      u: { dtype: 1, dims: [2, 3], data: new Float32Array(6).fill(2) },
    };
    const any = convertSync(cloneModel(model), { runtime: 'any' }).model;
    await expect(runOrt(encodeModel(any), feedsFor(any, feeds))).rejects.toThrow(
      /MLFloat16 data type is not supported with ScatterND/,
    );
    // The default profile, portable, carries every runtime's limits: this one too.
    expect(convertSync(cloneModel(model)).summary.keptFp32['no low-precision ScatterND in portable']).toBe(1);
    const { model: ort, summary } = convertSync(cloneModel(model), { runtime: 'ort-cpu' });
    expect(summary.keptFp32['no low-precision ScatterND in ort-cpu']).toBe(1);
    expect(summary.nodes.byOp.MatMul.low).toBe(1);
    const y = (await runOrt(encodeModel(ort), feedsFor(ort, feeds))).y;
    expect(Array.from(toFloat32(y))).toEqual([1, 1, 1, 3, 3, 3, 1, 1, 1, 3, 3, 3]);
    expect(() => convertSync(cloneModel(model), { runtime: 'tpu' as never })).toThrow(
      /runtime must be one of any, ort-cpu, ort-cuda, ort-web-webgpu, amp-webgpu/,
    );
  });
  it('--runtime ort-cuda keeps fp32 what the CUDA provider has no fp16 kernel for, by opset (Clip before 12)', async () => {
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    const { convertSync } = await import('../src/tools/convert.js');
    const build = (opset: number) => {
      const b = new ModelBuilder({ opset });
      const x = b.input('x', 1, [4, 3]);
      const [m] = b.node(
        'MatMul',
        [x, b.init('w', 1, [3, 3], Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]))],
        {},
        { name: 'mm' },
      );
      const clipArgs =
        opset >= 11
          ? [m, b.init('lo', 1, [], Float32Array.from([0])), b.init('hi', 1, [], Float32Array.from([2]))]
          : [m];
      const [c] = b.node('Clip', clipArgs, opset >= 11 ? {} : { min: 0, max: 2 }, { name: 'clip' });
      b.node(
        'MatMul',
        [c, b.init('w2', 1, [3, 3], Float32Array.from([0, 1, 0, 1, 0, 0, 0, 0, 1]))],
        {},
        { name: 'mm2', outputs: ['y'] },
      );
      b.output('y', 1, [4, 3]);
      return b.build();
    };
    const old = convertSync(build(11), { runtime: 'ort-cuda' }).summary;
    expect(old.keptFp32['no low-precision Clip in ort-cuda']).toBe(1);
    expect(old.nodes.byOp.MatMul.low).toBe(2);
    const recent = convertSync(build(14), { runtime: 'ort-cuda' });
    expect(recent.summary.keptFp32['no low-precision Clip in ort-cuda'] ?? 0).toBe(0);
    expect(recent.summary.nodes.byOp.Clip.low).toBe(1);
    // Still a valid model that computes the same (onnxruntime's CPU provider runs it).
    const feeds = { x: { dtype: 1, dims: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 1) } };
    const conv = convertSync(build(11), { runtime: 'ort-cuda' }).model;
    const [got, want] = [
      await runOrt(encodeModel(conv), feedsFor(conv, feeds)),
      await runOrt(encodeModel(build(11)), feeds),
    ];
    expect(Array.from(toFloat32(got.y))).toEqual(Array.from(toFloat32(want.y)));
  });
});

describe('CLI: verified conversion', () => {
  it('--json states the inputs, every output check, what was kept fp32 and why, and the cast count; exit 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amp-verify-'));
    const out = join(dir, 'deep.onnx');
    const r = cli([fixtureModelPath('bad_deep_cnn'), '-o', out, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.verification.status).toBe('verified');
    expect(j.verification.inputs.source).toBe('synthesized');
    expect(j.verification.outputs[0]).toMatchObject({ name: 'features', pass: true });
    expect(j.verification.calibrated.conv7).toMatch(/\|output\| reaches .* > 8192/);
    expect(j.keptFp32['activation range']).toBeGreaterThan(0);
    expect(typeof j.casts.total).toBe('number');
    expect(existsSync(out)).toBe(true);
  });
  it('verification failure: exit 1 and no output, unless --force-unverified; --no-verify skips it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amp-verify-'));
    // A tolerance names the fields it changes: scale and cos keep their defaults unless given.
    const strict = ['--tolerance', 'atol=1e-9,rtol=0,scale=0', '--max-evals', '2'];
    const f = cli([fixtureModelPath('mlp'), '-o', join(dir, 'a.onnx'), ...strict]);
    expect(f.code).toBe(1);
    expect(f.stdout).toMatch(/^NOT VERIFIED/m);
    // Exit 1 only when the budget ran out — and it says so.
    expect(f.stdout).toMatch(/--max-evals budget \(2\) ran out/);
    expect(f.stdout).toMatch(/no output written: verification failed/);
    expect(existsSync(join(dir, 'a.onnx'))).toBe(false);
    const forced = cli([fixtureModelPath('mlp'), '-o', join(dir, 'b.onnx'), ...strict, '--force-unverified']);
    expect(forced.code).toBe(1);
    expect(existsSync(join(dir, 'b.onnx'))).toBe(true);
    const nv = cli([fixtureModelPath('mlp'), '-o', join(dir, 'c.onnx'), '--no-verify']);
    expect(nv.code).toBe(0);
    expect(nv.stdout).toMatch(/verification: skipped/);
  });
  it('several input sets from test_data_set_* directories; per-output tolerance', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amp-verify-'));
    for (const k of [0, 1])
      cpSync(fixturePath('inputs', 'mlp'), join(dir, 'sets', `test_data_set_${k}`), { recursive: true });
    const r = cli([fixtureModelPath('mlp'), '-o', join(dir, 'm.onnx'), '--inputs', join(dir, 'sets'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).verification.inputs).toEqual({ source: 'given', sets: 2 });
    const bad = cli([fixtureModelPath('mlp'), '-o', join(dir, 'm2.onnx'), '--inputs', fixturePath('inputs')]);
    expect(bad.code).toBe(2); // a directory of neither sets nor input_N.pb: one line naming it
    expect(bad.stderr).toMatch(/inputs: no input_N.pb files in the directory/);
    const t = cli([
      fixtureModelPath('mlp'),
      '-o',
      join(dir, 'm3.onnx'),
      '--tolerance-output',
      'logits:atol=1e-9,rtol=0',
      '--max-evals',
      '2',
      '--json',
    ]);
    expect(JSON.parse(t.stdout).verification.outputs[0].tolerance).toEqual({
      atol: 1e-9,
      rtol: 0,
      scale: 0.02,
      cos: 0.999,
    });
  });
});

describe('NumPy inputs (.npy, .npz) — written by numpy itself', () => {
  it('reads np.save, np.savez and np.savez_compressed files as input sets', async () => {
    const { spawnSync } = await import('node:child_process');
    const { readInputSets } = await import('../src/tools/inputs.js');
    const dir = mkdtempSync(join(tmpdir(), 'amp-npy-'));
    const x = fixtureInputs('mlp').x;
    const vals = Array.from(x.data as Float32Array);
    const py = `import numpy as np, json, sys
x = np.array(json.loads(sys.argv[2]), dtype=np.float32).reshape(${x.dims.join(',')})
d = sys.argv[1]
np.save(d + '/x.npy', x)
np.savez(d + '/stored.npz', x=x)
np.savez_compressed(d + '/packed.npz', x=x)
import os; os.makedirs(d + '/sets'); np.savez(d + '/sets/a.npz', x=x); np.savez_compressed(d + '/sets/b.npz', x=x * 2)
np.save(d + '/ids.npy', np.arange(6, dtype=np.int64).reshape(2, 3))`;
    const r = spawnSync('/usr/bin/python3', ['-c', py, dir, JSON.stringify(vals)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const m = loadModel(fixtureModelPath('mlp'));
    for (const f of ['x.npy', 'stored.npz', 'packed.npz']) {
      const [set] = readInputSets(m, join(dir, f));
      expect(set.x.dims).toEqual(x.dims);
      expect(Array.from(set.x.data as Float32Array)).toEqual(vals);
    }
    const sets = readInputSets(m, join(dir, 'sets'));
    expect(sets.map((s) => (s.x.data as Float32Array)[1] / (x.data as Float32Array)[1])).toEqual([1, 2]);
    const { readNpy } = await import('../src/tools/npy.js');
    expect(readNpy(join(dir, 'ids.npy'))).toEqual({
      dtype: 7,
      dims: [2, 3],
      data: BigInt64Array.from([0n, 1n, 2n, 3n, 4n, 5n]),
    });
    const c = cli([fixtureModelPath('mlp'), '-o', join(dir, 'm.onnx'), '--inputs', join(dir, 'sets'), '--json']);
    expect(JSON.parse(c.stdout).verification.inputs).toEqual({ source: 'given', sets: 2 });
  });
});
