import { convertSync } from '../src/tools/convert.js';
const { model } = convertSync(process.argv[2]);
const g = model.graph;
for (const n of g.nodes) console.log(n.opType, n.name, n.inputs.map((i) => `${i}:${g.lookup(i)?.type?.elemType}`).join(' '), '->', n.outputs.map((i) => `${i}:${g.lookup(i)?.type?.elemType}`).join(' '));
