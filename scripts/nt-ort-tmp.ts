import { loadNodeCase } from '../test/helpers/nodecase.js';
import { runOrt } from '../test/helpers/ort.js';
import { convertSync } from '../src/tools/convert.js';
import { encodeModel } from '../src/onnx/io.js';
import { toFloat32, type RTensor } from '../src/core/tensor.js';
import { DataType } from '../src/ir/dtype.js';
import { f32ArrayToF16 } from '../src/ir/half.js';
for (const name of process.argv.slice(2)) {
  const c = loadNodeCase(name)!;
  const { model } = convertSync(c.model());
  const feeds: Record<string, RTensor> = {}, refFeeds: Record<string, RTensor> = {};
  for (const [k, t] of Object.entries(c.inputs)) {
    if (model.graph.values.get(k)?.type?.elemType === DataType.FLOAT16 && t.dtype === DataType.FLOAT) {
      const half = f32ArrayToF16(t.data as Float32Array); feeds[k] = { dtype: 10, dims: t.dims, data: half }; refFeeds[k] = { dtype: 1, dims: t.dims, data: toFloat32(feeds[k]) };
    } else feeds[k] = refFeeds[k] = t;
  }
  const ref = await runOrt(encodeModel(c.model()), refFeeds);
  const got = await runOrt(encodeModel(model), feeds);
  for (const k of Object.keys(ref)) { const a = toFloat32(got[k]), b = toFloat32(ref[k]); const bad = []; for (let i = 0; i < b.length && bad.length < 6; i++) if (!(a[i] === b[i]) && Math.abs(a[i]-b[i]) > 1e-3 + 1e-2*Math.abs(b[i])) bad.push(`[${i}] ${a[i]} vs ${b[i]}`); console.log(name, k, bad.join(' ')); }
}
