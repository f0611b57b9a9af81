/**
 * `convert()`: the library entry point of the mixed-precision pass (the CLI's default command calls it).
 * Accepts a Model (converted in place), a file path or ONNX bytes; returns the converted model and a
 * structured summary. Deterministic and idempotent.
 */
import { Model } from './ir/graph.js';
import { loadModel, modelFromBytes } from './onnx/io.js';
import { runMixedPrecision, resolveOptions, type ConvertOptions } from '../passes/index.js';
import type { ConvertSummary } from '../passes/context.js';

export type { ConvertOptions, ConvertSummary };

export async function convert(input: Model | string | Uint8Array, options: ConvertOptions = {}): Promise<{ model: Model; summary: ConvertSummary }> {
  return convertSync(input, options);
}

export function convertSync(input: Model | string | Uint8Array, options: ConvertOptions = {}): { model: Model; summary: ConvertSummary } {
  const opts = resolveOptions(options);
  const model = input instanceof Model ? input : typeof input === 'string' ? loadModel(input) : modelFromBytes(input);
  const summary = runMixedPrecision(model, opts);
  return { model, summary };
}
