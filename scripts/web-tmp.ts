import { ortWeb } from '../test/helpers/runtime-probe.js';
import { readFileSync, readdirSync } from 'node:fs';
import { readTensorFile } from '../src/onnx/tensor-io.js';
import { loadModel } from '../src/onnx/io.js';
import { toOrt, fromOrt, runOrt } from '../test/helpers/ort.js';
import { toFloat32 } from '../src/core/tensor.js';
const ort = await ortWeb();
for (const m of process.argv.slice(2)) {
  const g = loadModel(`fixtures/models/${m}.onnx`).graph;
  const ins = g.inputs.filter((i) => !g.initializers.has(i));
  const feeds: any = {};
  for (const f of readdirSync(`fixtures/inputs/${m}`)) feeds[ins[+/\d+/.exec(f)![0]]] = readTensorFile(`fixtures/inputs/${m}/${f}`).tensor;
  const ref = await runOrt(`fixtures/models/${m}.onnx`, feeds);
  const conv = loadModel(`/tmp/tfout/${m}.fp16.onnx`).graph;
  const f16: any = {};
  const { f32ArrayToF16 } = await import('../src/ir/half.js');
  for (const [k, t] of Object.entries<any>(feeds)) f16[k] = conv.values.get(k)?.type?.elemType === 10 ? { dtype: 10, dims: t.dims, data: f32ArrayToF16(t.data) } : t;
  for (const ep of ['webgpu', 'cpu-node']) {
    let out: any;
    try {
      if (ep === 'cpu-node') out = await runOrt(`/tmp/tfout/${m}.fp16.onnx`, f16);
      else {
        const s = await ort.InferenceSession.create(readFileSync(`/tmp/tfout/${m}.fp16.onnx`), { executionProviders: ['webgpu'] });
        const r = await s.run(Object.fromEntries(Object.entries<any>(f16).map(([k, v]) => [k, new ort.Tensor(toOrt(v).type as any, v.data, v.dims)])));
        out = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fromOrt(v as any)]));
      }
    } catch (e) { console.log(m, ep, 'FAILED', (e as Error).message.slice(0, 300)); continue; }
    const parts = Object.keys(ref).map((k) => {
      const a = toFloat32(out[k]), b = toFloat32(ref[k]);
      let dot = 0, na = 0, nb = 0, md = 0, mr = 0;
      for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; md = Math.max(md, Math.abs(a[i] - b[i])); mr = Math.max(mr, Math.abs(b[i])); }
      return `${k}: cos ${(dot / Math.sqrt(na * nb)).toFixed(6)} rel ${(md / mr).toExponential(2)}`;
    });
    console.log(m, ep, parts.join('; '));
  }
}
process.exit(0);
