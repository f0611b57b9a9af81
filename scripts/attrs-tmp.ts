import { loadModel } from '../src/onnx/io.js';
for (const n of process.argv.slice(2)) { const m = loadModel(`/tmp/nt-more/${n}/model.onnx`); for (const nd of m.graph.nodes) console.log(n, nd.opType, nd.attributes.map((a) => `${a.name}=${a.i ?? a.f}`).join(' '), nd.inputs.join(',')); }
