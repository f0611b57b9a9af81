/**
 * `--opset N` (passes/upgrade.ts): every fixture and ONNX node test below opset N, upgraded, runs in onnxruntime
 * to the same outputs as the original; what it refuses it refuses in one line. bf16 of an opset-11 model converts
 * most of its nodes once upgraded.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeTestNames, nodeTestsDir } from './helpers/nodetests.js';
import { loadNodeCase } from './helpers/nodecase.js';
import { fixtureModels, fixtureModelPath, fixtureInputs } from './helpers/fixtures.js';
import { runOrt } from './helpers/ort.js';
import { upgradeOpset } from '../passes/upgrade.js';
import { convertSync } from '../src/tools/convert.js';
import { encodeModel, loadModel } from '../src/onnx/io.js';
import { AmpError } from '../src/core/errors.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';
import { ModelBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { cloneModel } from '../src/onnx/io.js';

function differs(a: RTensor | undefined, b: RTensor): boolean {
  if (!a || a.dims.join() !== b.dims.join()) return true;
  if (typeof b.data[0] === 'string') return JSON.stringify(a.data) !== JSON.stringify(b.data);
  const x = toFloat32(a),
    y = toFloat32(b);
  return y.some(
    (v, i) =>
      !(x[i] === v || (Number.isNaN(x[i]) && Number.isNaN(v)) || Math.abs(x[i] - v) <= 1e-5 + 1e-4 * Math.abs(v)),
  );
}

describe.each([13, 18, 21])('upgrade to opset %i', (to) => {
  it('every node test and fixture below it runs to the same outputs in onnxruntime', async () => {
    let upgraded = 0,
      edited = 0;
    const bad: string[] = [];
    const cases = [
      ...nodeTestNames().map((n) => ({
        name: n,
        file: join(nodeTestsDir(), n, 'model.onnx'),
        feeds: () => loadNodeCase(n)?.inputs,
      })),
      ...fixtureModels().map((n) => ({ name: n, file: fixtureModelPath(n), feeds: () => fixtureInputs(n) })),
    ];
    for (const c of cases) {
      const m = loadModel(c.file);
      if ((m.opset('') ?? 99) >= to) continue;
      const feeds = c.feeds();
      if (!feeds) continue;
      let ref: Record<string, RTensor>;
      try {
        ref = await runOrt(readFileSync(c.file), feeds);
      } catch {
        continue;
      }
      let edits: number;
      try {
        edits = upgradeOpset(m, to);
      } catch (e) {
        if (e instanceof AmpError) continue;
        throw e;
      }
      upgraded++;
      if (edits) edited++;
      try {
        const got = await runOrt(encodeModel(m), feeds);
        const off = Object.keys(ref).filter((k) => differs(got[k], ref[k]));
        if (off.length) bad.push(`${c.name}: ${off.join(', ')}`);
      } catch (e) {
        bad.push(`${c.name}: ${(e as Error).message.split('\n')[0].slice(0, 160)}`);
      }
    }
    console.log(`opset ${to}: ${upgraded} models upgraded (${edited} with rewritten nodes), ${bad.length} differ`);
    expect(bad).toEqual([]);
    expect(upgraded).toBeGreaterThan(to === 13 ? 80 : 500);
  }, 300_000);
});

describe('bf16 on an old model', () => {
  it('opset 11: bf16 keeps almost every node fp32; upgraded to 13, most convert', () => {
    // An opset-11 classifier head, as exporters of that time wrote it: Gemm, Relu, Unsqueeze (axes attribute), Softmax.
    const b = new ModelBuilder({ opset: 11, irVersion: 6 });
    const x = b.input('x', DataType.FLOAT, [2, 8]);
    const [h] = b.node('Gemm', [x, b.init('w', DataType.FLOAT, [8, 8], new Float32Array(64).fill(0.1))]);
    const [r] = b.node('Relu', [h]);
    const [u] = b.node('Unsqueeze', [r], { axes: [1] });
    b.node('Softmax', [u], { axis: 2 }, { outputs: ['y'] });
    b.output('y', DataType.FLOAT, [2, 1, 8]);
    const old = b.build();
    const before = convertSync(cloneModel(old), { target: 'bf16' }).summary;
    expect(before.nodes.low).toBe(0);
    expect(before.warnings.join()).toMatch(/--opset 13/);
    const after = convertSync(old, { target: 'bf16', opset: 13 });
    expect(after.summary.nodes.low).toBeGreaterThanOrEqual(2);
    expect(after.model.opset('')).toBe(13);
  });
  it('refuses a downgrade or an opset past what it knows, in one line', () => {
    const m = loadModel(fixtureModelPath('mlp'));
    expect(() => upgradeOpset(m, 11)).toThrow(/below the model's opset 17/);
    expect(() => upgradeOpset(m, 99)).toThrow(/--opset must be a whole number from 1 to 24/);
  });
});
