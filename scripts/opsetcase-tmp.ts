import { loadModel } from '../src/onnx/io.js';
for (const c of ['seed7003-case211', 'seed7003-case1095', 'seed7003-case7404']) { const m = loadModel(`/tmp/fuzzcorp/${c}/model.onnx`); console.log(c, JSON.stringify(m.proto.opsetImport), m.irVersion); }
