/**
 * Typed bindings (src/tools/bindings.ts, `--emit-types`): the module emitted for a converted model
 * type-checks under `tsc --strict` together with a consumer that feeds it correctly through onnxruntime-node's
 * real types; a Float32Array fed to its float16 input, or a wrong static dim, does not compile; and its `run`
 * helper runs the model in onnxruntime-node, returning what our executor computes.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cliIn } from './helpers/cli.js';
import { fixturePath, repoRoot } from './helpers/nodetests.js';
import { loadModel } from '../src/onnx/io.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { DataType } from '../src/core/dtype.js';
import { f32ArrayToF16, f16ArrayToF32 } from '../src/core/half.js';

let dir: string;
const tsc = (files: string[]) => {
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        skipLibCheck: true,
        types: ['node'],
      },
      files,
    }),
  );
  const r = spawnSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', dir], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
};
const consumer = (feed: string) => `
  import * as ort from 'onnxruntime-node';
  import { run, signature, type Feeds } from './mlp.js';
  const session = await ort.InferenceSession.create('mlp.fp16.onnx');
  const feeds: Feeds = { x: ${feed} };
  const out = await run(ort, session, feeds);
  const bits: Uint16Array = out.logits.data;
  export { bits, signature };
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'amp-bindings-'));
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const r = await cliIn([
    fixturePath('models', 'mlp.onnx'),
    '-o',
    join(dir, 'mlp.fp16.onnx'),
    '--emit-types',
    join(dir, 'mlp.ts'),
  ]);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

describe('typed bindings', () => {
  it("a correct feed compiles under --strict against onnxruntime-node's types", () => {
    writeFileSync(join(dir, 'ok.ts'), consumer("{ type: 'float16', data: new Uint16Array(2 * 64), dims: [2, 64] }"));
    const r = tsc(['ok.ts']);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 60_000);
  it('a Float32Array for the float16 input, or a wrong static dim, does not compile', () => {
    writeFileSync(join(dir, 'f32.ts'), consumer("{ type: 'float16', data: new Float32Array(2 * 64), dims: [2, 64] }"));
    writeFileSync(join(dir, 'dims.ts'), consumer("{ type: 'float16', data: new Uint16Array(2 * 32), dims: [2, 32] }"));
    writeFileSync(join(dir, 'type.ts'), consumer("{ type: 'float32', data: new Uint16Array(2 * 64), dims: [2, 64] }"));
    for (const f of ['f32.ts', 'dims.ts', 'type.ts']) {
      const r = tsc([f]);
      expect(r.code, f).not.toBe(0);
      expect(r.out, f).toMatch(new RegExp(`${f.replace('.', '\\.')}\\(\\d+,\\d+\\): error TS2322`));
    }
  }, 60_000);
  it('its run helper runs the model in onnxruntime-node', async () => {
    const bindings = await import(join(dir, 'mlp.ts'));
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(join(dir, 'mlp.fp16.onnx'));
    const x = Float32Array.from({ length: 64 }, (_, i) => (i % 17) / 17);
    const out = await bindings.run(ort, session, { x: { type: 'float16', data: f32ArrayToF16(x), dims: [1, 64] } });
    expect(out.logits.dims).toEqual([1, 10]);
    const ours = new CpuExecutor(loadModel(join(dir, 'mlp.fp16.onnx'))).runSync({
      x: { dtype: DataType.FLOAT16, dims: [1, 64], data: f32ArrayToF16(x) },
    }).logits;
    const a = f16ArrayToF32(out.logits.data),
      b = f16ArrayToF32(ours.data as Uint16Array);
    for (let i = 0; i < 10; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(2e-2);
    expect(bindings.signature.inputs.x.dims).toEqual(['N', 64]);
  });
});

describe('typed bindings from hostile names', () => {
  it('names and symbolic dims that try to close a comment or a string compile as data and run nothing on import', async () => {
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    const { emitBindings } = await import('../src/tools/bindings.js');
    const evil = '*/ globalThis.pwned = 1; /*';
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input(`x ${evil}`, DataType.FLOAT, [`${evil}\u2028"; globalThis.pwned = 2; "`, 4]);
    b.node('Relu', [x], {}, { outputs: [`y"]; globalThis.pwned = 3; //\n${evil}`] });
    b.output(`y"]; globalThis.pwned = 3; //\n${evil}`, DataType.FLOAT, ['n */ globalThis.pwned = 4; /*', 4]);
    const src = await emitBindings(b.build(), `evil ${evil}\n.onnx`);
    writeFileSync(join(dir, 'evil.ts'), src);
    writeFileSync(
      join(dir, 'use-evil.ts'),
      "import { signature } from './evil.js';\nconsole.log(JSON.stringify({ pwned: (globalThis as { pwned?: number }).pwned ?? null, inputs: Object.keys(signature.inputs) }));\n",
    );
    const compiled = tsc(['use-evil.ts']);
    expect(compiled.out).toBe('');
    const r = spawnSync(join(repoRoot, 'node_modules/.bin/tsx'), [join(dir, 'use-evil.ts')], {
      encoding: 'utf8',
      cwd: dir,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.pwned).toBeNull();
    expect(out.inputs).toEqual([`x ${evil}`]);
  }, 60_000);
});
