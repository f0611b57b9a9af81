/**
 * `npm run fuzz:attributes`: every int / ints attribute of every ONNX node test (../shared's 804, unpacked by the
 * test helpers) set to each of 0, −1, 3, 1e6, 2³¹, 1e12, −2³¹ in turn, every float / floats one (epsilon, alpha,
 * scales…) to NaN, ±Inf, −1, 0 and 1e30, every string one (auto_pad, mode…) to values other ops take, and the model run on the CPU executor with the test's inputs. The contract: a result or an AmpError (bad input), within TIMEOUT_MS — never another exception,
 * a crash or a hang. Runs are made in a child process that reports each case; the parent restarts it past a case
 * that hangs or crashes, and prints those cases, other exceptions and runs over 2 s.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { nodeTestsDir } from '../test/helpers/nodetests.js';
import { modelFromBytes } from '../src/onnx/io.js';
import { readInputsDir } from '../src/tools/inputs.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { AmpError } from '../src/core/errors.js';
import { decodeModelProto, encodeModelProto } from '../src/onnx/proto/proto.js';

const FLOAT = 1,
  INT = 2,
  STRING = 3,
  FLOATS = 6,
  INTS = 7,
  STRINGS = 8;
/** The values tried, by attribute type (a list attribute gets the value in every place). */
const VALUES: Record<number, (number | string)[]> = {
  [INT]: [0, -1, 3, 1e6, 2 ** 31, 1e12, -(2 ** 31)],
  [FLOAT]: [NaN, Infinity, -Infinity, -1, 0, 1e30],
  // Strings valid for some op and not this one (auto_pad, mode, coordinate_transformation_mode, reduction…).
  [STRING]: ['', 'SAME_LOWER', 'VALID', 'wrap', 'cubic', 'tf_crop_and_resize', 'max', 'DCR', 'no such mode'],
};
VALUES[INTS] = VALUES[INT];
VALUES[FLOATS] = VALUES[FLOAT];
VALUES[STRINGS] = VALUES[STRING];
const TIMEOUT_MS = 15_000,
  SLOW_MS = 2000;
const dir = nodeTestsDir();

/** Every (test, node, attribute, value) to try, in a fixed order. */
function cases(): [string, number, number, number][] {
  const out: [string, number, number, number][] = [];
  for (const n of readdirSync(dir)
    .filter((d) => d.startsWith('test_'))
    .sort()) {
    const mp = decodeModelProto(readFileSync(join(dir, n, 'model.onnx')));
    (mp.graph!.node ?? []).forEach((node, ni) =>
      (node.attribute ?? []).forEach((a, ai) => {
        (VALUES[a.type ?? 0] ?? []).forEach((_, vi) => out.push([n, ni, ai, vi]));
      }),
    );
  }
  return out;
}

if (process.argv[2] === '--child') {
  const all = cases();
  for (let c = Number(process.argv[3]); c < all.length; c++) {
    const [n, ni, ai, vi] = all[c];
    const mp = decodeModelProto(readFileSync(join(dir, n, 'model.onnx')));
    const a = mp.graph!.node![ni].attribute![ai];
    const v = VALUES[a.type!][vi];
    if (a.type === INT) a.i = v as never;
    else if (a.type === INTS) a.ints = (a.ints?.length ? a.ints : [0]).map(() => v) as never;
    else if (a.type === FLOAT) a.f = v as number;
    else if (a.type === STRING) a.s = new TextEncoder().encode(v as string);
    else if (a.type === STRINGS)
      a.strings = (a.strings?.length ? a.strings : [new Uint8Array()]).map(() => new TextEncoder().encode(v as string));
    else a.floats = (a.floats?.length ? a.floats : [0]).map(() => v as number);
    let outcome = 'ok';
    const t0 = performance.now();
    try {
      const m = modelFromBytes(encodeModelProto(mp));
      new CpuExecutor(m).runSync(readInputsDir(m, join(dir, n, 'test_data_set_0')));
    } catch (e) {
      outcome =
        e instanceof AmpError
          ? 'bad input'
          : `EXCEPTION ${(e as Error).name}: ${String((e as Error).message).slice(0, 120)}`;
    }
    console.log([c, all.length, n, `${a.name}=${v}`, outcome, (performance.now() - t0).toFixed(0)].join('\t'));
  }
} else {
  const self = fileURLToPath(import.meta.url);
  let next = 0,
    total = Infinity,
    done = 0;
  const findings: string[] = [];
  while (next < total) {
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx/esm', self, '--child', String(next)], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          findings.push(`case ${next}: no result in ${TIMEOUT_MS / 1000} s (hang)`);
          next++;
          child.kill('SIGKILL');
        }, TIMEOUT_MS);
      };
      arm();
      createInterface({ input: child.stdout }).on('line', (line) => {
        const [c, n, test, attr, outcome, ms] = line.split('\t');
        next = Number(c) + 1;
        total = Number(n);
        done++;
        arm();
        if (outcome.startsWith('EXCEPTION') || Number(ms) > SLOW_MS)
          findings.push(`case ${c} ${test} ${attr}: ${outcome}, ${ms} ms`);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (total === Infinity && signal !== 'SIGKILL') {
          console.error(`fuzz:attributes: the child process did not start (${signal ?? `exit ${code}`})`);
          process.exit(2);
        }
        if ((code || signal) && signal !== 'SIGKILL' && next < total) {
          findings.push(`case ${next}: the child died (${signal ?? `exit ${code}`})`);
          next++;
        }
        resolve();
      });
    });
  }
  console.log(`fuzz:attributes: ${done} runs over ${total} cases; ${findings.length} finding(s)`);
  for (const f of findings) console.log(`  ${f}`);
  process.exitCode = findings.length ? 1 : 0;
}
