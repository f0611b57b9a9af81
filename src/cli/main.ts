#!/usr/bin/env node
/**
 * The CLI: a thin shell over the library (src/index.ts). Commands live in ./commands, one file each.
 * Bad input (AmpError) → one line `amp-convert: <file>: <problem>` and exit 2; `--verbose` adds the stack.
 */
import { Command } from 'commander';
import { commands } from './commands/index.js';
import { AmpError } from '../index.js';

export function buildProgram(): Command {
  const program = new Command('amp-convert')
    .description('Mixed-precision (fp16/bf16) conversion for ONNX models, proved by running them')
    .option('--verbose', 'print stack traces and extra detail')
    .showHelpAfterError();
  for (const c of commands) c.register(program);
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
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
      process.stderr.write(`amp-convert: ${e.oneLine()}\n`);
      if (verbose) process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    process.stderr.write(`amp-convert: internal error: ${(e as Error).message}\n`);
    if (verbose) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

// Run when executed directly (not when imported by tests).
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then((code) => { process.exitCode = code; });
}
