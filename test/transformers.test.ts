/**
 * Transformers and LLMs end to end: the generated transformer fixtures (fixtures/scripts/transformers.ts)
 * convert by default to models that are valid, load in onnxruntime, and meet the fp16 tolerance against the fp32
 * model both on onnxruntime's CPU provider and on a true-fp16 runtime — onnxruntime-web's WebGPU provider on
 * Dawn/lavapipe (shader-f16), whose kernels compute in f16 where the CPU provider inserts fp32 casts.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { convert, convertSync } from '../src/tools/convert.js';
import { encodeModel, modelFromBytes } from '../src/onnx/io.js';
import { feedsFor } from '../src/tools/verify.js';
import { tensorStats, meets } from '../src/tools/report/stats.js';
import { TOLERANCES } from '../src/tools/diff.js';
import { DataType } from '../src/core/dtype.js';
import { toFloat32, type RTensor } from '../src/ir/rtensor.js';
import { fixtureInputs, fixtureModelPath } from './helpers/fixtures.js';
import { runOrt, toOrt, fromOrt } from './helpers/ort.js';
import { ortWeb } from './helpers/runtime-probe.js';
import type { Model } from '../src/ir/graph.js';

const MODELS = ['llama_prim', 'llama_ops23', 'llama_merged', 't5_encoder', 'bert_ms'];

async function runWebGpu(bytes: Uint8Array, feeds: Record<string, RTensor>): Promise<Record<string, RTensor>> {
  const ort = await ortWeb();
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
  try {
    const r = await s.run(
      Object.fromEntries(
        Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(toOrt(v).type as never, v.data as never, v.dims)]),
      ),
    );
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fromOrt(v as never)]));
  } finally {
    await s.release();
  }
}

/** Outputs of `got` that miss the fp16 tolerance against `ref`, with their statistics. */
function misses(got: Record<string, RTensor>, ref: Record<string, RTensor>): string[] {
  return Object.keys(ref).flatMap((k) => {
    const s = tensorStats(toFloat32(ref[k]), toFloat32(got[k]), TOLERANCES.fp16);
    return meets(s, TOLERANCES.fp16) ? [] : [`${k}: cosine ${s.cosine}, max|Δ| ${s.maxAbs}`];
  });
}

describe.each(MODELS)('%s', (name) => {
  const file = fixtureModelPath(name);
  const feeds = fixtureInputs(name);
  let model: Model, bytes: Uint8Array, ref: Record<string, RTensor>;
  beforeAll(async () => {
    const r = await convert(file, { inputs: [feeds] });
    expect(r.verification.status).toBe('verified');
    model = r.model;
    bytes = encodeModel(model);
    ref = await runOrt(readFileSync(file), feeds);
  }, 120_000);

  it('converts by default to a valid model that meets the tolerance on onnxruntime-node', async () => {
    expect(misses(await runOrt(bytes, feedsFor(model, feeds)), ref)).toEqual([]);
  });

  it('meets the tolerance on a true-fp16 runtime (onnxruntime-web WebGPU on lavapipe)', async () => {
    expect(misses(await runWebGpu(bytes, feedsFor(model, feeds)), ref)).toEqual([]);
  }, 120_000);

  it('the static path also writes a model onnxruntime loads', async () => {
    const { model: m } = convertSync(file);
    await expect(runOrt(encodeModel(m), feedsFor(m, feeds))).resolves.toBeDefined();
  });
});

