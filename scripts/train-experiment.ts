/**
 * npm run train-experiment [-- webgpu [digits|fashion-mnist]] — the full training check, 3 seeds: digits (20 epochs)
 * at the natural gradient scale and in a small-gradient regime (loss ×1e-6, gradients divided back in fp32), and a
 * Fashion-MNIST subset; prints the Markdown tables used in README.md and writes the HTML reports to out/.
 */
import { mkdirSync } from 'node:fs';
import { trainCheck, formatTrainCheck } from '../src/tools/train-check.js';
import { renderTrainHtml } from '../src/tools/report/train-html.js';
import { writeFileAtomic } from '../src/onnx/io.js';

mkdirSync('out', { recursive: true });
const backend = (process.argv[2] ?? 'cpu') as 'cpu' | 'webgpu' | 'auto';
const only = process.argv[3];
const runs = [
  { data: 'digits', epochs: 20, lossMultiplier: 1 },
  { data: 'digits', epochs: 20, lossMultiplier: 1e-6 },
  // Fashion-MNIST: the first 10000 training and 2000 test images (the CPU reference's speed sets the budget).
  { data: 'fashion-mnist', epochs: 5, lossMultiplier: 1, trainLimit: 10000, testLimit: 2000, lr: 0.01 },
];
for (const run of runs.filter((r) => !only || r.data === only)) {
  const r = await trainCheck({ ...run, seeds: [1, 2, 3], backend });
  writeFileAtomic(`out/train-check-${run.data}-${backend}-x${run.lossMultiplier}.html`, renderTrainHtml(r), { force: true });
  console.log(`${formatTrainCheck(r)}\n(${(r.ms / 1000).toFixed(1)} s)\n`);
}
