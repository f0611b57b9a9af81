/**
 * Hostile and malformed models: one regression test per defect class, on files made by
 * fixtures/scripts/hostile.ts. The contract: a valid result, or one line on stderr naming the file with
 * exit 2 — never a stack trace, an "internal error", a hang, a write through a link, or a lost input.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  rmSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
  readdirSync,
  existsSync,
  lstatSync,
  statSync,
  mkdirSync,
  linkSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { cli, cliIn, type CliResult } from './helpers/cli.js';
import { repoRoot } from './helpers/nodetests.js';
import * as H from '../fixtures/scripts/hostile.js';
import { loadModel, saveModel } from '../src/onnx/io.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { DataType } from '../src/core/dtype.js';
import { ModelBuilder } from '../src/onnx/builder.js';

let dir: string;
const p = (name: string) => join(dir, name);
const sub = (name: string) => {
  const d = p(name);
  mkdirSync(d, { recursive: true });
  return d;
};
/** Exactly one line on stderr, naming the file, exit 2, no stack trace and no internal error. */
function badInput(r: CliResult, file: string, what?: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toContain(file);
  if (what) expect(lines[0]).toMatch(what);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
}
const noTemps = (d: string) => expect(readdirSync(d).filter((f) => f.includes('.tmp-'))).toEqual([]);
const runOut = (file: string) =>
  new CpuExecutor(loadModel(file)).runSync({
    x: { dtype: DataType.FLOAT, dims: [1, 8], data: Float32Array.from({ length: 8 }, (_, i) => i / 8 - 0.3) },
  }).y.data as Float32Array;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'amp-hostile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true })); // the SIGINT case writes a 256 MB model

describe('1: external data', () => {
  it('a tensor without the optional length key loads, repacks inline and converts correctly', async () => {
    const d = sub('ext1'),
      { noLength } = H.externalCases(d);
    const want = runOut(noLength);
    expect((await cliIn(['repack', noLength, '-o', join(d, 'inline.onnx'), '--inline'])).code).toBe(0);
    expect([...runOut(join(d, 'inline.onnx'))]).toEqual([...want]);
    expect(loadModel(join(d, 'inline.onnx')).graph.initializers.get('w')!.external).toBeUndefined();
    const c = await cliIn([noLength, '-o', join(d, 'conv.onnx')]);
    expect(c.code, c.stderr).toBe(0);
    expect(loadModel(join(d, 'conv.onnx')).graph.initializers.get('w')!.dataType).toBe(DataType.FLOAT16);
    const ext = await cliIn(['repack', noLength, '-o', join(d, 'ext.onnx'), '--external-data', '--threshold', '0']);
    expect(ext.code, ext.stderr).toBe(0);
    expect(statSync(join(d, 'ext.onnx.data')).size).toBe(128 + 16);
    expect([...runOut(join(d, 'ext.onnx'))]).toEqual([...want]);
  });
  it('a short data file, a FIFO and a directory as the data file: exit 2 at load, no hang', async () => {
    const d = sub('ext2'),
      c = H.externalCases(d);
    badInput(await cliIn(['run', c.short, '--random']), c.short, /short/);
    badInput(await cliIn(['convert', c.fifo]), c.fifo, /not a regular file/);
    badInput(await cliIn(['run', c.fifo, '--random']), c.fifo, /not a regular file/);
    badInput(await cliIn(['inspect', c.directory]), c.directory, /not a regular file/);
  });
});

describe('2: the input and what it reads are never overwritten', () => {
  it('--report / --html / --md at the input, -o at its external data, even with --force', async () => {
    const d = sub('protect'),
      { model, data } = H.withExternalData(d);
    const before = [readFileSync(model), readFileSync(data)];
    badInput(await cliIn([model, '-o', p('protect/out.onnx'), '--report', model, '--force']), model, /input/);
    badInput(await cliIn([model, '-o', data, '--force']), data, /input/);
    badInput(await cliIn(['diff', model, model, '--random', '1', '--html', data, '--force']), data, /input/);
    badInput(await cliIn(['diff', model, model, '--random', '1', '--md', model, '--force']), model, /input/);
    // A hard link to the input is the input.
    linkSync(model, join(d, 'hard.onnx'));
    badInput(await cliIn([model, '-o', join(d, 'hard.onnx'), '--force']), 'hard.onnx', /input/);
    expect(readFileSync(model).equals(before[0]) && readFileSync(data).equals(before[1])).toBe(true);
    noTemps(d);
  });
});

