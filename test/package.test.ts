/**
 * The npm package as a user gets it: `npm pack`, install the tarball into an empty project (optional
 * dependencies left out, as `--omit=optional` or a platform without Dawn would), then run every command
 * from there, check the WebGPU backend's one-line message without its optional package, type-check a
 * consumer under `--strict` without `skipLibCheck`, and measure the installed footprint.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot, fixturePath } from './helpers/nodetests.js';

let app: string;
const bin = () => join(app, 'node_modules/.bin/amp-convert');
const run = (args: string[]) => spawnSync(bin(), args, { cwd: app, encoding: 'utf8', timeout: 300_000 });
function du(p: string): number {
  const st = statSync(p);
  return st.isDirectory() ? readdirSync(p).reduce((a, f) => a + du(join(p, f)), 0) : st.size;
}
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });

beforeAll(() => {
  npm(['run', 'build'], repoRoot);
  const packs = mkdtempSync(join(tmpdir(), 'amp-pack-'));
  const out = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', packs], repoRoot)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const tarball = join(packs, out[0].filename);
  app = mkdtempSync(join(tmpdir(), 'amp-app-'));
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }),
  );
  npm(
    [
      'install',
      tarball,
      '@types/node@20',
      'typescript@5.9',
      '--omit=optional',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
    ],
    app,
  );
  copyFileSync(fixturePath('models', 'mlp.onnx'), join(app, 'mlp.onnx'));
}, 600_000);

describe('the packed package, installed', () => {
  it('ships what the CLI needs at run time and nothing that points at missing sources', () => {
    const pkg = join(app, 'node_modules/amp-convert');
    expect(existsSync(join(pkg, 'LICENSE'))).toBe(true);
    expect(existsSync(join(pkg, 'fixtures/data/digits.csv.gz'))).toBe(true);
    const maps = spawnSync('find', [pkg, '-name', '*.map'], { encoding: 'utf8' }).stdout.trim();
    expect(maps).toBe('');
    expect(existsSync(join(app, 'node_modules/webgpu'))).toBe(false); // optional, left out
    expect(existsSync(join(app, 'node_modules/ts-morph'))).toBe(false); // optional, left out
    expect(existsSync(join(app, 'node_modules/onnx-proto'))).toBe(false); // not a run-time dependency
  });
  it('is small without its optional dependencies', () => {
    const deps = ['amp-convert', 'protobufjs', 'commander', 'cli-progress', '@dagrejs/graphlib'].filter((d) =>
      existsSync(join(app, 'node_modules', d)),
    );
    const bytes = readdirSync(join(app, 'node_modules'))
      .filter((d) => !['typescript', '@types', '.bin', '.package-lock.json', 'undici-types'].includes(d))
      .reduce((a, d) => a + du(join(app, 'node_modules', d)), 0);
    console.log(
      `installed footprint without optional dependencies (and without the test's typescript/@types): ${(bytes / 2 ** 20).toFixed(1)} MiB (${deps.join(', ')} …)`,
    );
    expect(bytes).toBeLessThan(20 * 2 ** 20);
  });
  it('every command runs from the installed bin', () => {
    const v = run(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(run(['inspect', 'mlp.onnx']).stdout).toMatch(/nodes \d+/);
    const c = run(['mlp.onnx']);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/verified/);
    expect(existsSync(join(app, 'mlp.fp16.onnx'))).toBe(true);
    expect(run(['run', 'mlp.fp16.onnx', '--random']).status).toBe(0);
    const d = run(['diff', 'mlp.onnx', 'mlp.fp16.onnx', '--random', '1']);
    expect(d.status, d.stderr).toBe(0);
    expect(run(['repack', 'mlp.onnx', '-o', 'r.onnx']).status).toBe(0);
    const t = run(['train-check', '--data', 'digits', '--epochs', '1', '--seeds', '1']);
    expect(t.status, t.stderr).toBe(0);
  }, 600_000);
  it('features behind optional packages say which one in one line, exit 2 (WebGPU: webgpu; bindings: ts-morph)', () => {
    const r = run(['run', 'mlp.onnx', '--random', '--backend', 'webgpu']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/optional package 'webgpu' \(npm install webgpu\)/);
    const t = run(['mlp.onnx', '-o', 'typed.onnx', '--emit-types', 'typed.ts']);
    expect(t.status).toBe(2);
    expect(t.stderr.trim().split('\n')).toHaveLength(1);
    expect(t.stderr).toMatch(/optional package 'ts-morph' \(npm install ts-morph\)/);
    expect(existsSync(join(app, 'typed.onnx'))).toBe(false); // refused before converting
    const o = run(['run', 'mlp.onnx', '--random', '--backend', 'ort']);
    expect(o.status).toBe(2);
    expect(o.stderr).toMatch(/needs the package 'onnxruntime-node' \(npm install onnxruntime-node\)/);
  });
  it('its types check under --strict without skipLibCheck', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `
      import { convert, loadModel, saveModel, diff, run, type ConvertRunOptions } from 'amp-convert';
      import ampConvert from 'amp-convert/vite';
      import { convertModel, checkOnWebGpu, type BrowserConversion } from 'amp-convert/browser';
      export const plugin = ampConvert({ convert: { keepIoTypes: true } }).name;
      export const inPage = async (b: Uint8Array): Promise<BrowserConversion> => convertModel(b, { target: 'bf16' });
      export { checkOnWebGpu };
      const opts: ConvertRunOptions = { keepIoTypes: true, verify: true };
      const r = await convert(loadModel('mlp.onnx'), opts);
      if (r.verification.status !== 'failed') saveModel(r.model, 'out.onnx', { force: true });
      export { diff, run };
    `,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    const r = spawnSync(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: app, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});
