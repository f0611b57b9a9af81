import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../src/onnx/io.js';
import { cpuKernels } from '../runtime/cpu/kernels/index.js';
import { typeRules } from '../src/ir/infer-rules.js';
import { OP_POLICY } from '../passes/policy.js';
const ops = new Map<string, Set<string>>();
for (const root of ['/tmp/nt-base', '/tmp/nt-more']) for (const d of readdirSync(root)) {
  const f = join(root, d, 'model.onnx'); if (!existsSync(f)) continue;
  let m; try { m = loadModel(f); } catch (e) { console.log('LOADFAIL', d, (e as Error).message.slice(0,150)); continue; }
  for (const n of m.graph.allNodes()) { const k = (n.domain ? n.domain + '.' : '') + n.opType; if (!ops.has(k)) ops.set(k, new Set()); ops.get(k)!.add(`${d}@${m.opset('')}`); }
}
for (const [k, s] of [...ops].sort()) {
  const miss = [!cpuKernels[k] && 'kernel', !typeRules[k] && !['If','Loop','Scan'].includes(k) && 'type', !OP_POLICY[k] && 'policy'].filter(Boolean);
  if (miss.length) console.log(k, miss.join(','), s.size, [...s].slice(0, 3).join(' '));
}
