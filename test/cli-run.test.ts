import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cli } from './helpers/cli.js';
import { fixtureModelPath, fixtureInputs, agreement } from './helpers/fixtures.js';
import { fixturePath } from './helpers/nodetests.js';
import { runOrt } from './helpers/ort.js';
import { readFileSync } from 'node:fs';
import { readTensorFile } from '../src/onnx/tensor-io.js';
import { toFloat32 } from '../src/ir/rtensor.js';

describe('amp-convert run', () => {
  it('reads input_N.pb, writes output_N.pb that match onnxruntime, and prints JSON', async () => {
    const out = mkdtempSync(join(tmpdir(), 'amp-run-'));
    const r = cli([
      'run',
      fixtureModelPath('silero_vad_v5'),
      '--inputs',
      fixturePath('inputs', 'silero_vad_v5'),
      '--outputs',
      out,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.backend).toBe('cpu');
    expect(j.outputs.map((o: { name: string }) => o.name)).toEqual(['output', 'stateN']);
    expect(readdirSync(out).sort()).toEqual(['output_0.pb', 'output_1.pb']);
    const ref = await runOrt(readFileSync(fixtureModelPath('silero_vad_v5')), fixtureInputs('silero_vad_v5'));
    const got = readTensorFile(join(out, 'output_1.pb')).tensor;
    expect(agreement(toFloat32(got), toFloat32(ref.stateN)).maxScaled).toBeLessThan(1e-4);
  });

  it('makes seeded random inputs (same seed, same outputs) with --shape for symbolic dims', () => {
    const a = JSON.parse(
      cli(['run', fixtureModelPath('mlp'), '--random', '--seed', '3', '--shape', 'x=2,64', '--json']).stdout,
    );
    const b = JSON.parse(
      cli(['run', fixtureModelPath('mlp'), '--random', '--seed', '3', '--shape', 'x=2,64', '--json']).stdout,
    );
    expect(a.outputs[0].dims).toEqual([2, 10]);
    expect(a.outputs[0].values).toEqual(b.outputs[0].values);
  });

  it('rejects bad inputs with one line naming the input, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amp-run-bad-'));
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /input 'x' is missing/],
      [{ x: { dims: [1, 3], data: [1, 2, 3] } }, /input 'x' must have shape \[N, 64\], got \[1, 3\]/],
      [{ x: { dims: [1, 64], data: new Array(64).fill(1), dtype: 'INT32' } }, /input 'x' must be FLOAT, got INT32/],
      [{ y: [1] }, /input 'y' is not an input of the model/],
      [{ x: [[1, 2], [3]] }, /input 'x': ragged/],
    ];
    for (const [json, re] of cases) {
      writeFileSync(join(dir, 'in.json'), JSON.stringify(json));
      const r = cli(['run', fixtureModelPath('mlp'), '--inputs', join(dir, 'in.json')]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
    const w = cli(['run', fixtureModelPath('mlp'), '--random', '--backend', 'vulkan']);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/--backend must be cpu, webgpu, ort or auto \(got 'vulkan'\)/);
  });
});

describe('CLI conventions', () => {
  it('--version prints the package version; usage errors exit 2 in every command (1 is kept for a missed tolerance)', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const v = cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    for (const args of [['run', '--bogus'], ['diff'], ['convert'], ['inspect', 'a', 'b'], ['--nope']])
      expect(cli(args).code, args.join(' ')).toBe(2);
    expect(cli(['--help']).code).toBe(0);
  });
});

describe('--json: one line per command, element types as names', () => {
  it('inspect, run, convert, diff and train-check print one JSON line each', async () => {
    const { cliIn } = await import('./helpers/cli.js');
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'amp-json-')),
      out = join(dir, 'm.onnx');
    const runs = {
      inspect: await cliIn(['inspect', fixtureModelPath('mlp'), '--json']),
      run: await cliIn(['run', fixtureModelPath('mlp'), '--random', '--json']),
      convert: await cliIn([fixtureModelPath('mlp'), '-o', out, '--json']),
      diff: await cliIn(['diff', fixtureModelPath('mlp'), out, '--random', '1', '--json']),
      'train-check': await cliIn([
        'train-check',
        '--data',
        'digits',
        '--epochs',
        '1',
        '--seeds',
        '1',
        '--batch',
        '16',
        '--json',
      ]),
    };
    for (const [cmd, r] of Object.entries(runs)) {
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines, cmd).toHaveLength(1);
      expect(() => JSON.parse(lines[0]), cmd).not.toThrow();
    }
    const d = JSON.parse(runs.diff.stdout);
    expect(d.tensors.every((t: { dtype: unknown }) => typeof t.dtype === 'string')).toBe(true);
    expect(d.outputs[0].dtype).toBe('FLOAT16');
    const t = JSON.parse(runs['train-check'].stdout);
    expect(t.modes[0].perSeed[0]).toEqual({
      seed: 1,
      testAccuracy: expect.any(Number),
      epochAccuracy: [expect.any(Number)],
      finalLoss: expect.any(Number),
    });
    expect(t.modes[0].runs).toBeUndefined();
    expect(t.batch).toBe(16);
    expect(t.samples.train + t.samples.test).toBe(1797); // the digits set, split
    expect((await cliIn(['train-check', '--data', 'digits', '--batch', '0'])).code).toBe(2);
  }, 120_000);
});
