import { loadModel, encodeModel } from '../src/onnx/io.js';
import { convertSync } from '../src/tools/convert.js';
import * as ort from 'onnxruntime-node';
const m = loadModel('/tmp/fuzzcorp2/seed20261130-case897/model.onnx');
const g = m.graph;
console.log(JSON.stringify(m.proto.opsetImport));
for (const n of g.nodes) console.log(n.opType, n.inputs.join(','), '->', n.outputs.join(','), n.attributes.map(a=>a.name+':'+(a.i??a.f??a.t?.dataType)).join(' '));
const { model } = convertSync(m);
for (const n of model.graph.nodes) console.log(' C', n.opType, n.inputs.map(i=>i+':'+model.graph.lookup(i)?.type?.elemType).join(','), '->', n.outputs.map(i=>i+':'+model.graph.lookup(i)?.type?.elemType).join(','));
try { await ort.InferenceSession.create(encodeModel(model)); } catch (e) { console.log((e as Error).message.slice(0, 400)); }
