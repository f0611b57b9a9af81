/**
 * The default command on every ONNX node test (both sets) that onnxruntime runs: `convert()` with the test's own
 * inputs given for verification — what `amp-convert model.onnx --inputs test_data_set_0` does — finishes without
 * refusing (exit 0: verified, or unverified with a note) and without a failed verdict, and the converted model,
 * run by onnxruntime on those inputs, matches onnxruntime's run of the original.
 *
 * Tolerance: |Δ| ≤ 1e-3 + 2e-2·max|ref| + 1e-2·|ref| elementwise (the fp16 default's atol/scale/rtol); the same
 * NaN/Inf at the same place agree; masked attention scores are each type's lowest value.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeTestNames, nodeTestsDir } from './helpers/nodetests.js';
import { loadNodeCase } from './helpers/nodecase.js';
import { runOrt } from './helpers/ort.js';
import { convert } from '../src/tools/convert.js';
import { encodeModel } from '../src/onnx/io.js';
import { feedsFor } from '../src/tools/verify.js';
import { AmpError } from '../src/core/errors.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';

function mismatch(got: RTensor | undefined, ref: RTensor): boolean {
  if (!got) return true;
  if (typeof ref.data[0] === 'string') return JSON.stringify(got.data) !== JSON.stringify(ref.data);
  const a = toFloat32(got),
    b = toFloat32(ref);
  if (a.length !== b.length) return true;
  let mx = 0;
  for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i])) mx = Math.max(mx, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) {
    if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])) || (b[i] <= -3.4e38 && a[i] <= -65504)) continue;
    if (!(Math.abs(a[i] - b[i]) <= 1e-3 + 2e-2 * mx + 1e-2 * Math.abs(b[i]))) return true;
  }
  return false;
}

describe('the default command on every node test onnxruntime runs', () => {
  const o = {
    runs: 0,
    verified: 0,
    unverified: 0,
    refused: [] as string[],
    failed: [] as string[],
    mismatched: [] as string[],
  };
  beforeAll(async () => {
    for (const name of nodeTestNames()) {
      const c = loadNodeCase(name);
      if (!c) continue;
      const file = join(nodeTestsDir(), name, 'model.onnx');
      let ref: Record<string, RTensor>;
      try {
        ref = await runOrt(readFileSync(file), c.inputs);
      } catch {
        continue;
      }
      o.runs++;
      let r;
      try {
        r = await convert(file, { inputs: [c.inputs] });
      } catch (e) {
        o.refused.push(`${name}: ${e instanceof AmpError ? '' : 'CRASH '}${(e as Error).message.slice(0, 120)}`);
        continue;
      }
      if (r.verification.status === 'failed') {
        o.failed.push(name);
        continue;
      }
      if (r.verification.status === 'verified') o.verified++;
      else o.unverified++;
      try {
        const got = await runOrt(encodeModel(r.model), feedsFor(r.model, c.inputs));
        const bad = Object.keys(ref).filter((k) => mismatch(got[k], ref[k]));
        if (bad.length) o.mismatched.push(`${name}: ${bad.join(', ')}`);
      } catch (e) {
        o.mismatched.push(`${name}: onnxruntime: ${(e as Error).message.split('\n')[0].slice(0, 120)}`);
      }
    }
    console.log(
      `default command: ${o.runs} node tests onnxruntime runs; ${o.verified} verified, ${o.unverified} unverified with a note; ${o.failed.length} failed, ${o.refused.length} refused, ${o.mismatched.length} mismatched`,
    );
  }, 900_000);

  it('never refuses and never fails a verdict', () => {
    expect(o.runs).toBeGreaterThan(1400);
    expect(o.refused).toEqual([]);
    expect(o.failed).toEqual([]);
  });
  it('the converted model matches onnxruntime on the original, everywhere', () => {
    expect(o.mismatched).toEqual([]);
    // Every one verified: on the CPU executor, or on onnxruntime-node where it lacks an op.
    expect(o.verified).toBe(o.runs);
  });
});
