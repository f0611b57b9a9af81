/**
 * Every file a run reads, not only the model: config files checked against one schema and honoured, outputs that
 * never overwrite anything the run reads (config, input sets, data), numeric flags refused when they are not
 * numbers, and the repair resolving external data in the model's folder whatever the working directory.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cliIn, cli } from './helpers/cli.js';
import { fixturePath } from './helpers/nodetests.js';

let d: string;
const mlp = fixturePath('models', 'mlp.onnx');
const badInput = (r: { code: number; stderr: string }, file: string, what: RegExp) => {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(file);
  expect(r.stderr).toMatch(what);
};

beforeAll(() => { d = mkdtempSync(join(tmpdir(), 'amp-files-')); });

describe('--config: one schema, honoured where the CLI says nothing', () => {
  it('keepFp32 in the file keeps that node fp32 (no CLI default overrides it)', async () => {
    writeFileSync(join(d, 'keep.json'), JSON.stringify({ keepFp32: ['fc0'] }));
    const r = await cliIn([mlp, '-o', join(d, 'k.onnx'), '--config', join(d, 'keep.json'), '--json', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).keptFp32['kept fp32 by name']).toBe(1);
  });
  it('a value of the wrong type or an unknown runtime is one line, exit 2', async () => {
    for (const [name, body, what] of [['rt.json', { runtime: 'nonsense' }, /runtime must be one of/], ['clamp.json', { clamp: 'no' }, /'clamp' must be true or false/],
      ['num.json', { maxInit: 'big' }, /'maxInit' must be a number/], ['key.json', { keepIOTypes: true }, /unknown config key 'keepIOTypes'/]] as const) {
      writeFileSync(join(d, name), JSON.stringify(body));
      badInput(await cliIn([mlp, '-o', join(d, 'x.onnx'), '--config', join(d, name), '--force']), name, what);
    }
  });
});

describe('outputs never overwrite what the run reads', () => {
  it('--report over --config, --emit-ir over an --inputs file, diff --md over its input JSON: refused, the file intact', async () => {
    const cfg = join(d, 'amp.json');
    writeFileSync(cfg, '{}');
    badInput(await cliIn([mlp, '-o', join(d, 'a.onnx'), '--config', cfg, '--report', cfg, '--force']), cfg, /input/);
    expect(readFileSync(cfg, 'utf8')).toBe('{}');
    const sets = join(d, 'sets');
    mkdirSync(sets);
    cpSync(fixturePath('inputs', 'mlp'), join(sets, 'test_data_set_0'), { recursive: true });
    const pb = join(sets, 'test_data_set_0', 'input_0.pb');
    const before = readFileSync(pb);
    badInput(await cliIn([mlp, '-o', join(d, 'b.onnx'), '--inputs', sets, '--emit-ir', pb, '--force']), 'input_0.pb', /input/);
    expect(readFileSync(pb).equals(before)).toBe(true);
    const json = join(d, 'in.json');
    writeFileSync(json, JSON.stringify({ x: { dims: [1, 64], data: new Array(64).fill(0.5) } }));
    badInput(await cliIn(['diff', mlp, mlp, '--inputs', json, '--md', json, '--force']), json, /input/);
  });
});

describe('numeric flags', () => {
  it('train-check refuses --epochs abc, --lr NaN, --loss-multiplier -Infinity (they used to train to NaN and exit 0)', async () => {
    for (const [flag, v] of [['--epochs', 'abc'], ['--lr', 'NaN'], ['--loss-multiplier', '-Infinity'], ['--limit', '1.5']]) {
      const r = await cliIn(['train-check', '--data', 'digits', flag, v]);
      expect(r.code, `${flag} ${v}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(flag.replace(/-/g, '\\-')));
    }
  });
});

describe('external data stays in the model\'s folder', () => {
  it('the repair reloads no file from the working directory: a model with external data converts, verified, from elsewhere', async () => {
    const md = join(d, 'model');
    mkdirSync(md);
    expect((await cliIn(['repack', mlp, '-o', join(md, 'mlp.onnx'), '--external-data', '--threshold', '0'])).code).toBe(0);
    // A same-named decoy in the working directory must not be read instead.
    const cwd = join(d, 'elsewhere');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'mlp.onnx.data'), Buffer.alloc(64));
    const r = cli([join(md, 'mlp.onnx'), '-o', join(d, 'ext.fp16.onnx'), '--tolerance', 'atol=1e-5,rtol=0,scale=0', '--force'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^verified/m);
    expect(r.stdout).toMatch(/kept fp32 by the repair|kept fp32 at the model's edge/);
  }, 60_000);
});
