/** `amp-convert diff original.onnx converted.onnx`: where precision went, tensor by tensor, on every input set. */
import type { Command } from 'commander';
import {
  loadModel,
  writeFileAtomic,
  modelFiles,
  readFiles,
  diffSets,
  readInputSets,
  readOutputSets,
  renderText,
  renderMarkdown,
  renderJson,
  renderHtml,
  printable,
  AmpError,
  parseBackend,
  decodeCheck,
  decoderIo,
  formatDecode,
  defaultTolerance,
  type RTensor,
  type Model,
} from '../../index.js';
import { addInputOptions, inputSets, tolerance, outputTolerances, repeat, type InputFlags } from '../options.js';

export function register(program: Command): void {
  addInputOptions(
    program
      .command('diff <original> <converted>')
      .description('compare an fp32 model and its converted version on the same inputs, tensor by tensor'),
    '(every set is compared; the report shows the worst)',
  )
    .option(
      '--tolerance <spec>',
      'atol=..,rtol=..,scale=..,cos=..,rel=.. (default: the fp16 tolerance of the verified convert)',
    )
    .option('--tolerance-output <name:spec>', 'tolerance for one output (repeatable)', repeat)
    .option(
      '--backend <name>',
      'also run the converted model on cpu | webgpu | ort (onnxruntime-node, if installed) and check its outputs against the fp32 reference',
      'cpu',
    )
    .option('--adapter <name>', 'pin the WebGPU adapter')
    .option(
      '--expected <dir>',
      'golden outputs: output_N.pb files, or test_data_set_* dirs of them (one per input set)',
    )
    .option('--top <k>', 'rows in the ranked tables (text, Markdown, HTML)', '10')
    .option('--json', "print the worst set's report and every set's outcome as one JSON line")
    .option('--md <file>', 'write a Markdown report')
    .option('--html <file>', 'write a self-contained HTML report')
    .option(
      '--decode <n>',
      'KV-cache decoders: also decode N greedy steps (teacher-forced on the fp32 tokens) and compare next tokens and logits',
    )
    .option('--force', 'overwrite report files')
    .action(diffAction);
}

type DiffFlags = InputFlags & {
  tolerance?: string;
  toleranceOutput?: string[];
  expected?: string;
  backend: string;
  adapter?: string;
  top: string;
  json?: boolean;
  md?: string;
  html?: string;
  force?: boolean;
  decode?: string;
};

async function diffAction(a: string, b: string, o: DiffFlags): Promise<void> {
  const original = loadModel(a),
    converted = loadModel(b);
  const top = Number(o.top);
  if (!Number.isInteger(top) || top < 1) throw new AmpError(`--top must be a positive integer (got '${o.top}')`);
  const sets: Record<string, RTensor>[] = o.inputs ? readInputSets(original, o.inputs) : inputSets(original, o, 1);
  const expected = o.expected ? readOutputSets(converted, o.expected) : undefined;
  const decode = decodeFlag(a, original, converted, sets, o);
  const r = await diffSets(original, converted, sets, {
    tolerance: tolerance(o.tolerance),
    outputTolerance: outputTolerances(o.toleranceOutput),
    expected,
    backend: parseBackend(o.backend),
    adapter: o.adapter,
  });
  const protect = [...modelFiles(original, a), ...modelFiles(converted, b), ...readFiles([o.inputs, o.expected])];
  const title = `${a} vs ${b}${sets.length > 1 ? ` (input set ${r.worst + 1} of ${sets.length}, the worst)` : ''}`;
  if (o.md) writeFileAtomic(o.md, renderMarkdown(r.report, top), { force: o.force, protect });
  if (o.html) writeFileAtomic(o.html, renderHtml(r.report, title, top), { force: o.force, protect });
  if (o.json)
    process.stdout.write(
      `${JSON.stringify({ ...JSON.parse(renderJson(r.report)), outputsMeet: r.outputsMeet, worstSet: r.worst, sets: r.sets, ...(decode ? { decode } : {}) })}\n`,
    );
  else process.stdout.write(`${textReport(r, sets.length, top, decode).join('\n')}\n`);
  if (!r.outputsMeet || (decode && !decode.pass)) process.exitCode = 1;
}

/** `--decode N`: the greedy decode check of a KV-cache decoder, or none. */
function decodeFlag(file: string, original: Model, converted: Model, sets: Record<string, RTensor>[], o: DiffFlags) {
  const steps = o.decode === undefined ? 0 : Number(o.decode);
  if (!Number.isInteger(steps) || steps < 0)
    throw new AmpError(`--decode must be a whole number ≥ 0 (got '${o.decode}')`);
  if (steps && !decoderIo(original))
    throw new AmpError(
      '--decode needs a KV-cache decoder: input_ids, past_key_values.N.key/value inputs, logits and present.N.key/value outputs',
      file,
    );
  return steps
    ? decodeCheck(original, converted, sets[0], steps, { ...defaultTolerance(converted), ...tolerance(o.tolerance) })
    : undefined;
}

/** The text form: the worst set's report, each set's outcome, the backend's and the expected outputs' checks, the decode check. */
function textReport(
  r: Awaited<ReturnType<typeof diffSets>>,
  nSets: number,
  top: number,
  decode?: ReturnType<typeof decodeCheck>,
): string[] {
  const lines = [renderText(r.report, top)];
  if (nSets > 1)
    lines.push(
      `input sets: ${nSets}, ${r.sets.filter((s) => s.outputsMeet).length} meet the tolerance; the report above is set ${r.worst + 1}`,
    );
  const line = (set: number, where: string, x: { name: string; pass: boolean; maxAbs: number; cosine: number }) =>
    `  set ${set + 1} ${where} ${printable(x.name)}: ${x.pass ? 'ok' : 'FAIL'} (max|Δ| ${x.maxAbs.toExponential(2)}, cosine ${x.cosine.toFixed(6)})`;
  for (const s of r.sets)
    for (const x of s.backend?.outputs ?? []) lines.push(line(s.index, `on ${s.backend!.name}`, x));
  for (const s of r.sets) for (const x of s.expected ?? []) lines.push(line(s.index, 'vs expected', x));
  if (decode) lines.push(...formatDecode(decode));
  return lines;
}
