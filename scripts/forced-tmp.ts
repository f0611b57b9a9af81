import { join } from 'node:path';
import { nodeTestsDir } from '../test/helpers/nodetests.js';
import { forcedLow } from '../test/helpers/runtime-probe.js';
import { encodeModel } from '../src/onnx/io.js';
import * as ort from 'onnxruntime-node';
for (const name of process.argv.slice(2)) {
  const m = forcedLow(join(nodeTestsDir(), name, 'model.onnx'), { runtime: 'ort-cpu', keepIoTypes: true });
  try { await ort.InferenceSession.create(encodeModel(m), { logSeverityLevel: 4 }); console.log(name, 'ok'); } catch (e) {
    console.log(name, (e as Error).message.slice(0, 200));
    const g = m.graph; for (const n of g.nodes) if (n.opType === 'Add' || n.opType === 'Cast' || n.opType === 'CastLike' || n.opType === 'ConstantOfShape') console.log(' ', n.opType, n.inputs.map((i) => `${i}:${g.lookup(i)?.type?.elemType}`).join(' '), '->', n.outputs.map((i) => `${i}:${g.lookup(i)?.type?.elemType}`).join(' '));
  }
}
