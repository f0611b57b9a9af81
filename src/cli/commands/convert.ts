/** `amp-convert model.onnx` (the default command): convert to fp16/bf16 and print a one-screen summary. */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import cliProgress from 'cli-progress';
import { loadModel, saveModel } from '../../onnx/io.js';
import { convertSync, type ConvertOptions } from '../../convert.js';
import { formatSummary } from '../../../passes/summary.js';
import { encodeModel, modelFromBytes, writeFileAtomic } from '../../onnx/io.js';
import { readInputs } from '../../inputs.js';
import { inputSets, tolerance, addInputOptions, type InputFlags } from './diff.js';
import { calibrate } from '../../../passes/calibrate.js';
import { fallback } from '../../../passes/fallback.js';
import { diff } from '../../diff.js';
import { renderHtml } from '../../report/render.js';

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
const repeat = (v: string, prev: string[] = []) => [...prev, v];

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
      const options: ConvertOptions = {
        target: o.bf16 ? 'bf16' : undefined, keepIoTypes: o.keepIoTypes, allow: o.allow, deny: o.deny, keepFp32: o.keepFp32, config: o.config,
      };
      const model = loadModel(file);
      const needInputs = o.calibrate !== undefined || o.tolerance || o.report;
      const sets = needInputs ? (typeof o.calibrate === 'string' ? [readInputs(model, o.calibrate)] : inputSets(model, o, 1)) : [];
      const notes: string[] = [];
      if (o.calibrate !== undefined) {
        const cal = calibrate(model, sets, { maxActivation: Number(o.maxActivation), maxReduction: o.maxReduction !== undefined ? Number(o.maxReduction) : undefined });
        options.keepFp32 = [...(options.keepFp32 ?? []), ...cal.keepFp32];
        notes.push(`calibration (${sets.length} input set${sets.length > 1 ? 's' : ''}): kept fp32 ${cal.keepFp32.length ? cal.keepFp32.map((k) => `${k} (${cal.reasons[k]})`).join(', ') : 'nothing'}`);
      }
      const originalBytes = o.report || o.tolerance ? encodeModel(model) : undefined;
      if (o.tolerance) {
        const fb = await fallback(modelFromBytes(originalBytes!), sets[0], tolerance(o.tolerance), options);
        options.keepFp32 = [...(options.keepFp32 ?? []), ...fb.keepFp32];
        notes.push(`tolerance ${o.tolerance}: ${fb.met ? 'met' : 'NOT met'} keeping ${fb.keepFp32.length ? fb.keepFp32.join(', ') : 'no extra node'} fp32; ${fb.evaluations} evaluations in ${(fb.ms / 1000).toFixed(2)} s`);
      }
      const big = model.graph.nodes.length > 2000 || [...model.graph.initializers.values()].reduce((a, t) => a + t.byteLength, 0) > 64 * 2 ** 20;
      const bar = big && process.stderr.isTTY && !o.json ? new cliProgress.SingleBar({ format: 'converting {bar} {stage}', clearOnComplete: true }, cliProgress.Presets.shades_classic) : undefined;
      bar?.start(3, 0, { stage: 'pass' });
      const { summary } = convertSync(model, options);
      const out = o.output ?? defaultOutput(file, summary.target);
      bar?.update(1, { stage: 'writing' });
      const saved = saveModel(model, out, { force: o.force, inputPath: file, externalData: o.externalData });
      bar?.update(3, { stage: 'done' });
      bar?.stop();
      const bytesBefore = fileBytes(file, model);
      const bytesAfter = saved.bytes + saved.externalBytes;
      const ms = performance.now() - t0;
      if (o.report) {
        const r = await diff(modelFromBytes(originalBytes!), model, sets[0]);
        writeFileAtomic(o.report, renderHtml(r, `${file} → ${out}`), { force: o.force });
        notes.push(`report: ${o.report} (outputs ${r.outputsMeet ? 'meet' : 'do not meet'} rel=${r.tolerance.rel}, cos=${r.tolerance.cos})`);
      }
      if (o.json) process.stdout.write(`${JSON.stringify({ input: file, output: out, bytesBefore, bytesAfter, ms: Math.round(ms), notes, ...summary })}\n`);
      else process.stdout.write(`${formatSummary(summary, { input: file, output: out, bytesBefore, bytesAfter, ms })}${notes.map((n) => `\n${n}`).join('')}\n`);
    });
}

function fileBytes(file: string, model: ReturnType<typeof loadModel>): number {
  const ext = new Set<string>();
  let total = statSync(file).size;
  for (const g of model.graph.allGraphs()) for (const t of g.initializers.values()) if (t.external && !ext.has(t.external.path)) { ext.add(t.external.path); total += statSync(t.external.path).size; }
  return total;
}
