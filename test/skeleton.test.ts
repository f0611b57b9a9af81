import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ModelBuilder, GraphBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { loadModel, encodeModel, modelFromBytes, saveModel } from '../src/onnx/io.js';
import { convertSync } from '../src/tools/convert.js';
import { runMixedPrecision, resolveOptions } from '../passes/index.js';
import { readSkeleton } from '../src/onnx/proto/skeleton.js';
import { decodeModelProto, encodeModelProto } from '../src/onnx/proto/proto.js';
import { AmpError } from '../src/core/errors.js';
import { cloneModel } from '../src/onnx/io.js';

const dir = mkdtempSync(join(tmpdir(), 'amp-skeleton-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A model with one large (256 KiB) and one small initializer. */
function model(): Uint8Array {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', DataType.FLOAT, [1, 256]);
  const w = Float32Array.from({ length: 256 * 256 }, (_, i) => Math.sin(i));
  const [y] = b.node('MatMul', [x, b.init('w', DataType.FLOAT, [256, 256], w)]);
  const [z] = b.node('Add', [y, b.init('bias', DataType.FLOAT, [256], new Float32Array(256).fill(0.5))]);
  b.output(z, DataType.FLOAT, [1, 256]);
  return encodeModel(b.build());
}
/** The one line the CLI prints for the AmpError `f` throws. */
const oneLine = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof AmpError) return e.oneLine();
    throw e;
  }
  return 'no error';
};
const write = (name: string, bytes: Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

describe('loading a model without reading its weights (src/onnx/proto/skeleton.ts)', () => {
  const bytes = model();
  const path = write('m.onnx', bytes);

  it('leaves the large payload out, at its byte range in the file, and keeps the small one', () => {
    const s = readSkeleton(path, 64 << 10)!;
    expect([...s.payloads.keys()]).toEqual([0]);
    const { offset, length } = s.payloads.get(0)!;
    expect(length).toBe(256 * 256 * 4);
    expect(
      Buffer.from(bytes.subarray(offset, offset + length)).equals(
        Buffer.from(new Float32Array(Float32Array.from({ length: 256 * 256 }, (_, i) => Math.sin(i))).buffer),
      ),
    ).toBe(true);
    expect(s.bytes.byteLength).toBeLessThan(bytes.byteLength - length + 64);
    // The skeleton is the model without that payload: same structure when decoded.
    const full = decodeModelProto(bytes),
      skel = decodeModelProto(s.bytes);
    expect(skel.graph!.node).toEqual(full.graph!.node);
    expect(skel.graph!.initializer![1]).toEqual(full.graph!.initializer![1]);
    expect(skel.graph!.initializer![0].rawData?.length ?? 0).toBe(0);
  });

  it('loads to the same model, the payload read from the file when asked, re-encoded byte for byte', () => {
    const m = loadModel(path);
    const w = m.graph.initializers.get('w')!;
    expect(w.backing).toMatchObject({ length: 256 * 256 * 4 });
    expect(w.loaded).toBe(false);
    expect(Buffer.from(w.raw()).equals(Buffer.from(modelFromBytes(bytes).graph.initializers.get('w')!.raw()))).toBe(
      true,
    );
    expect(Buffer.from(encodeModel(loadModel(path))).equals(Buffer.from(bytes))).toBe(true);
  });

  it('a payload whose length disagrees with its dims is refused, naming the file', () => {
    const mp = decodeModelProto(bytes);
    mp.graph!.initializer![0].dims = [256, 255];
    const p = write('bad-dims.onnx', encodeModelProto(mp));
    expect(readSkeleton(p, 64 << 10)?.payloads.size).toBe(1);
    expect(oneLine(() => loadModel(p))).toMatch(
      /bad-dims.onnx: tensor 'w' has 262144 bytes of raw_data for 256×255 FLOAT/,
    );
  });

  it('a truncated file falls back to the full read, whose decoder reports it', () => {
    const p = write('cut.onnx', bytes.subarray(0, bytes.byteLength - 100_000));
    expect(readSkeleton(p, 64 << 10)).toBeUndefined();
    expect(oneLine(() => loadModel(p))).toMatch(/cut.onnx: not a valid ONNX protobuf/);
  });

  it('a tensor with raw_data twice is left to the decoder (the last one wins, as in protobuf)', () => {
    const len = 256 * 256 * 4;
    const at = Buffer.from(bytes).indexOf(
      Buffer.from(decodeModelProto(bytes).graph!.initializer![0].rawData!.subarray(0, 64)),
    );
    expect(at).toBeGreaterThan(0);
    // A second raw_data field (tag 0x4a, length 0x40000 as a varint) of zeros, right after the first.
    const twice = insertInFirstInitializer(
      Buffer.from(bytes),
      at + len,
      Buffer.concat([Buffer.from([0x4a, 0x80, 0x80, 0x10]), Buffer.alloc(len)]),
    );
    const p = write('twice.onnx', twice);
    expect(readSkeleton(p, 64 << 10)).toBeUndefined();
    expect(new Float32Array(loadModel(p).graph.initializers.get('w')!.raw().slice().buffer).every((v) => v === 0)).toBe(
      true,
    );
  });

  it('converts to the same bytes and counts whether weights stream from the file (wasm scan) or sit in memory (JS)', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', DataType.FLOAT, [1, 512]);
    // Values fp16 rounds to zero and subnormals among ordinary ones: counted on both paths.
    const w = Float32Array.from({ length: 512 * 512 }, (_, i) =>
      i % 1000 === 7 ? 1e-8 : i % 997 === 5 ? 3e-6 : Math.cos(i) * 3,
    );
    const [y] = b.node('MatMul', [x, b.init('w', DataType.FLOAT, [512, 512], w)]);
    b.output(y, DataType.FLOAT, [1, 512]);
    const p = write('conv.onnx', encodeModel(b.build()));
    const fromFile = convertSync(p);
    expect(fromFile.model.graph.initializers.get('w')!.derived?.stream).toBeDefined();
    const inMemory = modelFromBytes(readFileSync(p));
    const js = runMixedPrecision(inMemory, resolveOptions({}));
    expect(fromFile.summary.initializers).toEqual(js.initializers);
    expect(js.initializers.flushedValues).toBe(Math.ceil((512 * 512) / 1000));
    expect(Buffer.from(encodeModel(fromFile.model)).equals(Buffer.from(encodeModel(inMemory)))).toBe(true);
    const out = join(dir, 'conv.fp16.onnx');
    saveModel(fromFile.model, out);
    expect(readFileSync(out).equals(Buffer.from(encodeModel(inMemory)))).toBe(true);
  });

  it('a copy of a loaded model shares the payloads left in the file (lowBranchOutputs converts copies to find If outputs)', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', DataType.FLOAT, [1, 256]);
    const cond = b.input('cond', DataType.BOOL, []);
    const [y] = b.node('MatMul', [
      x,
      b.init(
        'w',
        DataType.FLOAT,
        [256, 256],
        Float32Array.from({ length: 65536 }, (_, i) => Math.cos(i)),
      ),
    ]);
    const t = new GraphBuilder('then', b.graph),
      e = new GraphBuilder('else', b.graph);
    t.output(t.node('Relu', [y])[0], DataType.FLOAT, [1, 256]);
    e.output(e.node('Tanh', [y])[0], DataType.FLOAT, [1, 256]);
    b.node('If', [cond], { then_branch: t.graph, else_branch: e.graph }, { outputs: ['z'] });
    b.output('z', DataType.FLOAT, [1, 256]);
    const p = write('if.onnx', encodeModel(b.build()));
    const m = loadModel(p),
      w = m.graph.initializers.get('w')!;
    const copy = cloneModel(m),
      cw = copy.graph.initializers.get('w')!;
    expect(cw).not.toBe(w);
    expect(cw.backing).toBe(w.backing);
    expect(cw.loaded).toBe(false);
    expect(Buffer.from(encodeModel(copy)).equals(readFileSync(p))).toBe(true);
    // The If's output goes fp16 (found by converting such a copy); the weight is converted while written.
    const r = convertSync(m);
    expect(r.model.graph.values.get('z')?.type?.elemType).toBe(DataType.FLOAT16);
    expect(r.model.graph.initializers.get('w')!.derived).toBeDefined();
  });

  it('the example model and every fixture load the same whichever way they are read', () => {
    for (const f of ['mlp', 'silero_vad_v5', 'transformer_block']) {
      const p = join('fixtures/models', `${f}.onnx`);
      const viaFile = Buffer.from(encodeModel(loadModel(p)));
      expect(viaFile.equals(readFileSync(p))).toBe(true);
    }
  });
});

