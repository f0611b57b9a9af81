/** `amp-convert diff original.onnx converted.onnx`: where precision went, tensor by tensor. */
import type { Command } from 'commander';
import { loadModel, writeFileAtomic } from '../../onnx/io.js';
import { readInputs, randomInputs, parseShapes } from '../../inputs.js';
import { diff, DEFAULT_TOLERANCE } from '../../diff.js';
import { parseTolerance } from '../../report/stats.js';
import { renderText, renderMarkdown, renderJson, renderHtml } from '../../report/render.js';
import { AmpError } from '../../errors.js';
import type { Model } from '../../ir/graph.js';
import type { RTensor } from '../../../runtime/tensor.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export interface InputFlags { inputs?: string; random?: string; seed: string; shape?: string[] }
/** The input options diff and convert share. */
export function addInputOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--inputs <dir|file.json>', `input_N.pb directory or JSON file ${what}`)
    .option('--random <n>', 'N seeded random input sets instead of --inputs')
    .option('--seed <s>', 'seed for --random', '0')
    .option('--shape <name=d1,d2,..>', 'dims for inputs with symbolic dims (repeatable)', collect);
}
/** The input sets a command asked for: one from --inputs, or N seeded random sets. */
export function inputSets(model: Model, o: InputFlags, defaultRandom = 0): Record<string, RTensor>[] {
  if (o.inputs) return [readInputs(model, o.inputs)];
  const n = o.random !== undefined ? Number(o.random) : defaultRandom;
  if (!Number.isInteger(n) || n < 1) throw new AmpError('give --inputs DIR|file.json or --random N (N ≥ 1)');
  return Array.from({ length: n }, (_, i) => randomInputs(model, Number(o.seed) + i, parseShapes(o.shape)));
}
export function tolerance(spec?: string) {
  if (!spec) return DEFAULT_TOLERANCE;
  try { return parseTolerance(spec); } catch (e) { throw new AmpError((e as Error).message); }
}

export function register(program: Command): void {
  addInputOptions(program.command('diff <original> <converted>')
    .description('compare an fp32 model and its converted version on the same inputs, tensor by tensor'), '(the first set is used)')
    .option('--tolerance <spec>', 'rel=..,cos=.. (default rel=0.01,cos=0.999)')
    .option('--top <k>', 'rows in the ranked table', '10')
    .option('--json', 'print the whole report as JSON')
    .option('--md <file>', 'write a Markdown report')
    .option('--html <file>', 'write a self-contained HTML report')
    .option('--force', 'overwrite report files')
    .action(async (a: string, b: string, o: InputFlags & { tolerance?: string; top: string; json?: boolean; md?: string; html?: string; force?: boolean }) => {
      const original = loadModel(a), converted = loadModel(b);
      const [feeds] = inputSets(original, o, 1);
      const r = await diff(original, converted, feeds, { tolerance: tolerance(o.tolerance) });
      if (o.md) writeFileAtomic(o.md, renderMarkdown(r, Number(o.top) * 2), { force: o.force });
      if (o.html) writeFileAtomic(o.html, renderHtml(r, `${a} vs ${b}`), { force: o.force });
      process.stdout.write(o.json ? `${renderJson(r)}\n` : `${renderText(r, Number(o.top))}\n`);
      if (!r.outputsMeet) process.exitCode = 1;
    });
}
