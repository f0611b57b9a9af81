/** CLI options several commands share (inputs, shapes, tolerance, lists), parsed in one place. */
import type { Command } from 'commander';
import {
  AmpError,
  readInputs,
  randomInputs,
  parseShapes,
  parseTolerance,
  type Model,
  type RTensor,
  type Tolerance,
} from '../index.js';

/** Repeatable option: each occurrence appended. */
export const repeat = (v: string, prev: string[] = []): string[] => [...prev, v];
/** Comma-list option, repeatable. */
export const list = (v: string, prev: string[] = []): string[] => [
  ...prev,
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

export interface InputFlags {
  inputs?: string;
  random?: string;
  seed: string;
  shape?: string[];
}
/** The input options diff and convert share. */
export function addInputOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--inputs <dir|file.json>', `input_N.pb directory or JSON file ${what}`)
    .option('--random <n>', 'N seeded random input sets instead of --inputs')
    .option('--seed <s>', 'seed for --random', '0')
    .option('--shape <name=d1,d2,..>', 'dims for inputs with symbolic dims (repeatable)', repeat);
}
/** Synthesized input sets are held at once: more than this is a typo, not a request (each set is a full feed). */
export const MAX_RANDOM_SETS = 1000;

/** The input sets a command asked for: one from --inputs, or N seeded random sets. */
export function inputSets(model: Model, o: InputFlags, defaultRandom = 0): Record<string, RTensor>[] {
  if (o.inputs) return [readInputs(model, o.inputs)];
  const n = o.random !== undefined ? Number(o.random) : defaultRandom;
  if (!Number.isInteger(n) || n < 1 || n > MAX_RANDOM_SETS)
    throw new AmpError(`give --inputs DIR|file.json or --random N (1 ≤ N ≤ ${MAX_RANDOM_SETS})`);
  return Array.from({ length: n }, (_, i) => randomInputs(model, Number(o.seed) + i, parseShapes(o.shape)));
}
/**
 * --tolerance rel=..,cos=..: the fields named (none when absent — the run's default then holds, fp16's or bf16's by
 * the model); a bad spec is a usage error (exit 2).
 */
export function tolerance(spec?: string): Tolerance {
  if (!spec) return {};
  try {
    return parseTolerance(spec);
  } catch (e) {
    throw new AmpError((e as Error).message);
  }
}

/** --tolerance-output name:spec (repeatable). */
export function outputTolerances(specs: string[] = []): Record<string, Tolerance> | undefined {
  if (!specs.length) return undefined;
  return Object.fromEntries(
    specs.map((s) => {
      const i = s.lastIndexOf(':');
      if (i <= 0) throw new AmpError(`--tolerance-output '${s}' must look like name:atol=..,rtol=..`);
      return [s.slice(0, i), tolerance(s.slice(i + 1))];
    }),
  );
}
