import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fixtureModels, fixtureModelPath, fixtureInputs } from '../test/helpers/fixtures.js';
import { loadModel } from '../src/onnx/io.js';
import { checkOutputs, synthesizeInputs } from '../src/tools/verify.js';
import { TOLERANCES } from '../src/tools/diff.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { convertSync } from '../src/tools/convert.js';
const d = readdirSync(tmpdir()).filter((x) => x.startsWith('casts-')).map((x) => join(tmpdir(), x)).pop()!;
for (const n of fixtureModels()) {
  const m = loadModel(fixtureModelPath(n));
  let sets; try { sets = n.startsWith('silero') ? [fixtureInputs(n)] : [fixtureInputs(n), ...synthesizeInputs(m, 2)]; } catch { sets = synthesizeInputs(m, 2); }
  let ref;
  try { const ex = new CpuExecutor(m); ref = sets.map((s) => ex.runSync(s)); } catch (e) { console.log(n, 'ref fails', (e as Error).message.slice(0, 80)); continue; }
  for (const [tag, mm] of [['occ', () => loadModel(join(d, `${n}.occfalse.onnx`))], ['ours-static', () => convertSync(fixtureModelPath(n)).model]] as const) {
    try {
      const c = checkOutputs(mm(), sets, ref, TOLERANCES.fp16);
      console.log(n, tag, c.every((x) => x.pass) ? 'PASS' : 'FAIL', c.map((x) => `${x.name}: abs ${x.maxAbs.toPrecision(2)} cos ${x.cosine.toFixed(4)} nonfinite ${x.newNonFinite} tol ${x.tolRatio?.toFixed(2)}`).join(' | '));
    } catch (e) { console.log(n, tag, 'RUNFAIL', (e as Error).message.slice(0, 100)); }
  }
}
