import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fixtureModels, fixtureModelPath } from '../test/helpers/fixtures.js';
import { convertSync } from '../src/tools/convert.js';
import { convert } from '../src/index.js';
import { loadModel } from '../src/onnx/io.js';
const dir = mkdtempSync(join(tmpdir(), 'casts-'));
const rows = [];
for (const n of fixtureModels()) {
  const src = fixtureModelPath(n);
  const row: Record<string, unknown> = { model: n };
  for (const keep of [false, true]) {
    const t = keep ? ' K' : '';
    row['static' + t] = convertSync(loadModel(src), { keepIoTypes: keep }).summary.casts.total;
    row['verified' + t] = (await convert(loadModel(src), { keepIoTypes: keep })).summary.casts.total;
    const dst = join(dir, `${n}.occ${keep}.onnx`);
    const r = spawnSync('/usr/bin/python3', ['bench/occ.py', src, dst, keep ? 'keep-io' : 'x'], { encoding: 'utf8', env: { ...process.env, OCC_PATH: '/tmp/occ' } });
    row['occ' + t] = r.stdout.trim().split('\n').pop();
  }
  rows.push(row);
}
console.table(rows);
