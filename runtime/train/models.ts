/** The default model of train-check: an MLP (Gemm + Relu) sized to the data, logits out. */
import { ModelBuilder } from '../../src/onnx/builder.js';
import { DataType } from '../../src/core/dtype.js';
import type { Model } from '../../src/ir/graph.js';

export function buildMlp(features: number, classes: number, hidden = [64, 32]): Model {
  const b = new ModelBuilder({ opset: 17 });
  let x = b.input('x', DataType.FLOAT, ['N', features]);
  const dims = [features, ...hidden, classes];
  for (let l = 0; l < dims.length - 1; l++) {
    // Values are placeholders: the trainer draws initial weights per seed (initialWeights).
    const w = b.init(`fc${l}.weight`, DataType.FLOAT, [dims[l + 1], dims[l]], new Float32Array(dims[l] * dims[l + 1]));
    const bias = b.init(`fc${l}.bias`, DataType.FLOAT, [dims[l + 1]], new Float32Array(dims[l + 1]));
    [x] = b.node('Gemm', [x, w, bias], { transB: 1 }, { name: `fc${l}` });
    if (l < dims.length - 2) [x] = b.node('Relu', [x], {}, { name: `relu${l}` });
  }
  const last = b.graph.nodes[b.graph.nodes.length - 1];
  last.outputs[0] = 'logits';
  b.graph.value('logits');
  b.output('logits', DataType.FLOAT, ['N', classes]);
  return b.build();
}
