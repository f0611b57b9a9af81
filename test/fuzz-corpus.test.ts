/**
 * Every input that ever broke the CLI's contract under `npm run fuzz` (fixtures/fuzz-corpus/, kept with what
 * broke) is replayed here through all commands: each must now end in a valid result or one line naming the
 * file with exit 2, leave its input files unchanged and leave no temp files. A short seeded fuzz run checks
 * that the generator and harness themselves work (the ≥ 2000-mutation run is `npm run fuzz` in the CI command).
 */
import { describe, it, expect } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runCase, makeCase, baseModels, writeCase, checkContract } from '../scripts/fuzz.js';
import { fixturePath } from './helpers/nodetests.js';

const corpus = fixturePath('fuzz-corpus');
const cases = existsSync(corpus) ? readdirSync(corpus).sort() : [];

describe('fuzz corpus replay', () => {
  it('holds the inputs that once broke the contract', () => expect(cases.length).toBeGreaterThan(0));
  it.each(cases)(
    '%s',
    async (name) => {
      const dir = mkdtempSync(join(tmpdir(), 'amp-corpus-'));
      cpSync(join(corpus, name), dir, { recursive: true });
      const fifos = join(dir, 'fifos.txt');
      if (existsSync(fifos))
        for (const f of readFileSync(fifos, 'utf8').split('\n').filter(Boolean)) spawnSync('mkfifo', [join(dir, f)]);
      expect(await runCase(dir)).toBeUndefined();
    },
    60_000,
  );
});

describe('fuzz harness', () => {
  it('cases are deterministic per seed and index, and a clean model passes the contract', async () => {
    const bases = baseModels();
    const a = makeCase(bases, 3, 17),
      b = makeCase(bases, 3, 17),
      c = makeCase(bases, 3, 18);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.what === c.what && Buffer.from(a.bytes).equals(Buffer.from(c.bytes))).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'amp-fuzz-clean-'));
    writeCase(dir, { bytes: readFileSync(fixturePath('models', 'mlp.onnx')), side: {}, what: 'clean' });
    const codes: string[] = [];
    expect(await runCase(dir, codes)).toBeUndefined();
    expect(codes).toEqual(['inspect:0', 'repack:0', 'repack:0', 'convert:0', 'run:0', 'diff:0']);
  }, 60_000);
  it('the contract check refuses what the contract forbids', () => {
    const f = '/tmp/x/model.onnx',
      ok = (cmd: string, code: number, stderr = '', stdout = '') => checkContract(cmd, { code, stdout, stderr }, f);
    expect(ok('run', 0)).toBeUndefined();
    expect(ok('run', 2, `amp-convert: ${f}: tensor 'w' has 3 bytes\n`)).toBeUndefined();
    expect(ok('convert', 1, 'NOT VERIFIED\n')).toBeUndefined(); // a verdict
    expect(ok('run', 1)).toMatch(/exit 1/);
    expect(ok('run', 2, 'amp-convert: internal error: boom\n')).toMatch(/internal error/);
    expect(ok('run', 2, `amp-convert: ${f}: a\nb\n`)).toMatch(/2 lines/);
    expect(ok('run', 2, 'amp-convert: no file named here\n')).toMatch(/does not name a file/);
    expect(ok('run', 2, `amp-convert: ${f}: x\n    at foo (bar.ts:1:1)\n`)).toMatch(/stack trace|lines/);
    expect(ok('inspect', 0, '', 'name \u001b[2J\n')).toMatch(/control characters/);
  });
});

describe('npm run fuzz', () => {
  it('2000 seeded mutations of the fixtures and node tests keep the contract', () => {
    const corpusOut = mkdtempSync(join(tmpdir(), 'amp-fuzz-ci-'));
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx/esm',
        fixturePath('..', 'scripts', 'fuzz.ts'),
        '--cases',
        '2000',
        '--seed',
        '20261130',
        '--corpus',
        corpusOut,
        '--time-limit',
        '900',
      ],
      { cwd: fixturePath('..'), encoding: 'utf8', timeout: 1_200_000 },
    );
    expect(r.stdout, r.stderr).toMatch(/fuzz: 2000 mutations .*: 0 broke the contract/);
    expect(r.status).toBe(0);
  }, 1_300_000);
});
