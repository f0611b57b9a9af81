/**
 * npm run train-experiment [-- webgpu] — the full training check: digits, 3 seeds, 20 epochs, at the natural gradient
 * scale and in a small-gradient regime (loss ×1e-6, gradients divided back in fp32), printing the Markdown
 * tables used in README.md and writing the HTML reports to out/.
 */
import { mkdirSync } from 'node:fs';
import { trainCheck, formatTrainCheck } from '../src/train-check.js';
import { renderTrainHtml } from '../src/report/train-html.js';
import { writeFileAtomic } from '../src/onnx/io.js';

mkdirSync('out', { recursive: true });
const backend = (process.argv[2] ?? 'cpu') as 'cpu' | 'webgpu' | 'auto';
for (const lossMultiplier of [1, 1e-6]) {
  const r = await trainCheck({ data: 'digits', epochs: 20, seeds: [1, 2, 3], lossMultiplier, backend });
  writeFileAtomic(`out/train-check-digits-${backend}-x${lossMultiplier}.html`, renderTrainHtml(r));
  console.log(`${formatTrainCheck(r)}\n(${(r.ms / 1000).toFixed(1)} s)\n`);
}
