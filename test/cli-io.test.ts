import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  rmSync,
  mkdtempSync,
  writeFileSync,
  readFileSync,
  existsSync,
  readdirSync,
  mkdirSync,
  symlinkSync,
  copyFileSync,
  truncateSync,
} from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as ort from 'onnxruntime-node';
import { cli } from './helpers/cli.js';
import { nodeTestsDir } from './helpers/nodetests.js';
import { ModelBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { encodeModel, loadModel, saveModel, modelFromBytes } from '../src/onnx/io.js';
import { convertSync } from '../src/tools/convert.js';
import { decodeModelProto, encodeModelProto } from '../src/onnx/proto/proto.js';
import { Tensor } from '../src/ir/tensor.js';

/** A small MLP with real weights (big enough that some tensors pass the external threshold). */
function mlpBytes(): Uint8Array {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [1, 64]);
  const w1 = b.init(
    'w1',
    DataType.FLOAT,
    [64, 32],
    Float32Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i) / 8),
  );
  const b1 = b.init(
    'b1',
    DataType.FLOAT,
    [32],
    Float32Array.from({ length: 32 }, (_, i) => i / 100),
  );
  const w2 = b.init(
    'w2',
    DataType.FLOAT,
    [32, 10],
    Float32Array.from({ length: 320 }, (_, i) => Math.cos(i) / 4),
  );
  const [h] = b.node('MatMul', [x, w1]);
  const [ha] = b.node('Add', [h, b1]);
  const [r] = b.node('Relu', [ha]);
  b.node('MatMul', [r, w2], {}, { outputs: ['y'] });
  b.output('y', DataType.FLOAT, [1, 10]);
  return encodeModel(b.build());
}

let dir: string;
let model: string;
const out = (name: string) => join(dir, name);
/** Exactly one line on stderr, naming the file, no stack trace. */
function expectOneLineError(r: { code: number; stderr: string }, file: string, what: RegExp) {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(file);
  expect(lines[0]).toMatch(what);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}
const leftovers = () => readdirSync(dir).filter((f) => f.includes('.tmp-'));

afterAll(() => rmSync(dir, { recursive: true, force: true })); // the >2 GB case leaves gigabytes here
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'amp-io-'));
  model = out('mlp.onnx');
  writeFileSync(model, mlpBytes());
});

