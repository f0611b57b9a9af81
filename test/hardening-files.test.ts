/**
 * Every file a run reads, not only the model: config files checked against one schema and honoured, outputs that
 * never overwrite anything the run reads (config, input sets, data), numeric flags refused when they are not
 * numbers, and the repair resolving external data in the model's folder whatever the working directory.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import {
  mkdtempSync,
  writeFileSync,
  readFileSync,
  mkdirSync,
  cpSync,
  statSync,
  symlinkSync,
  readdirSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { deflateRawSync } from 'node:zlib';
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

beforeAll(() => {
  d = mkdtempSync(join(tmpdir(), 'amp-files-'));
});

describe('--config: one schema, honoured where the CLI says nothing', () => {
  it('keepFp32 in the file keeps that node fp32 (no CLI default overrides it)', async () => {
    writeFileSync(join(d, 'keep.json'), JSON.stringify({ keepFp32: ['fc0'] }));
    const r = await cliIn([mlp, '-o', join(d, 'k.onnx'), '--config', join(d, 'keep.json'), '--json', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).keptFp32['kept fp32 by name']).toBe(1);
  });
  it('a value of the wrong type or an unknown runtime is one line, exit 2', async () => {
    for (const [name, body, what] of [
      ['rt.json', { runtime: 'nonsense' }, /runtime must be one of/],
      ['clamp.json', { clamp: 'no' }, /'clamp' must be true or false/],
      ['num.json', { maxInit: 'big' }, /'maxInit' must be a number/],
      ['key.json', { keepIOTypes: true }, /unknown config key 'keepIOTypes'/],
    ] as const) {
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
    badInput(
      await cliIn([mlp, '-o', join(d, 'b.onnx'), '--inputs', sets, '--emit-ir', pb, '--force']),
      'input_0.pb',
      /input/,
    );
    expect(readFileSync(pb).equals(before)).toBe(true);
    const json = join(d, 'in.json');
    writeFileSync(json, JSON.stringify({ x: { dims: [1, 64], data: new Array(64).fill(0.5) } }));
    badInput(await cliIn(['diff', mlp, mlp, '--inputs', json, '--md', json, '--force']), json, /input/);
  });
});

describe('numeric flags', () => {
  it('train-check refuses --epochs abc, --lr NaN, --loss-multiplier -Infinity (they used to train to NaN and exit 0)', async () => {
    for (const [flag, v] of [
      ['--epochs', 'abc'],
      ['--lr', 'NaN'],
      ['--loss-multiplier', '-Infinity'],
      ['--limit', '1.5'],
    ]) {
      const r = await cliIn(['train-check', '--data', 'digits', flag, v]);
      expect(r.code, `${flag} ${v}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(flag.replace(/-/g, '\\-')));
    }
  });
});

describe("external data stays in the model's folder", () => {
  it('the repair reloads no file from the working directory: a model with external data converts, verified, from elsewhere', async () => {
    const md = join(d, 'model');
    mkdirSync(md);
    expect((await cliIn(['repack', mlp, '-o', join(md, 'mlp.onnx'), '--external-data', '--threshold', '0'])).code).toBe(
      0,
    );
    // A same-named decoy in the working directory must not be read instead.
    const cwd = join(d, 'elsewhere');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'mlp.onnx.data'), Buffer.alloc(64));
    const r = cli(
      [join(md, 'mlp.onnx'), '-o', join(d, 'ext.fp16.onnx'), '--tolerance', 'atol=1e-5,rtol=0,scale=0', '--force'],
      { cwd },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^verified/m);
    expect(r.stdout).toMatch(/kept fp32 by the repair|kept fp32 at the model's edge/);
  }, 60_000);
});

describe('hostile files around the model', () => {
  /** A zip archive (.npz) of members `name → deflated or stored bytes`, offsets as given. */
  const zip = (members: { name: string; data: Buffer; deflate?: boolean }[]): Buffer => {
    const locals: Buffer[] = [],
      centrals: Buffer[] = [];
    let off = 0;
    for (const m of members) {
      const body = m.deflate ? deflateRawSync(m.data) : m.data;
      const name = Buffer.from(m.name);
      const lh = Buffer.alloc(30);
      lh.writeUInt32LE(0x04034b50, 0);
      lh.writeUInt16LE(m.deflate ? 8 : 0, 8);
      lh.writeUInt32LE(body.length, 18);
      lh.writeUInt32LE(m.data.length, 22);
      lh.writeUInt16LE(name.length, 26);
      const ch = Buffer.alloc(46);
      ch.writeUInt32LE(0x02014b50, 0);
      ch.writeUInt16LE(m.deflate ? 8 : 0, 10);
      ch.writeUInt32LE(body.length, 20);
      ch.writeUInt32LE(m.data.length, 24);
      ch.writeUInt16LE(name.length, 28);
      ch.writeUInt32LE(off, 42);
      locals.push(lh, name, body);
      centrals.push(ch, name);
      off += 30 + name.length + body.length;
    }
    const cd = Buffer.concat(centrals),
      end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(members.length, 8);
    end.writeUInt16LE(members.length, 10);
    end.writeUInt32LE(cd.length, 12);
    end.writeUInt32LE(off, 16);
    return Buffer.concat([...locals, cd, end]);
  };
  const npy = (shape: string, data: Buffer): Buffer => {
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape}), }`.padEnd(118) + '\n';
    const h = Buffer.alloc(10);
    h.write('\x93NUMPY', 0, 'latin1');
    h[6] = 1;
    h.writeUInt16LE(header.length, 8);
    return Buffer.concat([h, Buffer.from(header, 'latin1'), data]);
  };

  it('FIFOs and devices as --config, --inputs or --data: refused at once, one line, exit 2 (they used to hang)', async () => {
    const fifo = join(d, 'pipe.json');
    execFileSync('mkfifo', [fifo]);
    for (const args of [
      [mlp, '--config', fifo],
      [mlp, '--inputs', fifo],
      [mlp, '--inputs', '/dev/zero'],
      [mlp, '--config', '/dev/zero'],
    ]) {
      badInput(await cliIn([...args, '-o', join(d, 'f.onnx'), '--force']), args[2], /not a regular file/);
    }
    badInput(await cliIn(['train-check', '--data', '/dev/zero']), '/dev/zero', /not a regular file/);
  });

  it('.npz: a member that inflates past --max-memory, bad deflate data, a member no input has, offsets past the file', async () => {
    const bomb = join(d, 'bomb.npz');
    writeFileSync(bomb, zip([{ name: 'x.npy', data: npy('1, 64', Buffer.alloc(64 << 20)), deflate: true }]));
    expect(statSync(bomb).size).toBeLessThan(1 << 20);
    badInput(
      await cliIn(['--max-memory', '16', mlp, '-o', join(d, 'n.onnx'), '--inputs', bomb, '--force']),
      'bomb.npz',
      /inflate to more than/,
    );
    const bad = join(d, 'bad.npz');
    const good = zip([{ name: 'x.npy', data: npy('1, 64', Buffer.alloc(256)), deflate: true }]);
    good[35] = 0xff; // the deflate stream's first block: type 3, which does not exist
    writeFileSync(bad, good);
    badInput(await cliIn([mlp, '-o', join(d, 'n.onnx'), '--inputs', bad, '--force']), 'bad.npz', /bad deflate data/);
    const other = join(d, 'other.npz');
    writeFileSync(other, zip([{ name: '__proto__.npy', data: npy('1, 64', Buffer.alloc(256)) }]));
    badInput(
      await cliIn([mlp, '-o', join(d, 'n.onnx'), '--inputs', other, '--force']),
      'other.npz',
      /'__proto__.npy' is not an input/,
    );
    const cut = join(d, 'cut.npz');
    writeFileSync(cut, zip([{ name: 'x.npy', data: npy('1, 64', Buffer.alloc(256)) }]).subarray(0, 200));
    badInput(await cliIn([mlp, '-o', join(d, 'n.onnx'), '--inputs', cut, '--force']), 'cut.npz', /npz/);
  });

  it('.npy with shape (-1,) or a short version-2 header, JSON dims [-2, -2] or [1.5, 2]: one line, exit 2, never "internal error"', async () => {
    const neg = join(d, 'neg.npy');
    writeFileSync(neg, npy('-1,', Buffer.alloc(256)));
    badInput(
      await cliIn([mlp, '-o', join(d, 'n.onnx'), '--inputs', neg, '--force']),
      'neg.npy',
      /dimension that is not a whole number/,
    );
    const short = join(d, 'short.npy');
    writeFileSync(short, Buffer.from('\x93NUMPY\x02\x00\x10\x00\x00', 'latin1'));
    badInput(await cliIn([mlp, '-o', join(d, 'n.onnx'), '--inputs', short, '--force']), 'short.npy', /header is short/);
    for (const dims of [
      [-2, -2],
      [1.5, 2],
    ]) {
      const f = join(d, `dims${dims.join('_')}.json`);
      writeFileSync(f, JSON.stringify({ x: { dims, data: [1, 2, 3, 4] } }));
      badInput(await cliIn(['run', mlp, '--inputs', f]), f, /dims .* must be whole numbers/);
    }
  });

  it('--random asks for at most 1000 sets', async () => {
    const r = await cliIn([mlp, '-o', join(d, 'r.onnx'), '--random', '100000000', '--force']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--random must be a whole number from 1 to 1000/);
  });
});

describe('model text in paste-ready commands', () => {
  it("the reports' --keep-fp32 command quotes names so that bash reads them back exactly and a terminal shows no control character", async () => {
    const { shellQuote } = await import('../src/core/text.js');
    for (const name of ['plain', "it's", 'a\u202eb\x1b[2J\rc', "back\\slash'q\u2028", '$(touch pwned)']) {
      const q = shellQuote(name);
      expect(q).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2028\u2029]/);
      const back = execFileSync('bash', ['-c', `printf %s ${q}`], { encoding: 'utf8', cwd: d });
      expect(back).toBe(name);
    }
  });
});

describe('writes and data that used to slip through', () => {
  it('repack --location sub/w.bin refuses a sub/ that is a symbolic link (it led outside the output folder)', async () => {
    const out = join(d, 'repack-out'),
      outside = join(d, 'outside');
    mkdirSync(out);
    mkdirSync(outside);
    symlinkSync(outside, join(out, 'sub'));
    badInput(
      await cliIn([
        'repack',
        mlp,
        '-o',
        join(out, 'm.onnx'),
        '--external-data',
        '--threshold',
        '0',
        '--location',
        'sub/w.bin',
      ]),
      'm.onnx',
      /'sub' is a symbolic link/,
    );
    expect(readdirSync(outside)).toEqual([]);
  });
  it('a CSV of 2 rows is refused (it reported NaN accuracy)', async () => {
    const csv = join(d, 'two.csv');
    writeFileSync(csv, '1,2,0\n3,4,1\n');
    badInput(await cliIn(['train-check', '--data', csv]), 'two.csv', /too few to split/);
  });
});

describe('node counts the machine cannot hold', () => {
  it('a model with more nodes than --max-memory holds (2.5 KB a node) is refused in one line right after decoding', async () => {
    const { encodeModelProto } = await import('../src/onnx/proto/proto.js');
    const n = 200_000;
    const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } });
    const node = Array.from({ length: n }, (_, i) => ({
      opType: 'Relu',
      input: [i ? `v${i - 1}` : 'x'],
      output: [i === n - 1 ? 'y' : `v${i}`],
    }));
    const file = join(d, 'many.onnx');
    writeFileSync(
      file,
      encodeModelProto({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }],
        graph: { name: 'g', node, input: [vi('x')], output: [vi('y')] },
      } as never),
    );
    badInput(
      await cliIn(['--max-memory', '256', 'inspect', file]),
      'many.onnx',
      /has 200000 nodes, more than the 104857 this run's memory holds/,
    );
  });
});

describe('more of the classes around the model', () => {
  it('a .csv.gz that inflates past --max-memory is refused in one line (it used to abort the process)', async () => {
    const { gzipSync } = await import('node:zlib');
    const f = join(d, 'big.csv.gz');
    writeFileSync(f, gzipSync(Buffer.alloc(48 << 20, '1,2,0\n')));
    expect(statSync(f).size).toBeLessThan(1 << 20);
    badInput(await cliIn(['--max-memory', '16', 'train-check', '--data', f]), 'big.csv.gz', /inflates to more than/);
  });
  it('an inputs directory holding a FIFO, or a symbolic-link loop, is refused in one line', async () => {
    const dir = join(d, 'sets-fifo');
    mkdirSync(dir);
    execFileSync('mkfifo', [join(dir, 'input_0.pb')]);
    badInput(
      await cliIn([mlp, '-o', join(d, 'q.onnx'), '--inputs', dir, '--force']),
      'input_0.pb',
      /not a regular file/,
    );
    const loop = join(d, 'sets-loop');
    mkdirSync(loop);
    symlinkSync(join(loop, 'input_0.pb'), join(loop, 'input_0.pb'));
    badInput(
      await cliIn([mlp, '-o', join(d, 'q.onnx'), '--inputs', loop, '--force']),
      'input_0.pb',
      /symbolic link loop/,
    );
  });
  it('--runtime __proto__ and a config runtime of "constructor" are refused (no Object.prototype member is a runtime)', async () => {
    const r = await cliIn([mlp, '-o', join(d, 'p.onnx'), '--runtime', '__proto__', '--force']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/runtime must be one of/);
    writeFileSync(join(d, 'ctor.json'), JSON.stringify({ runtime: 'constructor' }));
    badInput(
      await cliIn([mlp, '-o', join(d, 'p.onnx'), '--config', join(d, 'ctor.json'), '--force']),
      'ctor.json',
      /runtime must be one of/,
    );
  });
  it('train-check --report over its own CSV is refused, the CSV intact', async () => {
    const csv = join(d, 'train.csv');
    const rows = Array.from({ length: 40 }, (_, i) => `${i % 7},${(i * 3) % 5},${i % 2}`).join('\n');
    writeFileSync(csv, rows);
    badInput(
      await cliIn(['train-check', '--data', csv, '--epochs', '1', '--report', csv, '--force']),
      'train.csv',
      /input/,
    );
    expect(readFileSync(csv, 'utf8')).toBe(rows);
  });
  it('op types named __proto__ or constructor are counted like any other', async () => {
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    const { convertSync } = await import('../src/tools/convert.js');
    const b = new ModelBuilder({ opset: 17, extraOpsets: { 'my.ops': 1 } });
    const x = b.input('x', 1, [2]);
    const [a] = b.node('__proto__', [x], {}, { domain: 'my.ops' });
    b.node('constructor', [a], {}, { domain: 'my.ops', outputs: ['y'] });
    b.output('y', 1, [2]);
    const { summary } = convertSync(b.build());
    expect(summary.nodes.byOp.__proto__).toEqual({ low: 0, high: 1 });
    expect(summary.nodes.byOp.constructor).toEqual({ low: 0, high: 1 });
    expect(
      Object.keys(summary.nodes.byOp)
        .filter((k) => k !== 'Cast')
        .sort(),
    ).toEqual(['__proto__', 'constructor']);
  });
});

describe('a closed stdout pipe', () => {
  it('`amp-convert inspect --json … | head -c 1` ends quietly: no stack trace, no internal error', async () => {
    const { encodeModelProto } = await import('../src/onnx/proto/proto.js');
    const n = 6000;
    // 6000 distinct op types: the one JSON line is far larger than a pipe's buffer, so the writer meets EPIPE.
    const node = Array.from({ length: n }, (_, i) => ({
      opType: `Op${i}`,
      domain: 'my.ops',
      input: [i ? `v${i - 1}` : 'x'],
      output: [i === n - 1 ? 'y' : `v${i}`],
    }));
    const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } });
    const file = join(d, 'wide.onnx');
    writeFileSync(
      file,
      encodeModelProto({
        irVersion: 8,
        opsetImport: [
          { domain: '', version: 17 },
          { domain: 'my.ops', version: 1 },
        ],
        graph: { name: 'g', node, input: [vi('x')], output: [vi('y')] },
      } as never),
    );
    const { repoRoot } = await import('./helpers/nodetests.js');
    const tsx = join(repoRoot, 'node_modules/.bin/tsx'),
      main = join(repoRoot, 'src/cli/main.ts');
    const out = execFileSync(
      'bash',
      [
        '-c',
        `'${tsx}' '${main}' inspect --json '${file}' 2>'${d}/epipe.err' | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`,
      ],
      { encoding: 'utf8' },
    );
    expect(['0', '141']).toContain(out.trim());
    expect(readFileSync(join(d, 'epipe.err'), 'utf8')).not.toMatch(/EPIPE|internal error|\n\s+at /);
  }, 60_000);
});

describe("onnxruntime's logger", () => {
  it('--backend ort on a model whose names carry escape sequences prints none of them (its native logger is held to fatal)', async () => {
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    const { encodeModel } = await import('../src/onnx/io.js');
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 1, [4]);
    const [u] = b.node('Relu', [x], {}, { name: '\x1b]0;pwned\x07\x1b[2J', outputs: ['\x1b[31mred'] });
    b.init('unused\x1b[2Jinit', 1, [1], new Float32Array(1)); // onnxruntime warns about unused initializers, by name
    b.node('Neg', [u], {}, { outputs: ['y'] });
    b.output('y', 1, [4]);
    const file = join(d, 'esc.onnx');
    writeFileSync(file, encodeModel(b.build()));
    const r = cli(['run', file, '--random', '--backend', 'ort']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/\x1b/);
  }, 60_000);
});
