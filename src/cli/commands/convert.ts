/**
 * `amp-convert model.onnx` (the default command): convert to fp16/bf16, verified by running it, and print a
 * one-screen summary of what was done and proven. Exit codes: 0 written (verified, or unverifiable with a
 * note, or --no-verify), 1 verification failed after repair (no file unless --force-unverified), 2 bad input.
 */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import cliProgress from 'cli-progress';
import {
  loadModel,
  saveModel,
  modelFiles,
  readFiles,
  checkOutput,
  modelToJson,
  emitBindings,
  loadTsMorph,
  convert,
  formatSummary,
  formatVerification,
  readInputSets,
  parseShapes,
  renderHtml,
  writeFileAtomic,
  AmpError,
  printable,
  RUNTIMES,
  type RuntimeName,
  type ConvertRunOptions,
  type ConvertResult,
  type ConvertJson,
  type Model,
} from '../../index.js';
import { tolerance, list, repeat, outputTolerances, MAX_RANDOM_SETS, type InputFlags } from '../options.js';

/** model.onnx → model.fp16.onnx beside it. */
export function defaultOutput(input: string, target: 'fp16' | 'bf16'): string {
  const b = basename(input);
  return join(dirname(input), `${b.endsWith('.onnx') ? b.slice(0, -5) : b}.${target}.onnx`);
}

interface Opts extends InputFlags {
  verify: boolean;
  forceUnverified?: boolean;
  maxActivation?: string;
  maxReduction?: string;
  tolerance?: string;
  toleranceOutput?: string[];
  maxEvals?: string;
  report?: string;
  output?: string;
  keepIoTypes?: boolean | string;
  bf16?: boolean;
  allow?: string[];
  deny?: string[];
  keepFp32?: string[];
  config?: string;
  decode?: string;
  opset?: string;
  emitIr?: string;
  emitTypes?: string;
  runtime?: string;
  json?: boolean;
  force?: boolean;
  externalData?: boolean;
  clamp?: boolean;
  maxInit?: string;
  minPositive?: string;
}
const randomSets = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_RANDOM_SETS)
    throw new AmpError(`--random must be a whole number from 1 to ${MAX_RANDOM_SETS} (got '${v}')`);
  return n;
};
const num = (v: string | undefined, flag: string): number | undefined => {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new AmpError(`${flag} must be a number ≥ 0 (got '${v}')`);
  return x;
};

/** The convert command's options: flags, help, and a parser or default where one applies. */
const OPTIONS: [string, string, ((v: string, prev: string[]) => string[])?, string?][] = [
  ['-o, --output <file>', 'output path (default: <model>.fp16.onnx beside the input)'],
  [
    '--keep-io-types [names]',
    'keep the model inputs/outputs fp32 (casts at the edge): all, or the comma-listed names and /regex/ patterns',
  ],
  ['--bf16', 'convert to bfloat16 instead of float16'],
  ['--allow <ops>', 'op types to force into low precision (comma list)', list],
  ['--deny <ops>', 'op types to keep fp32 (comma list)', list],
  ['--keep-fp32 <name|/re/>', 'node name or /regex/ to keep fp32 (repeatable)', repeat],
  [
    '--config <amp.json>',
    'JSON file with the conversion options (target, keepIoTypes, allow, deny, keepFp32, clamp, maxInit, minPositive, underflowMass)',
  ],
  ['--external-data', 'write weights to an external data file'],
  ['--opset <n>', 'upgrade the model to this default-domain opset first (e.g. 13 or later for --bf16 on older models)'],
  [
    '--runtime <name>',
    `the runtime the model is for; ops it cannot run in fp16/bf16 stay fp32 (${Object.keys(RUNTIMES).join(', ')}; default portable: all of their limits)`,
  ],
  ['--clamp', 'clamp constants beyond the fp16 range to ±65504 instead of keeping their readers fp32'],
  ['--max-init <x>', 'constants with |x| above this keep their readers fp32 (default 65504 for fp16)'],
  ['--min-positive <x>', 'nonzero constants below this count as underflow (default 2^-24 for fp16)'],
  ['--no-verify', 'the static pass only: no calibration run, no verification'],
  [
    '--inputs <path>',
    'calibration/verification inputs: test_data_set_* dirs, an input_N.pb dir, or JSON (object or array)',
  ],
  ['--random <n>', 'synthesize N input sets (default 2)'],
  ['--seed <s>', 'seed for synthesized inputs', undefined, '0'],
  ['--shape <name=d1,d2,..>', 'dims for inputs with symbolic dims (repeatable)', repeat],
  ['--max-activation <x>', 'keep fp32 the nodes whose activations exceed this (default 8192 for fp16)'],
  ['--max-reduction <n>', 'keep fp32 reductions deeper than N elements'],
  [
    '--tolerance <spec>',
    'output tolerance: atol=..,rtol=..,scale=..,cos=..,rel=.. (default atol=0.001,rtol=0.01,scale=0.02,cos=0.999 for fp16)',
  ],
  ['--tolerance-output <name:spec>', 'tolerance for one output (repeatable)', repeat],
  ['--max-evals <n>', 'conversions the repair may try (default 2·log2(nodes))'],
  ['--decode <n>', 'KV-cache decoders: greedy decode steps checked after the forward pass (default 8; 0: none)'],
  ['--force-unverified', 'write the output even when verification fails (exit code 1 all the same)'],
  ['--report <out.html>', 'write a precision-diff report of the conversion'],
  [
    '--emit-types <out.ts>',
    'also write typed bindings for the converted model (TypeScript: inputs, outputs, a typed onnxruntime run helper)',
  ],
  ['--emit-ir <out.json>', 'also write the converted model in its JSON form (protobuf JSON mapping of ModelProto)'],
  ['--json', 'print the summary as JSON'],
  ['--force', 'overwrite an existing output'],
];

