/**
 * Validity proof of the pass on all 804 shared node tests: every converted model loads and runs in
 * onnxruntime-node and agrees with the fp32 original within the fp16 tolerance below, with default
 * options and with keepIoTypes; the ONNX checker (full_check) accepts every converted model it can read.
 *
 * Tolerance: |converted − reference| ≤ 1e-3 + 1e-2·|reference| elementwise (fp16 has ~3.3 decimal digits:
 * 1e-2 allows a few roundings through a short op chain). Reference: the fp32 model run by ORT on the same
 * input values — with default options the model's float inputs are fp16, so both get the fp16-rounded
 * values (the test's stored outputs are computed from inputs fp16 cannot represent, e.g. 10000 vs 10001).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { nodeTestNames, nodeTestsDir } from './helpers/nodetests.js';
import { loadNodeCase } from './helpers/nodecase.js';
import { runOrt } from './helpers/ort.js';
import { checkerLimits, checkModels } from './helpers/checker.js';
import { convertSync } from '../src/tools/convert.js';
import { encodeModel } from '../src/onnx/io.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';
import { DataType } from '../src/core/dtype.js';
import { f32ArrayToF16 } from '../src/core/half.js';

const RTOL = 1e-2,
  ATOL = 1e-3;
const outDir = mkdtempSync(join(tmpdir(), 'amp-pass-'));

interface Outcome {
  passed: string[];
  oracleFailed: string[];
  failures: string[];
  nonTensorIo: string[];
  lowNodes: number;
  files: string[];
}

function worstRatio(got: RTensor, ref: RTensor): number {
  if (typeof ref.data[0] === 'string') return JSON.stringify(got.data) === JSON.stringify(ref.data) ? 0 : Infinity;
  const a = toFloat32(got),
    b = toFloat32(ref);
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    // onnxruntime writes masked attention scores (qk_matmul_output) as the lowest value of their type.
    if (b[i] <= -3.4e38 && a[i] <= -65504) continue;
    const r = Math.abs(a[i] - b[i]) / (ATOL + RTOL * Math.abs(b[i]));
    worst = Math.max(worst, Number.isNaN(r) ? Infinity : r);
  }
  return worst;
}

async function validate(keepIoTypes: boolean): Promise<Outcome> {
  const o: Outcome = { passed: [], oracleFailed: [], failures: [], nonTensorIo: [], lowNodes: 0, files: [] };
  for (const name of nodeTestNames()) {
    const c = loadNodeCase(name);
    const { model, summary } = convertSync(c ? c.model() : join(nodeTestsDir(), name, 'model.onnx'), { keepIoTypes });
    const bytes = encodeModel(model);
    o.lowNodes += summary.nodes.low;
    const file = join(outDir, `${name}${keepIoTypes ? '.keep' : ''}.onnx`);
    writeFileSync(file, bytes);
    o.files.push(file);
    if (!c) {
      o.nonTensorIo.push(name);
      continue;
    }
    const g = model.graph;
    const feeds: Record<string, RTensor> = {};
    const refFeeds: Record<string, RTensor> = {};
    for (const [k, t] of Object.entries(c.inputs)) {
      if (g.values.get(k)?.type?.elemType === DataType.FLOAT16 && t.dtype === DataType.FLOAT) {
        const half = f32ArrayToF16(t.data as Float32Array);
        feeds[k] = { dtype: DataType.FLOAT16, dims: t.dims, data: half };
        refFeeds[k] = { dtype: DataType.FLOAT, dims: t.dims, data: toFloat32(feeds[k]) };
      } else feeds[k] = refFeeds[k] = t;
    }
    let ref: Record<string, RTensor>;
    try {
      ref = await runOrt(encodeModel(c.model()), refFeeds);
    } catch {
      o.oracleFailed.push(name);
      continue;
    }
    try {
      const got = await runOrt(bytes, feeds);
      const bad = Object.keys(c.outputs).filter((k) => !got[k] || worstRatio(got[k], ref[k]) > 1);
      if (bad.length) o.failures.push(`${name}: outputs ${bad.join(', ')} beyond tolerance`);
      else o.passed.push(name);
    } catch (e) {
      o.failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return o;
}

function fileFails(o: Outcome, results: Record<string, string>): string[] {
  return Object.entries(results)
    .filter(([, r]) => r !== 'ok')
    .map(([p, r]) => `${p}: ${r}`);
}

describe.each([false, true])('node tests converted (keepIoTypes=%s)', (keepIoTypes) => {
  let o: Outcome;
  beforeAll(async () => {
    o = await validate(keepIoTypes);
  }, 600_000);

  it('every converted model runs in onnxruntime-node and matches the fp32 model within tolerance', () => {
    expect(o.failures).toEqual([]);
    expect(o.passed.length).toBeGreaterThan(600);
    // The pass really converts. With keepIoTypes a lone elementwise node next to fp32 model I/O stays fp32
    // (nothing to gain); matmul/conv-like nodes still go fp16.
    expect(o.lowNodes).toBeGreaterThan(keepIoTypes ? 80 : 500);
    console.log(
      `keepIoTypes=${keepIoTypes}: ${o.passed.length} passed (${o.lowNodes} nodes fp16); ${o.oracleFailed.length} not runnable by ORT even in fp32; ${o.nonTensorIo.length} with I/O ORT-node cannot feed`,
    );
  });

  it('models ORT cannot run in fp32 are only the types and kernels it lacks', () => {
    // Listed by reason, so that a new kind of failure cannot hide here.
    const known = [
      /_(FLOAT8|BFLOAT16|e8m0|e4m3fn|e5m2|bfloat16|no_saturate)/, // element types it has no kernels for
      /test_(max|min)_u?int16|test_pow_types_float32_uint|test_clip_default_int8_(max|min)_expanded|test_range_|test_top_k_uint64|test_bitshift_(left|right)_uint16|test_convinteger_with_padding/, // integer kernels it lacks
      /test_(causal_conv_with_state|flexattention|linear_attention|swiglu|bitcast|celu)/, // opsets newer than onnxruntime 1.30 knows
      /test_(adagrad|adam|momentum|nesterov_momentum)/, // the preview training domain
      /test_(bernoulli|image_decoder|strnormalizer|roialign)|_batchwise$|test_attention_4d_diff_heads_mask4d_padded_kv/, // random, codecs, locales, layouts and forms it refuses
    ];
    expect(o.oracleFailed.filter((n) => !known.some((r) => r.test(n)))).toEqual([]);
    // Sub-byte tensors (int2/int4/float4 files), sequences and optionals: I/O the runtime tensor here cannot hold.
    expect(o.nonTensorIo.filter((n) => !/int4|int2|float4e2m1|seq|_opt$|optional/i.test(n))).toEqual([]);
  });

  it('the ONNX checker accepts every converted model within its IR/opset range', async () => {
    const lim = checkerLimits();
    expect(lim, 'python3-onnx is installed by scripts/setup-system.sh').toBeDefined();
    const { loadModel } = await import('../src/onnx/io.js');
    const eligible = o.files.filter((f) => {
      const m = loadModel(f);
      return m.irVersion <= lim!.ir && (m.opset('') ?? 0) <= lim!.opset;
    });
    expect(eligible.length).toBeGreaterThan(100);
    expect(fileFails(o, checkModels(eligible))).toEqual([]);
    console.log(`onnx ${lim!.version} checker: ${eligible.length} converted models checked`);
  });
});

describe('bf16: every node test and fixture converted with --bf16 passes the ONNX checker (full_check)', () => {
  it('node tests and fixtures', async () => {
    const lim = checkerLimits();
    expect(lim).toBeDefined();
    const { fixtureModels, fixtureModelPath } = await import('./helpers/fixtures.js');
    const files: string[] = [];
    let low = 0;
    const sources = [
      ...nodeTestNames().map((n) => ({
        name: n,
        make: () => {
          const c = loadNodeCase(n);
          return c ? c.model() : join(nodeTestsDir(), n, 'model.onnx');
        },
      })),
      ...fixtureModels().map((n) => ({ name: `fixture_${n}`, make: () => fixtureModelPath(n) })),
    ];
    for (const s of sources) {
      const { model, summary } = convertSync(s.make(), { target: 'bf16' });
      low += summary.nodes.low;
      if (model.irVersion > lim!.ir || (model.opset('') ?? 0) > lim!.opset) continue;
      const file = join(outDir, `${s.name}.bf16.onnx`);
      writeFileSync(file, encodeModel(model));
      files.push(file);
    }
    expect(files.length).toBeGreaterThan(300);
    expect(low).toBeGreaterThan(300);
    expect(
      Object.entries(checkModels(files))
        .filter(([, r]) => r !== 'ok')
        .map(([p, r]) => `${p.split('/').pop()}: ${r.split('\n')[0]}`),
    ).toEqual([]);
  }, 300_000);
});
