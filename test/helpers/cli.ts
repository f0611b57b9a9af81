/** Runs the real CLI in a child process (proves exit codes and what reaches stderr). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './nodetests.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'src/cli/main.ts'), ...args], {
    cwd: opts.cwd ?? repoRoot,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the CLI in this process (the same `main` the binary runs) with stdout/stderr captured: the fast way
 * to check many bad inputs. Exit codes and messages are the binary's; signals and process-level effects
 * need `cli` above.
 */
export async function cliIn(args: string[]): Promise<CliResult> {
  const { main } = await import('../../src/cli/main.js');
  const out: string[] = [],
    err: string[] = [];
  const ow = process.stdout.write.bind(process.stdout),
    ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: unknown) => {
    out.push(String(c));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((c: unknown) => {
    err.push(String(c));
    return true;
  }) as typeof process.stderr.write;
  const saved = process.exitCode;
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'amp-convert', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exitCode = saved;
  }
}