describe('bad input gets one line, exit 2, nothing left behind', () => {
  const cases: [string, () => string, RegExp][] = [
    ['missing file', () => out('nope.onnx'), /no such file/],
    ['directory', () => dir, /is a directory/],
    [
      'empty file',
      () => {
        writeFileSync(out('empty.onnx'), '');
        return out('empty.onnx');
      },
      /is empty/,
    ],
    [
      'truncated protobuf',
      () => {
        const b = readFileSync(model);
        writeFileSync(out('trunc.onnx'), b.subarray(0, Math.floor(b.length / 2)));
        return out('trunc.onnx');
      },
      /not a valid ONNX protobuf|not an ONNX model/,
    ],
    [
      'PNG file',
      () => {
        writeFileSync(out('img.onnx'), Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
        return out('img.onnx');
      },
      /not a valid ONNX protobuf|not an ONNX model/,
    ],
    [
      'JSON text',
      () => {
        writeFileSync(out('j.onnx'), '{"graph": {"node": []}}\n');
        return out('j.onnx');
      },
      /not a valid ONNX protobuf|not an ONNX model/,
    ],
  ];
  for (const [what, make, msg] of cases) {
    it(`${what}: inspect and repack`, () => {
      const f = make();
      expectOneLineError(cli(['inspect', f]), f, msg);
      const r = cli(['repack', f, '-o', out(`x-${what.replace(/ /g, '_')}.onnx`)]);
      expectOneLineError(r, f, msg);
      expect(existsSync(out(`x-${what.replace(/ /g, '_')}.onnx`))).toBe(false);
      expect(leftovers()).toEqual([]);
    });
  }

  it('bit-flipped protobufs never crash: a clean one-line error or a valid model', async () => {
    const b = readFileSync(model);
    const { main } = await import('../src/cli/main.js');
    let errors = 0,
      valid = 0;
    const errWrite = process.stderr.write.bind(process.stderr);
    const outWrite = process.stdout.write.bind(process.stdout);
    let captured = '';
    for (let pos = 0; pos < b.length; pos += Math.max(1, Math.floor(b.length / 97))) {
      const flipped = Buffer.from(b);
      flipped[pos] ^= 0xff;
      writeFileSync(out('flip.onnx'), flipped);
      captured = '';
      process.stderr.write = ((s: string) => {
        captured += s;
        return true;
      }) as typeof process.stderr.write;
      process.stdout.write = (() => true) as typeof process.stdout.write;
      let code: number;
      try {
        code = await main(['node', 'amp-convert', 'inspect', out('flip.onnx')]);
      } finally {
        process.stderr.write = errWrite;
        process.stdout.write = outWrite;
      }
      if (code === 0) valid++;
      else {
        errors++;
        expect(code).toBe(2);
        expect(captured.trim().split('\n')).toHaveLength(1);
        expect(captured).not.toMatch(/internal error/);
      }
    }
    expect(errors + valid).toBeGreaterThan(90);
    expect(errors).toBeGreaterThan(0);
  });

  it('external data missing, short, absolute, escaping or behind a symlink', () => {
    const ext = out('ext');
    mkdirSync(ext);
    const r = cli(['repack', model, '-o', join(ext, 'm.onnx'), '--external-data', '--threshold', '100']);
    expect(r.code).toBe(0);
    const extModel = join(ext, 'm.onnx');
    const data = join(ext, 'm.onnx.data');
    expect(existsSync(data)).toBe(true);
    // short
    const full = readFileSync(data);
    copyFileSync(data, `${data}.bak`);
    truncateSync(data, full.length - 10);
    expectOneLineError(
      cli(['repack', extModel, '-o', out('short.onnx'), '--inline']),
      'm.onnx',
      /'m.onnx.data' is short/,
    );
    expect(existsSync(out('short.onnx'))).toBe(false);
    // emptied
    writeFileSync(data, Buffer.alloc(0));
    expectOneLineError(
      cli(['repack', extModel, '-o', out('short2.onnx'), '--inline']),
      'm.onnx',
      /'m.onnx.data' is short/,
    );
    copyFileSync(`${data}.bak`, data);
    // location rewrites: absolute, escaping, symlink out of the directory
    const mp = decodeModelProto(readFileSync(extModel));
    const setLoc = (loc: string, name: string) => {
      const m = decodeModelProto(readFileSync(extModel));
      for (const t of m.graph!.initializer!)
        for (const e of t.externalData ?? []) if (e.key === 'location') e.value = loc;
      writeFileSync(join(ext, name), encodeModelProto(m));
      return join(ext, name);
    };
    expect(mp.graph!.initializer!.some((t) => t.dataLocation === 1)).toBe(true);
    expectOneLineError(cli(['inspect', setLoc(data, 'abs.onnx')]), 'abs.onnx', /absolute/);
    expectOneLineError(cli(['inspect', setLoc('../mlp.onnx', 'esc.onnx')]), 'esc.onnx', /escapes the model directory/);
    symlinkSync(model, join(ext, 'link.data'));
    expectOneLineError(cli(['inspect', setLoc('link.data', 'sym.onnx')]), 'sym.onnx', /link leading outside/);
    expectOneLineError(cli(['inspect', setLoc('gone.data', 'gone.onnx')]), 'gone.onnx', /'gone.data' is missing/);
    expect(leftovers()).toEqual([]);
  });
});

describe('repack', () => {
  it('is byte-identical when no option changes anything (a node test and our MLP)', () => {
    for (const src of [join(nodeTestsDir(), 'test_conv_with_strides_padding', 'model.onnx'), model]) {
      const dst = out(`same-${readdirSync(dir).length}.onnx`);
      expect(cli(['repack', src, '-o', dst]).code).toBe(0);
      expect(Buffer.compare(readFileSync(dst), readFileSync(src))).toBe(0);
    }
  });

  it('inline → external → inline gives the original bytes, and ORT runs the external model', async () => {
    const e = out('rt-ext.onnx');
    const r = cli(['repack', model, '-o', e, '--external-data', '--threshold', '200', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.externalTensors).toBe(2); // w1 (8 KiB) and w2 (1.25 KiB); b1 (128 B) stays inline
    expect(readFileSync(e).length).toBeLessThan(1000);
    const back = out('rt-back.onnx');
    expect(cli(['repack', e, '-o', back, '--inline']).code).toBe(0);
    expect(Buffer.compare(readFileSync(back), readFileSync(model))).toBe(0);
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 64 }, (_, i) => i / 64),
      [1, 64],
    );
    const a = await (await ort.InferenceSession.create(model)).run({ x });
    const c = await (await ort.InferenceSession.create(e)).run({ x });
    expect(Array.from(c.y.data as Float32Array)).toEqual(Array.from(a.y.data as Float32Array));
  });

  it('refuses to overwrite an existing output without --force, and never overwrites the input', () => {
    const dst = out('exists.onnx');
    writeFileSync(dst, 'keep me');
    expectOneLineError(cli(['repack', model, '-o', dst]), 'exists.onnx', /--force/);
    expect(readFileSync(dst, 'utf8')).toBe('keep me');
    expect(cli(['repack', model, '-o', dst, '--force']).code).toBe(0);
    const before = readFileSync(model);
    expectOneLineError(cli(['repack', model, '-o', model, '--force']), 'mlp.onnx', /overwrite the input/);
    expect(Buffer.compare(readFileSync(model), before)).toBe(0);
  });

  it('writes a model beyond 2 GB as external data instead of failing (sparse file, little RAM)', () => {
    // Three 800 MB tensors whose payloads live in a sparse file: no real disk or RAM is used for them.
    const big = out('big');
    mkdirSync(big);
    const b = new ModelBuilder({ opset: 17 });
    b.input('x', DataType.FLOAT, [1]);
    const n = 200 * 2 ** 20; // floats per tensor (800 MB)
    const m = b.build();
    const names = ['a', 'b', 'c'];
    for (const [i, name] of names.entries()) {
      const t = new Tensor(name, DataType.FLOAT, [n]);
      t.external = { location: 'w.data', path: join(big, 'w.data'), offset: i * n * 4, length: n * 4 };
      m.graph.initializers.set(name, t);
    }
    writeFileSync(join(big, 'w.data'), '');
    truncateSync(join(big, 'w.data'), 3 * n * 4);
    const rssBefore = process.memoryUsage().rss;
    const r = saveModel(m, join(big, 'out.onnx'), { inline: true });
    expect(r.forcedExternal).toBe(true);
    expect(r.externalTensors).toBe(3);
    expect(r.externalBytes).toBe(3 * n * 4);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 2 ** 20);
    const back = loadModel(join(big, 'out.onnx'));
    expect([...back.graph.initializers.values()].map((t) => t.external?.length)).toEqual([n * 4, n * 4, n * 4]);
  });
});

