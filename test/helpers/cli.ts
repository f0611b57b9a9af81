/** Runs the real CLI in a child process (proves exit codes and what reaches stderr). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './nodetests.js';

export interface CliResult { code: number; stdout: string; stderr: string }
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'src/cli/main.ts'), ...args], {
    cwd: opts.cwd ?? repoRoot, encoding: 'utf8', env: { ...process.env, ...opts.env }, timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
