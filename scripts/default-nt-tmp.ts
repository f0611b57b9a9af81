import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { nodeTestNames, nodeTestsDir } from '../test/helpers/nodetests.js';
import { loadNodeCase } from '../test/helpers/nodecase.js';
import { runOrt } from '../test/helpers/ort.js';
import { convert } from '../src/tools/convert.js';
import { encodeModel } from '../src/onnx/io.js';
import { feedsFor } from '../src/tools/verify.js';
import { toFloat32 } from '../src/core/tensor.js';
import { AmpError } from '../src/core/errors.js';
ort.env.logLevel = 'fatal';
const re = new RegExp(process.argv[2] ?? '.');
let ok = 0; const exit1: string[] = [], exit2: string[] = [], mismatch: string[] = [], crash: string[] = [];
let oracle = 0;
for (const name of nodeTestNames()) {
  if (!re.test(name)) continue;
  const c = loadNodeCase(name); if (!c) continue;
  const file = join(nodeTestsDir(), name, 'model.onnx');
  let ortRef; try { ortRef = await runOrt(readFileSync(file), c.inputs); } catch { continue; }
  oracle++;
  let r;
  try { r = await convert(file, process.env.GIVEN ? { inputs: [c.inputs] } : {}); } catch (e) { (e instanceof AmpError ? exit2 : crash).push(`${name}: ${(e as Error).message.slice(0, 160)}`); continue; }
  if (r.verification.status === 'failed') { exit1.push(`${name}: ${r.verification.outputs.filter((o) => !o.pass).map((o) => `${o.name} ${o.reason}`).join('; ')}`); continue; }
  try {
    const got = await runOrt(encodeModel(r.model), feedsFor(r.model, c.inputs));
    const bad = Object.entries(process.env.VS_ORT ? ortRef : c.outputs).filter(([k, e]) => {
      if (typeof e.data[0] === 'string') return JSON.stringify(got[k].data) !== JSON.stringify(e.data);
      const a = toFloat32(got[k]), b = toFloat32(e);
      let mx = 0; for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i])) mx = Math.max(mx, Math.abs(b[i]));
      for (let i = 0; i < b.length; i++) { if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue; if (b[i] <= -3.4e38 && a[i] <= -65504) continue; if (!(Math.abs(a[i] - b[i]) <= 1e-3 + 2e-2 * mx + 1e-2 * Math.abs(b[i]))) return true; }
      return false;
    });
    if (bad.length) mismatch.push(`${name}: ${bad.map(([k]) => k).join(',')}`); else ok++;
  } catch (e) { mismatch.push(`${name}: ORT ${(e as Error).message.split('\n')[0].slice(0, 160)}`); }
}
console.log('--- exit 1'); console.log(exit1.join('\n')); console.log('--- exit 2'); console.log(exit2.join('\n')); console.log('--- crash'); console.log(crash.join('\n')); console.log('--- mismatch'); console.log(mismatch.join('\n'));
console.log(`ORT runs ${oracle}; exit 0 and matching ${ok}; exit 1: ${exit1.length}; exit 2: ${exit2.length}; crash ${crash.length}; mismatch ${mismatch.length}`);
