import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { tensorStats, parseTolerance, meets } from '../src/tools/report/stats.js';
import { diff } from '../src/tools/diff.js';
import { renderHtml, renderMarkdown, renderJson } from '../src/tools/report/render.js';
import { convertSync } from '../src/tools/convert.js';
import { loadModel } from '../src/onnx/io.js';
import { calibrate } from '../src/tools/calibrate.js';
import { fallback } from '../src/tools/fallback.js';
import { fixtureModelPath, fixtureInputs } from './helpers/fixtures.js';
import { screenshotReport } from '../src/tools/report/screenshot.js';
import { writeFileSync } from 'node:fs';
import { cli } from './helpers/cli.js';
import { fixturePath } from './helpers/nodetests.js';
import { cloneModel } from '../src/onnx/io.js';

describe('tensor statistics', () => {
  it('match values computed independently here', () => {
    const ref = [1, -2, 4, 0, 8, 0.5];
    const got = [1.1, -2, 3.5, 0, 8, 0];
    const s = tensorStats(ref, got);
    const d = ref.map((r, i) => Math.abs(got[i] - r)); // [0.1, 0, 0.5, 0, 0, 0.5]
    expect(s.maxAbs).toBeCloseTo(0.5, 12);
    expect(s.meanAbs).toBeCloseTo(d.reduce((a, b) => a + b) / 6, 12);
    expect(s.scaled).toBeCloseTo(0.5 / 8, 12);
    // elementwise relative with floor 1e-3·8: 0.1/1, 0, 0.5/4, 0, 0, 0.5/0.5
    expect(s.maxRel).toBeCloseTo(1, 12);
    const dot = ref.reduce((a, r, i) => a + r * got[i], 0);
    const cos = dot / Math.sqrt(ref.reduce((a, r) => a + r * r, 0) * got.reduce((a, g) => a + g * g, 0));
    expect(s.cosine).toBeCloseTo(cos, 12);
    expect(s.flushed).toBeCloseTo(1 / 5, 12); // 0.5 → 0 among 5 nonzero references
    expect(s.p50).toBeCloseTo(0, 12); // sorted: 0,0,0,0,0.1,0.5,0.5 → index floor(0.5·5)=2
    expect(s.p99).toBeCloseTo(0.5, 12);
    const inf = tensorStats([1, 70000], [1, Infinity]);
    expect(inf.inf).toBe(1);
    expect(inf.saturated).toBeCloseTo(0.5, 12);
    // Errors and cosine are over the positions where both are finite; the new Inf is counted apart.
    expect(inf.cosine).toBe(1);
    expect(inf.newNonFinite).toBe(1);
    expect(parseTolerance('rel=0.02,cos=0.99')).toEqual({ rel: 0.02, cos: 0.99 });
    expect(() => parseTolerance('abs=1')).toThrow(/atol=1e-3,rtol=1e-2/);
    expect(parseTolerance('atol=1e-3,rtol=0.01,scale=0.02,cos=0.999')).toEqual({
      atol: 1e-3,
      rtol: 0.01,
      scale: 0.02,
      cos: 0.999,
    });
  });

  it('NaN/Inf agree where the fp32 output has the same class at the same place; any other change is a named miss', async () => {
    const { missReason } = await import('../src/tools/report/stats.js');
    const tol = { atol: 1e-3, rtol: 1e-2, scale: 2e-2, cos: 0.999 };
    // acosh of |x| < 1 is NaN in fp32 too: the same NaNs (and infinities) are agreement, the rest is compared.
    const same = tensorStats([NaN, Infinity, -Infinity, 2, 3], [NaN, Infinity, -Infinity, 2.001, 3]);
    expect([same.maxAbs, same.newNonFinite, same.lostNonFinite]).toEqual([expect.closeTo(0.001, 9), 0, 0]);
    expect(same.cosine).toBeGreaterThan(0.9999);
    expect(missReason(tensorStats([NaN, 1, 2], [NaN, 1, 2], tol), tol)).toBeUndefined();
    // A NaN where fp32 has +Inf, or a finite value where it has NaN: not reproduced.
    const lost = tensorStats([Infinity, NaN, 1], [NaN, 0, 1], tol);
    expect(lost.lostNonFinite).toBe(2);
    expect(missReason(lost, tol)).toBe('2 NaN/Inf of the fp32 output not reproduced');
    expect(missReason(tensorStats([1, 2], [1, Infinity], tol), tol)).toBe(
      '1 new NaN/Inf where the fp32 output is finite',
    );
    expect(missReason(tensorStats([1, 2], [1, 2.5], tol), tol)).toMatch(
      /^elementwise bound: worst \|Δ\| is [\d.]+× the allowed error$/,
    );
    expect(missReason(tensorStats([1, -1], [1, 1], { cos: 0.9 }), { cos: 0.9 })).toBe('cosine 0.000000 < 0.9');
  });

  it('elementwise tolerance: |Δ| ≤ max(atol, scale·max|ref|) + rtol·|ref|, new NaN/Inf fail, cosine waived near zero', () => {
    const ref = [10, 1, 0.001, -5],
      got = [10.05, 1.02, 0.0015, -5];
    // allowed: A = max(0.001, 0.01·10) = 0.1, + 0.01·|ref|: worst ratio is element 0: 0.05 / (0.1 + 0.1)
    const s = tensorStats(ref, got, { atol: 1e-3, rtol: 0.01, scale: 0.01 });
    expect(s.tolRatio).toBeCloseTo(0.05 / 0.2, 12);
    expect(meets(s, { atol: 1e-3, rtol: 0.01, scale: 0.01 })).toBe(true);
    const tight = tensorStats(ref, got, { atol: 1e-3, rtol: 0.001 });
    expect(tight.tolRatio).toBeCloseTo(0.02 / (1e-3 + 0.001 * 1), 12); // element 1 is the worst here
    expect(meets(tight, { atol: 1e-3, rtol: 0.001 })).toBe(false);
    // A NaN where the reference is finite fails whatever the tolerance; one the reference has too does not.
    expect(meets(tensorStats([1, NaN], [1, NaN], { atol: 1 }), { atol: 1 })).toBe(true);
    expect(meets(tensorStats([1, 2], [1, NaN], { atol: 1 }), { atol: 1 })).toBe(false);
    // Near-zero outputs: cosine is noise and is not judged; atol judges them.
    const tiny = tensorStats([1e-7, -1e-7, 2e-7], [-1e-7, 1e-7, -1e-7], { atol: 1e-3, rtol: 0.01, cos: 0.999 });
    expect(tiny.cosine).toBeLessThan(0);
    expect(meets(tiny, { atol: 1e-3, rtol: 0.01, cos: 0.999 })).toBe(true);
  });
});