describe('what the pass does with the transformer ops', () => {
  it('opset-23 decoder: attention, rotary and RMS norm run fp16, attention keeps its softmax in fp32', () => {
    const { model, summary } = convertSync(fixtureModelPath('llama_ops23'));
    for (const op of ['Attention', 'RotaryEmbedding', 'RMSNormalization', 'MatMul'])
      expect(summary.nodes.byOp[op], op).toMatchObject({ high: 0 });
    const attn = model.graph.nodes.filter((n) => n.opType === 'Attention');
    expect(attn.length).toBe(2);
    for (const n of attn) expect(n.attrInt('softmax_precision', 0)).toBe(DataType.FLOAT);
    expect(summary.nodes.low / summary.nodes.total).toBeGreaterThan(0.9);
  });

  it('onnxruntime-optimized BERT: every com.microsoft op runs fp16 with no cast', () => {
    const { summary } = convertSync(fixtureModelPath('bert_ms'));
    expect(summary.nodes.high).toBe(0);
    expect(summary.casts.total).toBe(0);
    for (const op of ['EmbedLayerNormalization', 'Attention', 'SkipLayerNormalization', 'FastGelu', 'BiasGelu'])
      expect(summary.nodes.byOp[op]?.low, op).toBeGreaterThan(0);
  });

  it('primitive decoder: the squares of the massive activation (3000² > 65504) stay fp32, the matmuls go fp16', async () => {
    const r = await convert(fixtureModelPath('llama_prim'), { inputs: [fixtureInputs('llama_prim')] });
    const pow = r.model.graph.nodes.filter((n) => n.opType === 'Pow');
    expect(pow.length).toBeGreaterThan(0);
    const g = r.model.graph;
    for (const n of pow) expect(g.values.get(n.outputs[0])?.type?.elemType).toBe(DataType.FLOAT);
    expect(r.summary.nodes.byOp.MatMul.high).toBe(0);
  });

  it('T5 encoder: the residual stream that outgrows fp16 is kept fp32 by calibration', async () => {
    const r = await convert(fixtureModelPath('t5_encoder'), { inputs: [fixtureInputs('t5_encoder')] });
    expect(Object.values(r.verification.calibrated).some((why) => /reaches/.test(why))).toBe(true);
    const adds = r.model.graph.nodes.filter((n) => /residual_ffn/.test(n.name));
    expect(adds.some((n) => r.model.graph.values.get(n.outputs[0])?.type?.elemType === DataType.FLOAT)).toBe(true);
  });

  it('merged decoder: weights read only inside the If bodies are stored once, in fp16', async () => {
    const before = readFileSync(fixtureModelPath('llama_merged')).byteLength;
    const { model } = convertSync(fixtureModelPath('llama_merged'));
    const after = encodeModel(model).byteLength;
    expect(after).toBeLessThan(before * 0.65);
    // No weight is stored twice (an fp32 original beside its fp16 copy).
    const names = [...model.graph.initializers.keys()];
    expect(names.filter((n) => names.includes(`${n}__fp16`))).toEqual([]);
  });

  it('an op the pass knows nothing about, writing a value of undeclared type, keeps the model valid', async () => {
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    const b = new ModelBuilder({ opset: 17, extraOpsets: { 'com.microsoft': 1 } });
    const x = b.input('x', DataType.FLOAT, [2, 8]);
    const w = b.init('w', DataType.FLOAT, [8, 8], new Float32Array(64).fill(0.1));
    const [h] = b.node('MatMul', [x, w]);
    // Onnxruntime's Gelu written as if it were unknown (a custom domain): its output has no declared type.
    const [u] = b.node('Gelu', [h], {}, { domain: 'my.domain' });
    const [y] = b.node('MatMul', [u, w], {}, { outputs: ['y'] });
    b.output(y, DataType.FLOAT, [2, 8]);
    const { model, summary } = convertSync(b.build());
    expect(summary.keptFp32['reads or writes a value of unknown type']).toBeGreaterThan(0);
    // The unknown node reads exactly what it read before: fp32.
    const g = model.graph;
    const custom = g.nodes.find((n) => n.domain === 'my.domain')!;
    expect(g.lookup(custom.inputs[0])?.type?.elemType).toBe(DataType.FLOAT);
    expect(modelFromBytes(encodeModel(model)).graph.nodes.length).toBe(g.nodes.length);
  });
});

describe('LLM usage', () => {
  it('verification of a KV-cache decoder runs a greedy decode: 8 steps, next tokens agree, logits within tolerance', async () => {
    const r = await convert(fixtureModelPath('llama_ops23'), { inputs: [fixtureInputs('llama_ops23')] });
    const d = r.verification.decode!;
    expect(d.steps.length).toBe(8);
    expect(d.agreement).toBe(1);
    expect(d.pass).toBe(true);
    // The cache grows each step: the tokens are the fp32 model's greedy choices, not all the same.
    expect(new Set(d.steps.map((s) => s.token)).size).toBeGreaterThan(1);
    const off = await convert(fixtureModelPath('llama_ops23'), {
      inputs: [fixtureInputs('llama_ops23')],
      decodeSteps: 0,
    });
    expect(off.verification.decode).toBeUndefined();
  });

  it('a decode step whose logits miss the tolerance fails verification, naming the step', async () => {
    const { decodeCheck } = await import('../src/tools/decode.js');
    const { loadModel } = await import('../src/onnx/io.js');
    const original = loadModel(fixtureModelPath('llama_ops23'));
    const converted = convertSync(fixtureModelPath('llama_ops23')).model;
    // A tolerance no fp16 model meets: every step fails, and the check says so.
    const d = decodeCheck(original, converted, fixtureInputs('llama_ops23'), 3, { atol: 0, rtol: 0, scale: 0, cos: 1 });
    expect(d.pass).toBe(false);
    expect(d.steps.every((s) => !s.pass && s.maxAbs > 0)).toBe(true);
  });

  it('--keep-io-types takes patterns: logits and /^present\\./ stay fp32, the past inputs go fp16', () => {
    const { model, summary } = convertSync(fixtureModelPath('llama_ops23'), {
      keepIoTypes: ['logits', '/^present\\./'],
    });
    const g = model.graph;
    expect(g.values.get('logits')!.type!.elemType).toBe(DataType.FLOAT);
    for (const o of g.outputs.filter((n) => n.startsWith('present.')))
      expect(g.values.get(o)!.type!.elemType).toBe(DataType.FLOAT);
    for (const i of g.inputs.filter((n) => n.startsWith('past_key_values.')))
      expect(g.values.get(i)!.type!.elemType).toBe(DataType.FLOAT16);
    expect(summary.warnings).toEqual([]);
    expect(
      convertSync(fixtureModelPath('llama_ops23'), { keepIoTypes: ['/^nothing/'] }).summary.warnings.join(),
    ).toMatch(/matches no input or output/);
  });
});
