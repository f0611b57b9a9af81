/** Fixture models (fixtures/models) with their input sets (fixtures/inputs/<model>/input_N.pb). */
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from './nodetests.js';
import { readTensorFile } from '../../src/onnx/tensor-io.js';
import { loadModel } from '../../src/onnx/io.js';
import type { RTensor } from '../../src/ir/rtensor.js';

/** All fixtures; `goodFixtures` leaves out the bad_* ones, built to overflow fp16 (for the diff report). */
export const fixtureModels = (): string[] =>
  readdirSync(fixturePath('models'))
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => f.slice(0, -5))
    .sort();
export const fixtureModelPath = (name: string) => fixturePath('models', `${name}.onnx`);

export function fixtureInputs(name: string): Record<string, RTensor> {
  const dir = fixturePath('inputs', name);
  if (!existsSync(dir)) throw new Error(`no inputs for fixture ${name}`);
  const g = loadModel(fixtureModelPath(name)).graph;
  const ins = g.inputs.filter((i) => !g.initializers.has(i));
  const feeds: Record<string, RTensor> = {};
  for (const f of readdirSync(dir)) {
    const m = /^input_(\d+)\.pb$/.exec(f);
    if (m) feeds[ins[Number(m[1])]] = readTensorFile(join(dir, f)).tensor;
  }
  return feeds;
}

/** Cosine similarity, elementwise max relative error (|a−b| / max(|b|, 1e-3·max|b|)), max |a−b| and max |a−b| / max|b|. */
export function agreement(
  a: Float32Array,
  b: Float32Array,
): { cosine: number; maxRel: number; maxAbs: number; maxScaled: number } {
  let dot = 0,
    na = 0,
    nb = 0,
    maxAbs = 0,
    maxB = 0;
  for (let i = 0; i < b.length; i++) maxB = Math.max(maxB, Math.abs(b[i]));
  let maxRel = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
    const d = Math.abs(a[i] - b[i]);
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(b[i]), 1e-3 * maxB, 1e-12));
  }
  const cosine = na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
  return { cosine, maxRel, maxAbs, maxScaled: maxB > 0 ? maxAbs / maxB : maxAbs };
}

/** Fixtures whose static fp16 conversion overflows by design (bad_*, and T5's residual stream): only calibration converts them well. */
const staticOverflow = (n: string) => n.startsWith('bad_') || n === 't5_encoder';
export const goodFixtures = (): string[] => fixtureModels().filter((n) => !staticOverflow(n));
