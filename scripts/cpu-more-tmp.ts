import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTensorFile } from '../src/onnx/tensor-io.js';
import { loadModel } from '../src/onnx/io.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { toFloat32, type RTensor } from '../src/core/tensor.js';
const root = '/tmp/nt-more';
const re = new RegExp(process.argv[2] ?? '.');
function compare(got: RTensor | undefined, exp: RTensor): string {
  if (!got) return 'missing';
  if (got.dtype !== exp.dtype) return `dtype ${got.dtype} vs ${exp.dtype}`;
  if (JSON.stringify(got.dims) !== JSON.stringify(exp.dims)) return `dims [${got.dims}] vs [${exp.dims}]`;
  const a = toFloat32(got), b = toFloat32(exp);
  for (let i = 0; i < b.length; i++) {
    if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    if (!(Math.abs(a[i] - b[i]) <= 1e-7 + 1e-3 * Math.abs(b[i]))) return `[${i}] ${a[i]} vs ${b[i]}`;
  }
  return '';
}
let pass = 0; const fail: string[] = [];
for (const name of readdirSync(root).sort()) {
  if (!re.test(name)) continue;
  const dir = join(root, name);
  let m; try { m = loadModel(join(dir, 'model.onnx')); } catch (e) { fail.push(`${name}: load ${(e as Error).message.slice(0,100)}`); continue; }
  const g = m.graph; const ins = g.inputs.filter((i) => !g.initializers.has(i));
  const inputs: Record<string, RTensor> = {}, outputs: Record<string, RTensor> = {};
  try {
    for (const f of readdirSync(join(dir, 'test_data_set_0'))) {
      const mm = /^(input|output)_(\d+)\.pb$/.exec(f); if (!mm) continue;
      const { tensor } = readTensorFile(join(dir, 'test_data_set_0', f));
      if (mm[1] === 'input') inputs[ins[+mm[2]]] = tensor; else outputs[g.outputs[+mm[2]]] = tensor;
    }
  } catch (e) { fail.push(`${name}: data ${(e as Error).message.slice(0,80)}`); continue; }
  try {
    const out = new CpuExecutor(m).runSync(inputs);
    const bad = Object.entries(outputs).map(([k, e]) => [k, compare(out[k], e)]).filter(([, r]) => r);
    if (bad.length) fail.push(`${name}: ${bad.map(([k, r]) => `${k} ${r}`).join('; ')}`); else pass++;
  } catch (e) { fail.push(`${name}: threw ${(e as Error).message.slice(0, 150)}`); }
}
console.log(fail.join('\n')); console.log(`${pass} passed, ${fail.length} failed`);
