import { nodeTestNames } from '../test/helpers/nodetests.js';
import { loadNodeCase } from '../test/helpers/nodecase.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { claimedOps } from '../runtime/cpu/kernels/index.js';
import { toFloat32, type RTensor } from '../src/core/tensor.js';
function compare(got: RTensor | undefined, exp: RTensor): string {
  if (!got) return 'missing';
  if (got.dtype !== exp.dtype) return `dtype ${got.dtype} vs ${exp.dtype}`;
  if (JSON.stringify(got.dims) !== JSON.stringify(exp.dims)) return `dims [${got.dims}] vs [${exp.dims}]`;
  if (typeof exp.data[0] === 'string') return JSON.stringify(got.data) === JSON.stringify(exp.data) ? '' : 'strings differ';
  const a = toFloat32(got), b = toFloat32(exp);
  for (let i = 0; i < b.length; i++) {
    if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    if (!(Math.abs(a[i] - b[i]) <= 1e-7 + 1e-3 * Math.abs(b[i]))) return `[${i}] ${a[i]} vs ${b[i]}`;
  }
  return '';
}
const claimed = new Set(claimedOps());
for (const name of nodeTestNames()) {
  const c = loadNodeCase(name); if (!c) continue;
  const m = c.model();
  if ([...m.graph.allNodes()].some((n) => !claimed.has(n.key))) continue;
  try {
    const out = new CpuExecutor(m).runSync(c.inputs);
    const bad = Object.entries(c.outputs).map(([k, e]) => [k, compare(out[k], e)]).filter(([, r]) => r);
    if (bad.length) console.log(`${name}: ${bad.map(([k, r]) => `${k} ${r}`).join('; ')}`);
  } catch (e) { console.log(`${name}: threw ${(e as Error).message.slice(0, 200)}`); }
}
