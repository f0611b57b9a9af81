import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { nodeTestsDir, nodeTestNames } from './helpers/nodetests.js';
import { decodeModelProto, encodeModelProto, T, UNKNOWN } from '../src/onnx/proto/proto.js';
import { loadModel, encodeModel } from '../src/onnx/io.js';

describe('lossless ONNX I/O on the 1802 shared node tests (both sets)', () => {
  const names = nodeTestNames();
  it('has all 1802 models', () => expect(names.length).toBe(1802));

  it('decode → encode is byte-identical for every model.onnx', () => {
    const bad = names.filter((n) => {
      const b = readFileSync(join(nodeTestsDir(), n, 'model.onnx'));
      return Buffer.compare(Buffer.from(encodeModelProto(decodeModelProto(b))), b) !== 0;
    });
    expect(bad).toEqual([]);
  });

  it('bytes → IR → bytes is byte-identical for every model.onnx', () => {
    const bad = names.filter((n) => {
      const p = join(nodeTestsDir(), n, 'model.onnx');
      return Buffer.compare(Buffer.from(encodeModel(loadModel(p))), readFileSync(p)) !== 0;
    });
    expect(bad).toEqual([]);
  });

  it('every TensorProto / SequenceProto / OptionalProto .pb file round-trips', () => {
    let n = 0;
    const bad: string[] = [];
    for (const name of names) {
      const dir = join(nodeTestsDir(), name, 'test_data_set_0');
      for (const f of readdirSync(dir)) {
        const b = readFileSync(join(dir, f));
        n++;
        // A .pb is one of three containers; the one whose re-encoding matches is the right reading.
        const ok = [T.Tensor, T.Sequence, T.Optional].some((ty) => {
          try {
            return Buffer.compare(Buffer.from(ty.encode(ty.decode(b)).finish()), b) === 0;
          } catch {
            return false;
          }
        });
        if (!ok) bad.push(`${name}/${f}`);
      }
    }
    expect(n).toBeGreaterThan(2000);
    expect(bad).toEqual([]);
  });

  it('keeps fields the schema does not know (a future ONNX field) through decode → encode', () => {
    const b = readFileSync(join(nodeTestsDir(), 'test_abs', 'model.onnx'));
    // Append field 999 (varint) to ModelProto and field 77 (string) inside the graph's node.
    const mp = decodeModelProto(b);
    const extra = Buffer.from([0xb8, 0x3e, 0x2a]); // tag (999<<3|0) = 7992 → varint b8 3e, value 42
    const withUnknown = Buffer.concat([b, extra]);
    const dec = decodeModelProto(withUnknown);
    expect((dec as Record<string, unknown>)[UNKNOWN]).toBeDefined();
    expect(Buffer.compare(Buffer.from(encodeModelProto(dec)), withUnknown)).toBe(0);
    expect(mp.graph?.node?.length).toBe(1);
  });
});
