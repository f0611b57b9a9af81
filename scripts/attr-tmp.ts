import { ModelBuilder } from '../src/ir/builder.js';
import { make, T } from '../src/onnx/proto.js';
import { convert } from '../src/tools/convert.js';
const b = new ModelBuilder({ opset: 17 });
const x = b.input('x', 1, [2, 3]);
const [r] = b.node('Relu', [x]);
const [y] = b.node('Softmax', [r], {}, { outputs: ['y'], name: 'victim' });
b.graph.nodes[1].attributes.push(make(T.Attribute, { name: 'axis', type: 1, f: 1 }) as never);
b.output(y, 1);
try { await convert(b.build()); } catch (e) { console.log((e as Error).name, (e as Error).message); }
