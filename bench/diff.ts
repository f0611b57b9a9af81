/**
 * npm run bench:diff — time of a full diff report (both runs, per-tensor stats, attribution, HTML) and of the
 * tolerance fallback on the largest fixtures, against one plain CPU inference of the same model in this run;
 * fallback evaluations vs the 2·log2(nodes) budget.
 */
import { loadModel } from '../src/onnx/io.js';
import { convertSync } from '../src/tools/convert.js';
import { diff } from '../src/tools/diff.js';
import { renderHtml } from '../src/tools/report/render.js';
import { fallback } from '../src/tools/fallback.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { fixtureModelPath, fixtureInputs } from '../test/helpers/fixtures.js';

const rows = [];
for (const name of ['silero_vad_v5', 'silero_vad_legacy', 'transformer_block', 'bad_variance', 'bad_overflow']) {
  const path = fixtureModelPath(name);
  const feeds = fixtureInputs(name);
  const nodes = [...loadModel(path).graph.allNodes()].length;
  const ex = new CpuExecutor(loadModel(path));
  ex.runSync(feeds);
  let t = performance.now();
  ex.runSync(feeds);
  const inferMs = performance.now() - t;
  const converted = convertSync(path).model;
  t = performance.now();
  const r = await diff(loadModel(path), converted, feeds);
  renderHtml(r);
  const diffMs = performance.now() - t;
  const fb = await fallback(loadModel(path), feeds, { rel: 0.01, cos: 0.999 });
  rows.push({
    model: name,
    nodes,
    tensors: r.tensors.length,
    'inference ms': inferMs.toFixed(1),
    'report ms': diffMs.toFixed(0),
    'report / inference': `${(diffMs / inferMs).toFixed(0)}×`,
    'fallback evals': fb.evaluations,
    budget: Math.ceil(2 * Math.log2(nodes)),
    'fallback kept': fb.keepFp32.join(' ') || '–',
    met: fb.met,
    'fallback ms': fb.ms.toFixed(0),
  });
}
console.table(rows);
