/**
 * Verification on the runtime a model is converted for. The CPU oracle stores fp16 exactly but accumulates in f32;
 * onnxruntime-web's WebGPU kernels compute some sums in f16. With `--runtime ort-web-webgpu` the converted model is
 * also run there (onnxruntime-web on Dawn/lavapipe with shader-f16, in a process of its own) against the original
 * run there, and the repair keeps fp32 what that runtime breaks — silero VAD v5's state drifts past the tolerance
 * there with its STFT Conv in fp16, while the CPU oracle verifies it.
 */
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { convert } from '../src/tools/convert.js';
import { loadModel } from '../src/onnx/io.js';
import { readInputSets } from '../src/tools/inputs.js';
import { formatVerification } from '../src/tools/verify.js';
import { fixtureModelPath } from './helpers/fixtures.js';
import { repoRoot } from './helpers/nodetests.js';

describe('--runtime ort-web-webgpu verifies on onnxruntime-web itself', () => {
  it('silero VAD v5: verified on the CPU oracle, then on onnxruntime-web, whose miss the repair fixes', async () => {
    const file = fixtureModelPath('silero_vad_v5');
    const inputs = readInputSets(loadModel(file), join(repoRoot, 'fixtures/inputs/silero_vad_v5'));
    const r = await convert(file, { inputs, runtime: 'ort-web-webgpu' });
    const d = r.verification.deployment!;
    expect(r.verification.status).toBe('verified');
    expect(d.status).toBe('verified');
    // The first conversion missed there (else nothing would have been repaired); keeping the Convs fp32 fixed it.
    expect(d.repaired).toEqual([expect.stringMatching(/^Conv \(\d+ nodes\)$/)]);
    expect(d.runs).toBe(2);
    expect(d.outputs.map((o) => o.name).sort()).toEqual(['output', 'stateN']);
    for (const o of d.outputs) expect(o.pass, o.name).toBe(true);
    const lines = formatVerification(r.verification).join('\n');
    expect(lines).toMatch(/on the CPU oracle \(exact fp16 storage, f32 arithmetic\)/);
    expect(lines).toMatch(
      /\nverified on onnxruntime-web's WebGPU provider too \(its own fp16 arithmetic, against the original run there; 2 run\(s\)\)/,
    );
    expect(r.summary.keptFp32[`repair: Conv misses the tolerance on onnxruntime-web (WebGPU)`]).toBeGreaterThan(0);
  }, 300_000);
});