describe('3, 9: outputs are never written through links or over special files', () => {
  it('run --outputs: a symlinked output_0.pb is refused, an existing one needs --force, then is replaced', async () => {
    const d = sub('runout'),
      { model } = H.withExternalData(d);
    const outs = sub('runout/outs'),
      victim = join(d, 'victim.txt');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(outs, 'output_0.pb'));
    badInput(await cliIn(['run', model, '--random', '--outputs', outs, '--force']), 'output_0.pb', /symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    const outs2 = sub('runout/outs2');
    expect((await cliIn(['run', model, '--random', '--outputs', outs2])).code).toBe(0);
    badInput(await cliIn(['run', model, '--random', '--outputs', outs2]), 'output_0.pb', /exists/);
    expect((await cliIn(['run', model, '--random', '--outputs', outs2, '--force'])).code).toBe(0);
    noTemps(outs2);
  });
  it('--force does not replace a symlink, a FIFO or a dangling link; a name ending in / is refused', async () => {
    const d = sub('traps'),
      { model } = H.withExternalData(d),
      victim = join(d, 'victim.onnx');
    writeFileSync(victim, 'keep me');
    const t = H.trapOutputs(d, victim);
    badInput(await cliIn([model, '-o', t.symlink, '--force', '--no-verify']), t.symlink, /symbolic link/);
    badInput(await cliIn([model, '-o', t.dangling, '--force', '--no-verify']), t.dangling, /symbolic link/);
    badInput(await cliIn([model, '-o', t.fifo, '--force', '--no-verify']), t.fifo, /not a regular file/);
    badInput(await cliIn([model, '-o', `${join(d, 'newdir')}/`, '--no-verify']), 'newdir/', /directory/);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(lstatSync(t.symlink).isSymbolicLink()).toBe(true);
  });
  it('two converts racing for one output without --force: at most one wins', async () => {
    const d = sub('race'),
      { model } = H.withExternalData(d),
      out = join(d, 'out.onnx');
    const tsx = join(repoRoot, 'node_modules/.bin/tsx'),
      main = join(repoRoot, 'src/cli/main.ts');
    const go = () =>
      new Promise<number>((res) =>
        spawn(tsx, [main, model, '-o', out, '--no-verify'], { stdio: 'ignore' }).on('exit', (c) => res(c ?? -1)),
      );
    const codes = await Promise.all([go(), go(), go()]);
    expect(codes.filter((c) => c === 0)).toHaveLength(1);
    expect(codes.filter((c) => c !== 0).every((c) => c === 2)).toBe(true);
    expect(loadModel(out).graph.nodes.length).toBeGreaterThan(0);
    noTemps(d);
  }, 60_000);
  it('SIGINT during a large write leaves the old output or a complete new one, and no temp file', async () => {
    const d = sub('sigint'),
      out = join(d, 'big.onnx'),
      script = join(d, 'write.mts');
    writeFileSync(
      script,
      `
      import { saveModel } from ${JSON.stringify(join(repoRoot, 'src/onnx/io.ts'))};
      import { bigModel } from ${JSON.stringify(join(repoRoot, 'bench/util.ts'))};
      const m = bigModel(256);
      process.stdout.write('writing\\n');
      saveModel(m, ${JSON.stringify(out)});
      process.stdout.write('done\\n');`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx/esm', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let said = '';
    const exit = new Promise<[number | null, string | null]>((res) => child.on('exit', (c, s) => res([c, s])));
    await new Promise<void>((res) =>
      child.stdout.on('data', (b) => {
        said += String(b);
        if (said.includes('writing')) res();
      }),
    );
    setTimeout(() => child.kill('SIGINT'), 30);
    const [code, signal] = await exit;
    // Writes are synchronous: the signal is handled when the write is done — by ending the process (signal)
    // before the script goes on, or, if it raced past the write, after it (exit 0). Never a partial file.
    expect(signal === 'SIGINT' || code === 0).toBe(true);
    noTemps(d);
    if (signal) expect(said).not.toContain('done');
    if (existsSync(out)) expect(statSync(out).size).toBeGreaterThan(256 * 2 ** 20);
  }, 120_000);
});

describe('4: tensor data must agree with its dims and type', () => {
  it.each(['raw-short', 'raw-long', 'dims-huge', 'dims-negative', 'dtype-unknown', 'float-data-short'])(
    '%s: exit 2 naming the tensor',
    async (k) => {
      const file = H.badTensors(sub('tensors'))[k];
      badInput(await cliIn(['inspect', file]), file, /tensor 'w'/);
      badInput(await cliIn([file, '-o', p(`tensors/${k}.out.onnx`)]), file, /tensor 'w'/);
      expect(existsSync(p(`tensors/${k}.out.onnx`))).toBe(false);
    },
  );
});

describe('5: external initializers inside subgraphs', () => {
  it('are relocated (or inlined) when the output goes to another directory', async () => {
    const d = sub('subext'),
      file = H.subgraphExternal(d),
      other = sub('subext/elsewhere');
    const feeds = (c: boolean) => ({
      c: { dtype: DataType.BOOL, dims: [], data: new Uint8Array([c ? 1 : 0]) },
      v: { dtype: DataType.FLOAT, dims: [4], data: new Float32Array([1, 1, 1, 1]) },
    });
    const want = [true, false].map((c) => [
      ...(new CpuExecutor(loadModel(file)).runSync(feeds(c)).y.data as Float32Array),
    ]);
    expect(want).toEqual([
      [2, 3, 4, 5],
      [-9, -19, -29, -39],
    ]);
    for (const args of [['--external-data', '--threshold', '0'], ['--inline'], []]) {
      const out = join(other, `r${args.join('')}.onnx`);
      const r = await cliIn(['repack', file, '-o', out, ...args]);
      expect(r.code, r.stderr).toBe(0);
      const back = loadModel(out);
      expect([true, false].map((c) => [...(new CpuExecutor(back).runSync(feeds(c)).y.data as Float32Array)])).toEqual(
        want,
      );
    }
  });
});

describe('6: repack --location', () => {
  it('refuses ../x, absolute paths and the output itself', async () => {
    const d = sub('loc'),
      { model } = H.withExternalData(d),
      out = join(d, 'o.onnx');
    for (const loc of ['../x.data', '/tmp/x.data', 'o.onnx', 'a/../../x']) {
      badInput(
        await cliIn(['repack', model, '-o', out, '--external-data', '--threshold', '0', '--location', loc]),
        out,
        /location/,
      );
    }
    expect(existsSync(out)).toBe(false);
    expect(
      (await cliIn(['repack', model, '-o', out, '--external-data', '--threshold', '0', '--location', 'weights.bin']))
        .code,
    ).toBe(0);
    expect(existsSync(join(d, 'weights.bin'))).toBe(true);
  });
});

describe('7: text from the model cannot drive the terminal', () => {
  it('inspect, run, convert and diff print control characters escaped; the Markdown report escapes names', async () => {
    const d = sub('evil'),
      file = H.controlNames(d);
    const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
    const outputs = [
      await cliIn(['inspect', file]),
      await cliIn(['run', file, '--random']),
      await cliIn([file, '-o', join(d, 'c.onnx')]),
      await cliIn(['diff', file, join(d, 'c.onnx'), '--random', '1', '--md', join(d, 'r.md')]),
    ];
    for (const r of outputs) {
      expect(r.code, r.stderr).toBeLessThan(2);
      expect(r.stdout + r.stderr).not.toMatch(raw);
      expect(r.stdout).toContain('\\x1b[2J');
      expect(r.stdout).not.toMatch(/^fake line/m); // the newline inside a name did not start a line
    }
    const md = readFileSync(join(d, 'r.md'), 'utf8');
    expect(md).not.toMatch(raw);
    const bad = await cliIn(['run', file, '--inputs', join(d, 'nope.json')]);
    expect(bad.stderr).not.toMatch(raw);
  });
});

describe('attributes the kernels cannot honour are refused, not run as something else', () => {
  it('RNN activations: an unknown name or the wrong count names the problem; the right ones run', () => {
    const lstm = (acts: string[]) => {
      const b = new ModelBuilder({ opset: 14 });
      const x = b.input('x', DataType.FLOAT, [2, 1, 3]);
      b.node(
        'LSTM',
        [
          x,
          b.init('w', DataType.FLOAT, [1, 16, 3], new Float32Array(48).fill(0.1)),
          b.init('r', DataType.FLOAT, [1, 16, 4], new Float32Array(64).fill(0.1)),
        ],
        { hidden_size: 4, activations: acts },
        { outputs: ['y'] },
      );
      b.output('y', DataType.FLOAT, [2, 1, 1, 4]);
      return () =>
        new CpuExecutor(b.build()).runSync({
          x: { dtype: DataType.FLOAT, dims: [2, 1, 3], data: new Float32Array(6).fill(1) },
        });
    };
    expect(lstm(['Foo', 'Tanh', 'Tanh'])).toThrow(/activation 'Foo' is not one of Sigmoid, Tanh/);
    expect(lstm(['Sigmoid'])).toThrow(/1 activation\(s\) given; LSTM takes 3 per direction \(3 here\)/);
    expect(Array.from(lstm(['Sigmoid', 'Tanh', 'Tanh'])().y.data as Float32Array).every((v) => v > 0 && v < 1)).toBe(
      true,
    );
  });
});

describe('8: limits become exit 2 naming the file, not internal errors', () => {
  it('int64 dims and opsets beyond 2^53, a 5000-node cycle, 28 nested If levels, 200 nested messages', async () => {
    const d = sub('limits'),
      c = H.internalLimits(d);
    badInput(await cliIn(['inspect', c.bigDim]), c.bigDim, /2\^53|safe integer/);
    badInput(await cliIn(['inspect', c.bigOpset]), c.bigOpset, /2\^53|safe integer|opset/);
    badInput(await cliIn(['inspect', c.cycle]), c.cycle, /cycle through nodes 'r\d+'.* and \d+ more/);
    badInput(await cliIn(['inspect', c.nesting]), c.nesting, /nest deeper/);
    badInput(await cliIn(['inspect', c.deepProto]), c.deepProto, /not a valid ONNX protobuf/);
  });
  it('absurd --shape dims, a null JSON input, a 200 000-row CSV, a huge label', async () => {
    const d = sub('limits2'),
      { model } = H.withExternalData(d);
    badInput(await cliIn(['run', model, '--random', '--shape', 'x=100000,100000,100000']), 'x=', /dims|elements/);
    writeFileSync(join(d, 'null.json'), 'null');
    badInput(await cliIn(['run', model, '--inputs', join(d, 'null.json')]), 'null.json', /expected an object/);
    const rows = Array.from({ length: 200_000 }, (_, i) => `${i % 7},${(i * 3) % 5},${i % 2}`).join('\n');
    writeFileSync(join(d, 'big.csv'), rows);
    writeFileSync(join(d, 'label.csv'), '1,2,0\n3,4,1e300\n');
    badInput(await cliIn(['train-check', '--data', join(d, 'label.csv'), '--epochs', '1']), 'label.csv', /label/);
    const { readCsv } = await import('../runtime/train/data.js');
    expect(readCsv(join(d, 'big.csv')).classes).toBe(2);
  });
});

describe('10: semantic garbage is refused, not run silently', () => {
  it('two writers of one value, an unnamed input: exit 2 at load', async () => {
    const d = sub('garbage'),
      g = H.semanticGarbage(d);
    badInput(await cliIn(['inspect', g.twoWriters]), g.twoWriters, /written by node/);
    badInput(await cliIn(['inspect', g.emptyInput]), g.emptyInput, /without a name/);
  });
  it('MatMul with incompatible shapes, Softmax axis 1e12, If without branches: exit 2 when run or verified', async () => {
    const d = sub('garbage2'),
      g = H.semanticGarbage(d);
    for (const f of [g.matmulShapes, g.softmaxAxis, g.ifNoBranches]) {
      badInput(await cliIn(['run', f, '--random']), f);
      badInput(await cliIn([f, '-o', `${f}.out.onnx`]), f);
      expect(existsSync(`${f}.out.onnx`)).toBe(false);
    }
  });
  it('Resize asked for billions of elements, or given float sizes: exit 2 when run or verified, no hang', async () => {
    const d = sub('resize');
    const model = (name: string, sizesType: number) => {
      const b = new ModelBuilder({ opset: 19 });
      const x = b.input('x', DataType.FLOAT, [1, 1, 2, 2]);
      const sizes =
        sizesType === DataType.INT64
          ? b.init('sizes', DataType.INT64, [4], BigInt64Array.from([1n, 1n, 60000n, 60000n]))
          : b.input('sizes', sizesType, [4]);
      const [y] = b.node('Resize', [x, '', '', sizes], { mode: 'linear' });
      b.output(y, DataType.FLOAT);
      const f = join(d, name);
      saveModel(b.build(), f);
      return f;
    };
    const huge = model('huge.onnx', DataType.INT64),
      half = model('half.onnx', DataType.FLOAT16);
    badInput(await cliIn(['run', huge, '--random']), huge, /exceeds the memory limit/);
    badInput(await cliIn(['run', half, '--random']), half, /'sizes' is FLOAT16; it must be int64/);
    badInput(await cliIn([half, '-o', `${half}.out.onnx`]), half);
    expect(existsSync(`${half}.out.onnx`)).toBe(false);
  });
  it('pooling windows and space/depth blocks that do not fit their input: exit 2 naming the attribute, no crash', async () => {
    const d = sub('windows');
    const cases: [string, string, Record<string, unknown>, RegExp][] = [
      ['k1e12.onnx', 'MaxPool', { kernel_shape: [1e12] }, /kernel_shape has 1 entries, not 2/],
      [
        'padbig.onnx',
        'AveragePool',
        { kernel_shape: [2, 2], pads: [3, 0, 0, 0] },
        /must each be smaller than the kernel/,
      ],
      ['stride0.onnx', 'MaxPool', { kernel_shape: [2, 2], strides: [0, 1] }, /strides holds 0/],
      ['huge.onnx', 'MaxPool', { kernel_shape: [40, 2] }, /larger than the padded input/],
      // Before: outputs with fractional dims ([1, 0.25, 16, 16]) instead of an error.
      ['d2s.onnx', 'DepthToSpace', { blocksize: 2 }, /blocksize 2 must be a whole number ≥ 1 dividing 1/],
      ['s2d.onnx', 'SpaceToDepth', { blocksize: 3 }, /blocksize 3 must be a whole number ≥ 1 dividing 8 and 8/],
    ];
    for (const [name, op, attrs, why] of cases) {
      const b = new ModelBuilder({ opset: 19 });
      const [y] = b.node(op, [b.input('x', DataType.FLOAT, [1, 1, 8, 8])], attrs as never);
      b.output(y, DataType.FLOAT);
      const f = join(d, name);
      saveModel(b.build(), f);
      badInput(await cliIn(['run', f, '--random']), f, why);
    }
    // A window far larger than its input (SAME padding makes it legal) visits only the taps inside the input:
    // it ran 10¹² taps per output before.
    const b = new ModelBuilder({ opset: 19 });
    const [y] = b.node('AveragePool', [b.input('x', DataType.FLOAT, [1, 1, 8, 8])], {
      kernel_shape: [1e6, 1e6],
      auto_pad: 'SAME_UPPER',
      count_include_pad: 1,
    });
    b.output(y, DataType.FLOAT);
    const f = join(d, 'same-huge.onnx');
    saveModel(b.build(), f);
    const t0 = performance.now(),
      r = await cliIn(['run', f, '--random']);
    expect(r.code, r.stderr).toBe(0);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

describe('the real binary', () => {
  it('a hostile model through the real process prints one line', () => {
    const d = sub('binary'),
      { twoWriters } = H.semanticGarbage(d);
    badInput(cli(['inspect', twoWriters]), twoWriters, /written by node/);
  });
});
