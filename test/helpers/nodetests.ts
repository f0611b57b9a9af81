/** The ONNX backend node tests bundled in fixtures/ (Apache-2.0), extracted once per machine. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';

const ROOT = resolve(import.meta.dirname, '../..');
export const NODE_TESTS_TGZ = join(ROOT, 'fixtures/onnx-node-tests.tgz');

/** Directory holding the test_NAME folders; extracted under the OS temp dir if not there yet. */
export function nodeTestsDir(): string {
  const dir = join(tmpdir(), 'amp-convert-node-tests-v1');
  if (!existsSync(join(dir, 'test_abs'))) {
    const tmp = `${dir}.${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    execFileSync('tar', ['xzf', NODE_TESTS_TGZ, '-C', tmp]);
    try { renameSync(tmp, dir); } catch { rmSync(tmp, { recursive: true, force: true }); }
  }
  return dir;
}
export function nodeTestNames(): string[] {
  return readdirSync(nodeTestsDir()).filter((d) => d.startsWith('test_')).sort();
}
export const fixturePath = (...p: string[]) => join(ROOT, 'fixtures', ...p);
export const repoRoot = ROOT;