describe.each([
  ['bad_overflow', 'mm1'],
  ['bad_variance', 'var.square'],
])('known-bad model %s', (name, culprit) => {
  it('the report ranks the culprit first and names it as the first break', async () => {
    const original = loadModel(fixtureModelPath(name));
    const { model } = convertSync(fixtureModelPath(name));
    const r = await diff(original, model, fixtureInputs(name));
    expect(r.outputsMeet).toBe(false);
    expect(r.ranked[0].node).toBe(culprit);
    expect(r.firstBreak?.node).toBe(culprit);
  });

  it('tolerance fallback keeps only the culprit fp32, within 2·log2(nodes) evaluations', async () => {
    const original = loadModel(fixtureModelPath(name));
    const fb = await fallback(original, fixtureInputs(name), { rel: 0.01, cos: 0.999 });
    const nodes = original.graph.nodes.length;
    expect(fb.met).toBe(true);
    expect(fb.keepFp32).toEqual([culprit]);
    expect(fb.evaluations).toBeLessThanOrEqual(Math.ceil(2 * Math.log2(nodes)));
    const { model } = convertSync(fixtureModelPath(name), { keepFp32: fb.keepFp32 });
    expect((await diff(loadModel(fixtureModelPath(name)), model, fixtureInputs(name))).outputsMeet).toBe(true);
  });
});

describe('range-aware conversion', () => {
  it('calibration keeps the node whose activations exceed 65504, and deep reductions', () => {
    const m = loadModel(fixtureModelPath('bad_overflow'));
    const cal = calibrate(m, [fixtureInputs('bad_overflow')]);
    expect(cal.keepFp32).toEqual(['mm1']);
    expect(cal.ranges.mm1).toBeGreaterThan(65504);
    const deep = calibrate(m, [fixtureInputs('bad_overflow')], { maxActivation: Infinity, maxReduction: 32 });
    expect(deep.keepFp32.sort()).toEqual(['mm1', 'mm2']); // both reduce over 64 elements
  });
});