describe('unsorted graphs', () => {
  it('sorts nodes that arrive out of order, and names the nodes of a cycle', () => {
    const mp = decodeModelProto(readFileSync(model));
    mp.graph!.node = [...mp.graph!.node!].reverse();
    const bytes = encodeModelProto(mp);
    const m = modelFromBytes(bytes);
    expect(m.graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Add', 'Relu', 'MatMul']);
    // Untouched (repack), the stored order comes back byte for byte; converted, the nodes are written sorted.
    expect(Buffer.compare(Buffer.from(encodeModel(m)), Buffer.from(bytes))).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'amp-unsorted-'));
    writeFileSync(join(dir, 'u.onnx'), bytes);
    expect(cli(['repack', join(dir, 'u.onnx'), '-o', join(dir, 'r.onnx')]).code).toBe(0);
    expect(Buffer.compare(readFileSync(join(dir, 'r.onnx')), Buffer.from(bytes))).toBe(0);
    const conv = modelFromBytes(encodeModel(convertSync(modelFromBytes(bytes)).model));
    expect(conv.graph.storedOrder).toBeUndefined();
    // Make a cycle: the first MatMul reads the Relu output.
    const cyc = decodeModelProto(readFileSync(model));
    const relu = cyc.graph!.node!.find((n) => n.opType === 'Relu')!;
    relu.name = 'the_relu';
    cyc.graph!.node![0].input![0] = relu.output![0];
    cyc.graph!.node![0].name = 'the_matmul';
    expect(() => modelFromBytes(encodeModelProto(cyc), { file: 'cyc.onnx' })).toThrow(
      /cycle through nodes .*'the_matmul'.*'the_relu'/,
    );
  });
});
