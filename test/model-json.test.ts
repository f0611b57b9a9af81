/**
 * The JSON form of a model (src/onnx/proto/json.ts): ONNX → JSON → ONNX is byte-identical on every node test and
 * fixture, and it is the JSON Python's protobuf writes and reads (google.protobuf.json_format over onnx's
 * ModelProto, Debian python3-onnx), both ways. The CLI reads model.json and writes --emit-ir / repack -o x.json.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadModel, encodeModel, modelToJson, modelFromJson } from '../src/onnx/io.js';
import { nodeTestsDir, nodeTestNames, fixturePath } from './helpers/nodetests.js';
import { PYTHON } from './helpers/checker.js';
import { cliIn } from './helpers/cli.js';

const fixtures = () =>
  readdirSync(fixturePath('models'))
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => fixturePath('models', f));
const nodeModels = () => nodeTestNames().map((t) => join(nodeTestsDir(), t, 'model.onnx'));

describe('the JSON form of a model', () => {
  it('round-trips byte for byte: every node test and fixture', () => {
    const bad: string[] = [];
    for (const f of [...fixtures(), ...nodeModels()]) {
      const back = encodeModel(modelFromJson(modelToJson(loadModel(f)), { file: f }));
      if (!Buffer.from(back).equals(readFileSync(f))) bad.push(f);
    }
    expect(bad).toEqual([]);
  }, 120_000);
  it("is protobuf's JSON mapping, as Python's json_format writes and reads it", () => {
    const dir = mkdtempSync(join(tmpdir(), 'amp-json-py-'));
    const files = [...fixtures(), ...nodeModels().filter((_, i) => i % 20 === 0)];
    files.forEach((f, i) => writeFileSync(join(dir, `ours_${i}.json`), modelToJson(loadModel(f))));
    const py = `
import sys, onnx, json
from google.protobuf import json_format
files = sys.argv[2:]
for i, f in enumerate(files):
    m = onnx.load(f)
    open(f"{sys.argv[1]}/py_{i}.json", "w").write(json_format.MessageToJson(m))
    back = json_format.Parse(open(f"{sys.argv[1]}/ours_{i}.json").read(), onnx.ModelProto())
    open(f"{sys.argv[1]}/py_{i}.onnx", "wb").write(back.SerializeToString())
`;
    const r = spawnSync(PYTHON, ['-c', py, dir, ...files], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    files.forEach((f, i) => {
      // Python's JSON, read by us, encodes to the original bytes; ours, read by Python, serializes to them.
      const ours = encodeModel(modelFromJson(readFileSync(join(dir, `py_${i}.json`), 'utf8')));
      expect(Buffer.from(ours).equals(readFileSync(f)), `${f} (python json → ours)`).toBe(true);
      expect(readFileSync(join(dir, `py_${i}.onnx`)).equals(readFileSync(f)), `${f} (our json → python)`).toBe(true);
    });
  }, 120_000);
  it('the CLI converts model.json, writes --emit-ir, and repacks to and from JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amp-json-cli-'));
    expect((await cliIn(['repack', fixturePath('models', 'mlp.onnx'), '-o', join(dir, 'mlp.json')])).code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'mlp.json'), 'utf8')).graph.node[0].opType).toBeTypeOf('string');
    const c = await cliIn([
      join(dir, 'mlp.json'),
      '-o',
      join(dir, 'mlp.fp16.onnx'),
      '--emit-ir',
      join(dir, 'mlp.fp16.json'),
    ]);
    expect(c.code, c.stderr).toBe(0);
    expect(
      Buffer.from(encodeModel(loadModel(join(dir, 'mlp.fp16.json')))).equals(readFileSync(join(dir, 'mlp.fp16.onnx'))),
    ).toBe(true);
    const back = await cliIn(['repack', join(dir, 'mlp.json'), '-o', join(dir, 'back.onnx')]);
    expect(back.code).toBe(0);
    expect(readFileSync(join(dir, 'back.onnx')).equals(readFileSync(fixturePath('models', 'mlp.onnx')))).toBe(true);
    writeFileSync(join(dir, 'bad.json'), '{"graph": {"node": [{"opType": 5}]}}');
    const bad = await cliIn(['inspect', join(dir, 'bad.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.json/);
    expect(existsSync(join(dir, 'mlp.fp16.json'))).toBe(true);
  });
});
