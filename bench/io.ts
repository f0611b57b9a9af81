/**
 * npm run bench:io — decode+encode of a ≥ 500 MB fp32 model (inline and external data) against
 * fs.copyFile of the same bytes, measured in the same run; each phase runs in its own process so its peak
 * RSS is its own. Aim: ≤ 3× copy time, peak RSS ≤ 1.5× model size.
 */
import { copyFileSync, mkdtempSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadModel, saveModel } from '../src/onnx/io.js';
import { time, peakRss, runPhase, bigModel, MiB } from './util.js';

const self = fileURLToPath(import.meta.url);
const arg = (k: string) => process.argv[process.argv.indexOf(k) + 1];

if (process.argv.includes('--phase')) {
  const phase = arg('--phase'),
    dir = arg('--dir');
  const inline = join(dir, 'big.onnx'),
    ext = join(dir, 'ext', 'big.onnx');
  let ms = 0;
  if (phase === 'baseline') ms = 0;
  else if (phase === 'copy') ms = time(() => copyFileSync(inline, join(dir, 'copy.onnx'))).ms;
  else if (phase === 'inline') ms = time(() => saveModel(loadModel(inline), join(dir, 'rt.onnx'), { force: true })).ms;
  else if (phase === 'external')
    ms = time(() => saveModel(loadModel(ext), join(dir, 'ext', 'rt.onnx'), { force: true, externalData: true })).ms;
  console.log(JSON.stringify({ ms, rss: peakRss() }));
} else {
  const mb = Number(process.env.BENCH_MB ?? 512);
  const dir = mkdtempSync(join(tmpdir(), 'amp-bench-io-'));
  try {
    const made = time(() => saveModel(bigModel(mb), join(dir, 'big.onnx')));
    mkdirSync(join(dir, 'ext'));
    saveModel(loadModel(join(dir, 'big.onnx')), join(dir, 'ext', 'big.onnx'), { externalData: true });
    const size = statSync(join(dir, 'big.onnx')).size;
    console.log(
      `model: ${(size / MiB).toFixed(0)} MiB of fp32 weights (generated in ${(made.ms / 1000).toFixed(1)} s)`,
    );
    const base = runPhase(self, 'baseline', ['--dir', dir]);
    const rows: Record<string, string>[] = [];
    const copy = runPhase(self, 'copy', ['--dir', dir]);
    for (const phase of ['inline', 'external']) {
      const r = runPhase(self, phase, ['--dir', dir]);
      rows.push({
        phase: `decode+encode (${phase})`,
        ms: r.ms.toFixed(0),
        'copy ms': copy.ms.toFixed(0),
        'vs copy': `${(r.ms / copy.ms).toFixed(2)}×`,
        'peak RSS MiB': (r.rss / MiB).toFixed(0),
        'RSS / model': `${(r.rss / size).toFixed(2)}×`,
        'RSS above runtime / model': `${((r.rss - base.rss) / size).toFixed(2)}×`,
      });
    }
    console.table(rows);
    console.log(`(runtime baseline RSS of an empty phase: ${(base.rss / MiB).toFixed(0)} MiB)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
