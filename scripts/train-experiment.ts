/**
 * npm run train-experiment [-- webgpu [digits|fashion-mnist]] — the full training check, 3 seeds: digits (20 epochs)
 * at the natural gradient scale and in a small-gradient regime (loss ×1e-6, gradients divided back in fp32), and
 * all of Fashion-MNIST (60 000 / 10 000, 5 epochs, batch 64); prints the Markdown tables used in docs/training.md and
 * writes the HTML reports to out/.
 */
import { mkdirSync } from 'node:fs';
import { trainCheck, formatTrainCheck } from '../src/tools/train-check.js';
import { renderTrainHtml } from '../src/tools/report/train-html.js';
import { writeFileAtomic } from '../src/core/fs.js';

mkdirSync('out', { recursive: true });
const backend = (process.argv[2] ?? 'cpu') as 'cpu' | 'webgpu' | 'auto';
const only = process.argv[3];
const runs = [
  { data: 'digits', epochs: 20, lossMultiplier: 1 },
  { data: 'digits', epochs: 20, lossMultiplier: 1e-6 },
  // Fashion-MNIST, the whole set; batch 64 halves the per-step dispatch overhead of batch 32 on lavapipe (lr scaled with it).
  { data: 'fashion-mnist', epochs: 5, lossMultiplier: 1, trainLimit: 60000, testLimit: 10000, lr: 0.02, batch: 64 },
];
for (const run of runs.filter((r) => !only || r.data === only)) {
  const r = await trainCheck({ ...run, seeds: [1, 2, 3], backend });
  writeFileAtomic(`out/train-check-${run.data}-${backend}-x${run.lossMultiplier}.html`, renderTrainHtml(r), {
    force: true,
  });
  console.log(`${formatTrainCheck(r)}\n(${(r.ms / 1000).toFixed(1)} s)\n`);
}