/** Inserts `extra` at `pos`, inside the first initializer, growing the lengths of it and of the graph. */
function insertInFirstInitializer(buf: Buffer, pos: number, extra: Buffer): Buffer {
  const varint = (p: number): [number, number] => {
    let v = 0,
      m = 1;
    for (let i = 0; ; i++) {
      v += (buf[p + i] & 0x7f) * m;
      if (!(buf[p + i] & 0x80)) return [v, i + 1];
      m *= 128;
    }
  };
  const enc = (v: number): Buffer => {
    const o: number[] = [];
    while (v >= 128) {
      o.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    o.push(v);
    return Buffer.from(o);
  };
  /** The field `id` of the message starting at `from`: where its length varint is, the length, and its body. */
  const find = (from: number, id: number): { lenAt: number; len: number; ln: number; body: number } => {
    for (let p = from; ;) {
      const [tag, tn] = varint(p);
      if (tag % 8 === 0) {
        p += tn + varint(p + tn)[1];
        continue;
      }
      const [len, ln] = varint(p + tn);
      if (tag >>> 3 === id) return { lenAt: p + tn, len, ln, body: p + tn + ln };
      p += tn + ln + len;
    }
  };
  const g = find(0, 7),
    t = find(g.body, 5);
  return Buffer.concat([
    buf.subarray(0, g.lenAt),
    enc(g.len + extra.byteLength),
    buf.subarray(g.body, t.lenAt),
    enc(t.len + extra.byteLength),
    buf.subarray(t.body, pos),
    extra,
    buf.subarray(pos),
  ]);
}
