/** `amp-convert model.onnx` (the default command): convert to fp16/bf16 and print a one-screen summary. */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import cliProgress from 'cli-progress';
import { loadModel, saveModel, convert, formatSummary, readInputs, renderHtml, writeFileAtomic, type ConvertRunOptions, type Model } from '../../index.js';
import { addInputOptions, inputSets, tolerance, list, repeat, type InputFlags } from '../options.js';

/** model.onnx → model.fp16.onnx beside it. */
export function defaultOutput(input: string, target: 'fp16' | 'bf16'): string {
  const b = basename(input);
  return join(dirname(input), `${b.endsWith('.onnx') ? b.slice(0, -5) : b}.${target}.onnx`);
}

interface Opts extends InputFlags { calibrate?: string | boolean; maxActivation?: string; maxReduction?: string; tolerance?: string; report?: string; output?: string; keepIoTypes?: boolean; bf16?: boolean; allow?: string[]; deny?: string[]; keepFp32?: string[]; config?: string; json?: boolean; force?: boolean; externalData?: boolean }

export function register(program: Command): void {
  addInputOptions(program.command('convert <model>', { isDefault: true }), 'for --calibrate, --tolerance and --report')
    .description('convert a model to mixed precision (writes <model>.fp16.onnx)')
    .option('-o, --output <file>', 'output path (default: <model>.fp16.onnx beside the input)')
    .option('--keep-io-types', 'keep the model inputs/outputs fp32 (casts at the edge)')
    .option('--bf16', 'convert to bfloat16 instead of float16')
    .option('--allow <ops>', 'op types to force into low precision (comma list)', list)
    .option('--deny <ops>', 'op types to keep fp32 (comma list)', list)
    .option('--keep-fp32 <name|/re/>', 'node name or /regex/ to keep fp32 (repeatable)', repeat)
    .option('--config <amp.json>', 'JSON file with the same options (target, keepIoTypes, allow, deny, keepFp32)')
    .option('--external-data', 'write weights to an external data file')
    .option('--calibrate [dir]', 'keep fp32 the nodes whose activations exceed --max-activation on these inputs')
    .option('--max-activation <x>', 'activation bound for --calibrate', '65504')
    .option('--max-reduction <n>', 'keep fp32 reductions deeper than N elements (with --calibrate)')
    .option('--tolerance <spec>', 'keep the fewest nodes fp32 so every output meets rel=..,cos=..')
    .option('--report <out.html>', 'write a precision-diff report of the conversion')
    .option('--json', 'print the summary as JSON')
    .option('--force', 'overwrite an existing output')
    .action(async (file: string, o: Opts) => {
      const t0 = performance.now();
      const model = loadModel(file);
      const needInputs = o.calibrate !== undefined || o.tolerance || o.report;
      const options: ConvertRunOptions = {
        target: o.bf16 ? 'bf16' : undefined, keepIoTypes: o.keepIoTypes, allow: o.allow, deny: o.deny, keepFp32: o.keepFp32, config: o.config,
        inputs: needInputs ? (typeof o.calibrate === 'string' ? [readInputs(model, o.calibrate)] : inputSets(model, o, 1)) : undefined,
        calibrate: o.calibrate !== undefined ? { maxActivation: Number(o.maxActivation), maxReduction: o.maxReduction !== undefined ? Number(o.maxReduction) : undefined } : undefined,
        tolerance: o.tolerance ? tolerance(o.tolerance) : undefined,
        report: !!o.report,
      };
      const big = model.graph.nodes.length > 2000 || [...model.graph.initializers.values()].reduce((a, t) => a + t.byteLength, 0) > 64 * 2 ** 20;
      const bar = big && process.stderr.isTTY && !o.json ? new cliProgress.SingleBar({ format: 'converting {bar} {stage}', clearOnComplete: true }, cliProgress.Presets.shades_classic) : undefined;
      bar?.start(3, 0, { stage: 'pass' });
      const r = await convert(model, options);
      const out = o.output ?? defaultOutput(file, r.summary.target);
      bar?.update(1, { stage: 'writing' });
      const saved = saveModel(model, out, { force: o.force, inputPath: file, externalData: o.externalData });
      bar?.update(3, { stage: 'done' });
      bar?.stop();
      const bytesBefore = fileBytes(file, model);
      const bytesAfter = saved.bytes + saved.externalBytes;
      const ms = performance.now() - t0;
      const notes = [...r.notes];
      if (o.report && r.report) {
        writeFileAtomic(o.report, renderHtml(r.report, `${file} → ${out}`), { force: o.force });
        notes[notes.length - 1] = `report: ${o.report} (${notes[notes.length - 1]})`;
      }
      if (o.json) process.stdout.write(`${JSON.stringify({ input: file, output: out, bytesBefore, bytesAfter, ms: Math.round(ms), notes, ...r.summary })}\n`);
      else process.stdout.write(`${formatSummary(r.summary, { input: file, output: out, bytesBefore, bytesAfter, ms })}${notes.map((n) => `\n${n}`).join('')}\n`);
    });
}

function fileBytes(file: string, model: Model): number {
  const ext = new Set<string>();
  let total = statSync(file).size;
  for (const g of model.graph.allGraphs()) for (const t of g.initializers.values()) if (t.external && !ext.has(t.external.path)) { ext.add(t.external.path); total += statSync(t.external.path).size; }
  return total;
}
