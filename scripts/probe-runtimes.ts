/**
 * `npm run probe:runtimes` — the observations behind passes/runtimes.ts's ort-cpu and ort-web-webgpu profiles.
 * For each runtime and target: every node test the runtime loads in fp32 (on the WebGPU provider: wholly on it) is
 * converted with every op forced low and loaded again; per op, how often it loaded low and how often it was
 * the op that failed. Prints the ops that never failed and those that did.
 */
import {
  failingOp,
  ortCpuLoader,
  ortWebGpuLoader,
  probeNodeTests,
  type Loader,
} from '../test/helpers/runtime-probe.js';

async function probe(load: Loader, target: 'fp16' | 'bf16') {
  const ran = new Map<string, number>(),
    failed = new Map<string, string[]>();
  let tried = 0;
  // onnxruntime-node cannot feed bf16 tensors: graph I/O keeps its types so the load tests the nodes.
  for await (const { name, ops, err } of probeNodeTests(load, { target, keepIoTypes: true })) {
    if (!ops.length) continue;
    tried++;
    if (!err) {
      for (const o of ops) ran.set(o, (ran.get(o) ?? 0) + 1);
      continue;
    }
    const named = failingOp(err);
    for (const o of named && ops.includes(named) ? [named] : ops.length === 1 ? ops : [`? (${ops.join(',')})`])
      (failed.get(o) ?? failed.set(o, []).get(o)!).push(name);
  }
  const never = [...ran.keys()].filter((o) => !failed.has(o)).sort();
  console.log(
    `  ${tried} node tests converted; ops that loaded low and never failed (${never.length}): ${never.join(' ')}`,
  );
  for (const [o, names] of [...failed].sort())
    console.log(
      `  failed: ${o} in ${names.length} (${names.slice(0, 3).join(' ')}${names.length > 3 ? ' …' : ''}); loaded in ${ran.get(o) ?? 0}`,
    );
}

for (const [runtime, loader] of [
  ['ort-cpu', async () => ortCpuLoader],
  ['ort-web-webgpu', ortWebGpuLoader],
] as const) {
  for (const target of ['fp16', 'bf16'] as const) {
    console.log(`${runtime} ${target}:`);
    await probe(await loader(), target);
  }
}
process.exit(0);
