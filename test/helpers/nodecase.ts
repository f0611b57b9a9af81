/** Loads one backend node test: its model, input feeds and expected outputs (tensor I/O only). */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { nodeTestsDir } from './nodetests.js';
import { readTensorFile } from '../../src/onnx/tensor-io.js';
import { loadModel } from '../../src/onnx/io.js';
import type { RTensor } from '../../src/ir/rtensor.js';
import type { Model } from '../../src/ir/graph.js';

export interface NodeCase {
  name: string;
  dir: string;
  model: () => Model;
  inputs: Record<string, RTensor>;
  outputs: Record<string, RTensor>;
}

/** undefined when the test's inputs/outputs are not all plain tensors (sequences, optionals). */
export function loadNodeCase(name: string): NodeCase | undefined {
  const dir = join(nodeTestsDir(), name);
  const file = join(dir, 'model.onnx');
  const m = loadModel(file);
  const g = m.graph;
  const ins = g.inputs.filter((i) => !g.initializers.has(i));
  if ([...ins, ...g.outputs].some((n) => !g.values.get(n)?.type)) return undefined;
  const data = join(dir, 'test_data_set_0');
  const files = readdirSync(data);
  const inputs: Record<string, RTensor> = {};
  const outputs: Record<string, RTensor> = {};
  try {
    for (const f of files) {
      const m1 = /^(input|output)_(\d+)\.pb$/.exec(f);
      if (!m1) continue;
      const { tensor } = readTensorFile(join(data, f));
      const idx = Number(m1[2]);
      if (m1[1] === 'input') inputs[ins[idx]] = tensor;
      else outputs[g.outputs[idx]] = tensor;
    }
  } catch {
    return undefined;
  }
  // Optional inputs may be omitted by the test: only those present are fed.
  for (const k of Object.keys(inputs)) if (k === 'undefined') return undefined;
  return { name, dir, model: () => loadModel(file), inputs, outputs };
}
