/**
 * The ONNX backend node tests bundled in fixtures/ (Apache-2.0), both sets — onnx-node-tests.tgz (804) and
 * onnx-node-tests-more.tgz (998, the opset-23/24 transformer ops among them) — extracted once per machine.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';

const ROOT = resolve(import.meta.dirname, '../..');
export const NODE_TESTS_TGZ = [
  join(ROOT, 'fixtures/onnx-node-tests.tgz'),
  join(ROOT, 'fixtures/onnx-node-tests-more.tgz'),
];

/** Directory holding the test_NAME folders; extracted under the OS temp dir if not there yet. */
export function nodeTestsDir(): string {
  const dir = join(tmpdir(), 'amp-convert-node-tests-v2');
  if (!existsSync(join(dir, 'test_abs')) || !existsSync(join(dir, 'test_attention_3d'))) {
    const tmp = `${dir}.${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    for (const tgz of NODE_TESTS_TGZ) execFileSync('tar', ['xzf', tgz, '-C', tmp]);
    try {
      renameSync(tmp, dir);
    } catch {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return dir;
}
export function nodeTestNames(): string[] {
  return readdirSync(nodeTestsDir())
    .filter((d) => d.startsWith('test_'))
    .sort();
}
export const fixturePath = (...p: string[]) => join(ROOT, 'fixtures', ...p);
export const repoRoot = ROOT;
/**
 * Node tests whose expected outputs come from numpy's random generator (training-mode Dropout): no other runtime
 * can reproduce them, so executors are not compared on them.
 */
export const RANDOM_NODE_TESTS = /^test_training_dropout/;
