/** `amp-convert diff original.onnx converted.onnx`: where precision went, tensor by tensor. */
import type { Command } from 'commander';
import { loadModel, writeFileAtomic, modelFiles, diff, renderText, renderMarkdown, renderJson, renderHtml } from '../../index.js';
import { addInputOptions, inputSets, tolerance, type InputFlags } from '../options.js';

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
      const protect = [...modelFiles(original, a), ...modelFiles(converted, b)];
      if (o.md) writeFileAtomic(o.md, renderMarkdown(r, Number(o.top) * 2), { force: o.force, protect });
      if (o.html) writeFileAtomic(o.html, renderHtml(r, `${a} vs ${b}`), { force: o.force, protect });
      process.stdout.write(o.json ? `${renderJson(r)}\n` : `${renderText(r, Number(o.top))}\n`);
      if (!r.outputsMeet) process.exitCode = 1;
    });
}
