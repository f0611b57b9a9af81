import { nodeTestNames, nodeTestsDir } from '../test/helpers/nodetests.js';
import { loadModel } from '../src/onnx/io.js';
import { join } from 'node:path';
for (const n of nodeTestNames()) { const m = loadModel(join(nodeTestsDir(), n, 'model.onnx')); const o = m.opset(''); if (o !== undefined && o <= 11 && m.graph.nodes.some((x) => ['MatMul', 'Conv', 'Gemm', 'Softmax'].includes(x.opType))) console.log(n, o, m.graph.nodes.map((x) => x.opType).join(',')); }
