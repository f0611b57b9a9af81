#!/usr/bin/env node
/**
 * The CLI: a thin shell over the library (src/index.ts). Commands live in ./commands, one file each.
 * Bad input (AmpError) → one line `amp-convert: <file>: <problem>` and exit 2; `--verbose` adds the stack.
 */
import { Command } from 'commander';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands } from './commands/index.js';
import { AmpError, printable, setMaxTensorBytes } from '../index.js';

/** The package version, from the package.json above this file (in src/cli or dist/src/cli). */
function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const f = join(dir, 'package.json');
    if (existsSync(f)) return (JSON.parse(readFileSync(f, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

export function buildProgram(): Command {
  const program = new Command('amp-convert')
    .description('Mixed-precision (fp16/bf16) conversion for ONNX models, proved by running them')
    .version(version(), '-V, --version')
    .option('--verbose', 'print stack traces and extra detail')
    .option('--max-memory <MiB>', 'largest tensor a run may allocate (default: a quarter of the RAM, at most 16 GiB)')
    .showHelpAfterError()
    // Before the commands are added, so they inherit it: usage errors reach main() and exit 2.
    .exitOverride();
  for (const c of commands) c.register(program);
  program.hook('preAction', () => {
    const v = program.opts<{ maxMemory?: string }>().maxMemory;
    if (v === undefined) return;
    const mb = Number(v);
    if (!(mb > 0)) throw new AmpError(`--max-memory must be a positive number of MiB (got '${v}')`);
    setMaxTensorBytes(mb * 2 ** 20);
  });
  return program;
}

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

export async function main(argv = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // A command may report a verdict through the exit code (diff: 1 when outputs miss the tolerance).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    }
    const verbose = argv.includes('--verbose');
    if (e instanceof AmpError) {
      // A problem found deep in the pass or a runtime without a file of its own is about the model given
      // (not an option's value: those messages name the option).
      const file =
        e.file ?? (e.message.startsWith('--') ? undefined : argv.slice(2).find((a) => !a.startsWith('-') && isFile(a)));
      process.stderr.write(`amp-convert: ${(file && !e.file ? e.reissue(e.message, file) : e).oneLine()}\n`);
      if (verbose) process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    process.stderr.write(`amp-convert: internal error: ${printable(String((e as Error)?.message ?? e), 600)}\n`);
    if (verbose) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

// Run when executed directly (not when imported by tests).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // A reader that went away (`amp-convert ... | head`) ends the run quietly, as for any Unix tool: no stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  main().then((code) => {
    process.exitCode = code;
  });
}