describe('report rendering', () => {
  it('HTML is self-contained and renders in headless Chromium: plot, ranked table, no errors, no network', async () => {
    const original = loadModel(fixtureModelPath('transformer_block'));
    const { model } = convertSync(fixtureModelPath('transformer_block'));
    const r = await diff(original, model, fixtureInputs('transformer_block'));
    const html = renderHtml(r, 'transformer block');
    expect(html).not.toMatch(/https?:\/\//);
    const dir = mkdtempSync(join(tmpdir(), 'amp-report-'));
    writeFileSync(join(dir, 'r.html'), html);
    const page = await screenshotReport(join(dir, 'r.html'));
    expect(page.errors).toEqual([]);
    expect(page.plotPoints).toBe(r.tensors.filter((t) => !t.isOutput).length);
    expect(page.rankedRows).toBe(Math.min(30, r.ranked.length));
    expect(page.height).toBeGreaterThan(800);
    expect(page.png.subarray(1, 4).toString()).toBe('PNG');
    const md = renderMarkdown(r);
    expect(md).toMatch(/^# Precision diff/);
    expect(JSON.parse(renderJson(r)).tensors.length).toBe(r.tensors.length);
  }, 60_000);

  it('CLI: diff writes --md/--html, exits 1 when outputs miss the tolerance; convert --report works', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amp-diff-cli-'));
    const conv = join(dir, 'bv.onnx');
    expect(cli([fixtureModelPath('bad_variance'), '-o', conv, '--no-verify']).code).toBe(0);
    const r = cli([
      'diff',
      fixtureModelPath('bad_variance'),
      conv,
      '--inputs',
      fixturePath('inputs', 'bad_variance'),
      '--md',
      join(dir, 'r.md'),
      '--html',
      join(dir, 'r.html'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/first tensor beyond tolerance: .* \(node var.square, Mul\)/);
    expect(readFileSync(join(dir, 'r.md'), 'utf8')).toMatch(/var.square/);
    expect(existsSync(join(dir, 'r.html'))).toBe(true);
    // Range calibration off (--max-activation 1e9): the repair finds the culprit from the verification's failure.
    const c = cli([
      fixtureModelPath('bad_variance'),
      '-o',
      join(dir, 'fixed.onnx'),
      '--inputs',
      fixturePath('inputs', 'bad_variance'),
      '--max-activation',
      '1e9',
      '--tolerance',
      'rel=0.01,cos=0.999',
      '--report',
      join(dir, 'fixed.html'),
    ]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^verified on 1 given input set/m);
    expect(c.stdout).toMatch(/kept fp32 by the repair: var.square$/m);
    expect(readFileSync(join(dir, 'fixed.html'), 'utf8')).toMatch(/Outputs meet the tolerance/);
  });
});

describe('diff at the level of Polygraphy', () => {
  it('compares every input set, checks golden outputs, and prints the flags that keep the culprits', async () => {
    const { cliIn } = await import('./helpers/cli.js');
    const { writeTensorFile } = await import('../src/onnx/tensor-io.js');
    const { loadModel } = await import('../src/onnx/io.js');
    const { CpuExecutor } = await import('../runtime/cpu/executor.js');
    const { readInputsDir } = await import('../src/tools/inputs.js');
    const { mkdirSync, cpSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'amp-diff-sets-'));
    const conv = join(dir, 'mlp.fp16.onnx');
    expect((await cliIn([fixtureModelPath('mlp'), '-o', conv])).code).toBe(0);
    // Two sets in the ONNX test layout, each with its golden (fp32) outputs.
    const m = loadModel(fixtureModelPath('mlp'));
    for (const k of [0, 1]) {
      const d = join(dir, 'sets', `test_data_set_${k}`);
      mkdirSync(d, { recursive: true });
      cpSync(fixturePath('inputs', 'mlp'), d, { recursive: true });
      const feeds = readInputsDir(m, d);
      const out = new CpuExecutor(m).runSync(feeds);
      m.graph.outputs.forEach((o, i) =>
        writeTensorFile(join(d, `output_${i}.pb`), k === 1 ? out[o] : out[o], o, { force: true }),
      );
    }
    const ok = await cliIn([
      'diff',
      fixtureModelPath('mlp'),
      conv,
      '--inputs',
      join(dir, 'sets'),
      '--expected',
      join(dir, 'sets'),
      '--json',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const j = JSON.parse(ok.stdout);
    expect(j.sets).toHaveLength(2);
    expect(j.sets.every((s: { expected: { pass: boolean }[] }) => s.expected.length === 1 && s.expected[0].pass)).toBe(
      true,
    );
    // The converted model on other runtimes (Polygraphy's comparison): onnxruntime-node and WebGPU.
    for (const backend of ['ort', 'webgpu']) {
      const b = await cliIn([
        'diff',
        fixtureModelPath('mlp'),
        conv,
        '--inputs',
        join(dir, 'sets'),
        '--backend',
        backend,
      ]);
      expect(b.code, b.stderr).toBe(0);
      expect(b.stdout).toMatch(new RegExp(`set 2 on ${backend} \\S+: ok`));
    }
    // Wrong golden outputs: exit 1, named per set.
    const wrong = join(dir, 'wrong');
    cpSync(join(dir, 'sets'), wrong, { recursive: true });
    const feeds = readInputsDir(m, join(wrong, 'test_data_set_1'));
    const out = new CpuExecutor(m).runSync(feeds)[m.graph.outputs[0]];
    writeTensorFile(
      join(wrong, 'test_data_set_1', 'output_0.pb'),
      { ...out, data: (out.data as Float32Array).map((v) => v * 2 + 1) },
      m.graph.outputs[0],
      { force: true },
    );
    const bad = await cliIn([
      'diff',
      fixtureModelPath('mlp'),
      conv,
      '--inputs',
      join(dir, 'sets'),
      '--expected',
      wrong,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/set 1 vs expected \S+: ok/);
    expect(bad.stdout).toMatch(/set 2 vs expected \S+: FAIL/);
    // A known-bad conversion: the report names the culprit and the flags that keep it fp32, in every format.
    const bv = join(dir, 'bv.onnx');
    expect((await cliIn([fixtureModelPath('bad_variance'), '-o', bv, '--no-verify'])).code).toBe(0);
    const r = await cliIn([
      'diff',
      fixtureModelPath('bad_variance'),
      bv,
      '--inputs',
      fixturePath('inputs', 'bad_variance'),
      '--top',
      '3',
      '--md',
      join(dir, 'bv.md'),
      '--html',
      join(dir, 'bv.html'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/to keep the culprits fp32, convert with: --keep-fp32 'var\.square'/);
    expect(readFileSync(join(dir, 'bv.md'), 'utf8')).toMatch(/--keep-fp32 'var\.square'/);
    const html = readFileSync(join(dir, 'bv.html'), 'utf8');
    expect(html).toMatch(
      /<div class="keep" id="keep">--keep-fp32 &#39;var\.square&#39;|<div class="keep" id="keep">--keep-fp32 'var\.square'/,
    );
    const page = await screenshotReport(join(dir, 'bv.html'));
    expect(page.errors).toEqual([]);
    expect(page.rankedRows).toBe(3); // --top honoured in HTML
    expect(html).toMatch(/class="f16"/); // fp16 limits marked on the histograms
    expect(html).toMatch(/rect class="zero"/);
    writeFileSync(join(dir, 'bv.png'), page.png);
  }, 120_000);
});

describe('diff defaults', () => {
  it('a bf16 model is judged by the bf16 tolerance unless one is given; a partial one changes only its fields', async () => {
    const { diff, TOLERANCES } = await import('../src/tools/diff.js');
    const { convertSync } = await import('../src/tools/convert.js');
    const { loadModel } = await import('../src/onnx/io.js');
    const { fixtureModelPath, fixtureInputs } = await import('./helpers/fixtures.js');
    const original = loadModel(fixtureModelPath('mlp'));
    const bf16 = convertSync(cloneModel(original), { target: 'bf16' }).model;
    expect((await diff(original, bf16, fixtureInputs('mlp'))).tolerance).toEqual(TOLERANCES.bf16);
    expect((await diff(original, bf16, fixtureInputs('mlp'), { tolerance: { cos: 0.9 } })).tolerance).toEqual({
      ...TOLERANCES.bf16,
      cos: 0.9,
    });
    const fp16 = convertSync(cloneModel(original)).model;
    expect((await diff(original, fp16, fixtureInputs('mlp'))).tolerance).toEqual(TOLERANCES.fp16);
  });
});