export function register(program: Command): void {
  const cmd = program
    .command('convert <model>', { isDefault: true })
    .description('convert a model to mixed precision, verified by running it (writes <model>.fp16.onnx)');
  for (const [flags, help, parse, dflt] of OPTIONS) {
    if (parse) cmd.option(flags, help, parse);
    else if (dflt !== undefined) cmd.option(flags, help, dflt);
    else cmd.option(flags, help);
  }
  cmd.action(convertAction);
}

async function convertAction(file: string, o: Opts): Promise<void> {
  const t0 = performance.now();
  const model = loadModel(file);
  // Everything this run reads — the model and its data, the config, the input sets — is never an output.
  const inputs = [...modelFiles(model, file), ...readFiles([o.config, o.inputs])];
  await checkOutputsFirst(file, o, inputs);
  if (!o.verify && o.report && !o.inputs) throw new AmpError('--report with --no-verify needs --inputs');
  const options = runOptions(model, o);
  const progress = progressFor(model);
  options.onPhase = progress.onPhase;
  const r = await convert(model, options);
  const out = o.output ?? defaultOutput(file, r.summary.target);
  const failed = r.verification.status === 'failed';
  progress.writing();
  const saved =
    failed && !o.forceUnverified
      ? undefined
      : saveModel(model, out, { force: o.force, inputPath: file, externalData: o.externalData });
  progress.done();
  const bytesBefore = fileBytes(file, model);
  const bytesAfter = saved ? saved.bytes + saved.externalBytes : undefined;
  const ms = performance.now() - t0;
  // The verification's own lines already say what calibration, verification, the edge repair and the decode check did.
  const extra = [
    ...r.notes.filter((n) => n.kind === 'report').map((n) => n.text),
    ...(await writeExtras(file, out, !!saved, o, r, inputs)),
  ];
  if (failed)
    extra.push(
      saved
        ? `written anyway (--force-unverified): ${out}`
        : `no output written: verification failed (write it anyway with --force-unverified)`,
    );
  const notes = [...r.notes.filter((n) => n.kind !== 'report').map((n) => n.text), ...extra];
  const json: ConvertJson = {
    input: file,
    output: saved ? out : null,
    bytesBefore,
    bytesAfter: bytesAfter ?? null,
    ms: Math.round(ms),
    notes,
    ...r.summary,
    verification: r.verification,
  };
  if (o.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  else {
    const summary = formatSummary(r.summary, {
      input: file,
      output: saved ? out : '(not written)',
      bytesBefore,
      bytesAfter,
      ms,
    });
    process.stdout.write(
      `${[summary, ...formatVerification(r.verification), ...extra.map((n) => printable(n, 600))].join('\n')}\n`,
    );
  }
  if (failed) process.exitCode = 1;
}

/** Outputs are checked before the (long) conversion: a path that would be refused fails now. */
async function checkOutputsFirst(file: string, o: Opts, inputs: string[]): Promise<void> {
  checkOutput(o.output ?? defaultOutput(file, o.bf16 ? 'bf16' : 'fp16'), { force: o.force, protect: inputs });
  for (const extra of [o.report, o.emitIr, o.emitTypes])
    if (extra) checkOutput(extra, { force: o.force, protect: inputs });
  if (o.emitTypes) await loadTsMorph();
}

/** The API's options from the command line. */
function runOptions(model: Model, o: Opts): ConvertRunOptions {
  return {
    target: o.bf16 ? 'bf16' : undefined,
    keepIoTypes: typeof o.keepIoTypes === 'string' ? list(o.keepIoTypes) : o.keepIoTypes,
    allow: o.allow,
    deny: o.deny,
    keepFp32: o.keepFp32,
    config: o.config,
    runtime: o.runtime as RuntimeName | undefined,
    clamp: o.clamp,
    maxInit: num(o.maxInit, '--max-init'),
    minPositive: num(o.minPositive, '--min-positive'),
    verify: o.verify,
    inputs: o.inputs ? readInputSets(model, o.inputs) : undefined,
    samples: o.random !== undefined ? randomSets(o.random) : undefined,
    seed: Number(o.seed),
    shapes: parseShapes(o.shape),
    maxActivation: num(o.maxActivation, '--max-activation'),
    maxReduction: num(o.maxReduction, '--max-reduction'),
    tolerance: o.tolerance ? tolerance(o.tolerance) : undefined,
    outputTolerance: outputTolerances(o.toleranceOutput),
    maxEvals: num(o.maxEvals, '--max-evals'),
    report: !!o.report,
    decodeSteps: num(o.decode, '--decode'),
    opset: num(o.opset, '--opset'),
  };
}

/** Progress for models that take a while: a bar on a terminal, else one line per phase on stderr. */
function progressFor(model: Model): { onPhase: (phase: string) => void; writing: () => void; done: () => void } {
  const big =
    model.graph.nodes.length > 2000 ||
    [...model.graph.initializers.values()].reduce((a, t) => a + t.byteLength, 0) > 64 * 2 ** 20;
  const bar =
    big && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { format: 'converting {bar} {stage}', clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  const phases = ['calibrating', 'converting', 'verifying', 'repairing', 'reporting'];
  bar?.start(phases.length + 1, 0, { stage: 'loading' });
  return {
    onPhase: (phase) => {
      if (bar) bar.update(phases.findIndex((p) => phase.startsWith(p)) + 1, { stage: phase });
      else if (big) process.stderr.write(`amp-convert: ${phase}…\n`);
    },
    writing: () => bar?.update(phases.length, { stage: 'writing' }),
    done: () => {
      bar?.update(phases.length + 1, { stage: 'done' });
      bar?.stop();
    },
  };
}

/** The report, typed bindings and JSON form, each where asked (bindings and JSON only beside a written model); a note each. */
async function writeExtras(
  file: string,
  out: string,
  saved: boolean,
  o: Opts,
  r: ConvertResult,
  inputs: string[],
): Promise<string[]> {
  const notes: string[] = [];
  if (o.report && r.report) {
    writeFileAtomic(o.report, renderHtml(r.report, `${file} → ${out}`), {
      force: o.force,
      protect: [...inputs, ...(saved ? [out] : [])],
    });
    notes.push(`report: ${o.report}`);
  }
  if (o.emitTypes && saved) {
    writeFileAtomic(o.emitTypes, await emitBindings(r.model, basename(out)), {
      force: o.force,
      protect: [...inputs, out],
    });
    notes.push(`typed bindings: ${o.emitTypes}`);
  }
  if (o.emitIr && saved) {
    writeFileAtomic(o.emitIr, `${modelToJson(r.model)}\n`, { force: o.force, protect: [...inputs, out] });
    notes.push(`JSON form: ${o.emitIr}`);
  }
  return notes;
}
function fileBytes(file: string, model: Model): number {
  const ext = new Set<string>();
  let total = statSync(file).size;
  for (const g of model.graph.allGraphs())
    for (const t of g.initializers.values())
      if (t.external && !ext.has(t.external.path)) {
        ext.add(t.external.path);
        total += statSync(t.external.path).size;
      }
  return total;
}
