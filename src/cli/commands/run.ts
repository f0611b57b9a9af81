/** `amp-convert run model.onnx`: execute a model (CPU reference backend) and print or save its outputs. */
import type { Command } from 'commander';
import { mkdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  loadModel,
  writeTensorFile,
  modelFiles,
  readFiles,
  checkOutput,
  readInputs,
  randomInputs,
  parseShapes,
  run,
  toFloat32,
  dtypeName,
  DataType,
  AmpError,
  parseBackend,
  printable,
  type RunJson,
  type RTensor,
} from '../../index.js';
import { repeat } from '../options.js';

function values(t: RTensor, limit: number): (number | string | boolean)[] {
  if (t.dtype === DataType.STRING) return (t.data as string[]).slice(0, limit);
  if (t.dtype === DataType.BOOL) return Array.from((t.data as Uint8Array).slice(0, limit), Boolean);
  if (t.dtype === DataType.INT64 || t.dtype === DataType.UINT64)
    return Array.from((t.data as BigInt64Array).slice(0, limit), Number);
  return Array.from(toFloat32({ ...t, data: (t.data as Uint16Array).slice(0, limit) }));
}

export function register(program: Command): void {
  program
    .command('run <model>')
    .description('run a model on the CPU reference executor or the WebGPU runtime')
    .option('--inputs <dir|file.json>', 'input_N.pb directory (ONNX test layout) or a JSON file')
    .option('--random', 'seeded random inputs (floats N(0,1), ints 0..9)')
    .option('--seed <n>', 'seed for --random', '0')
    .option('--shape <name=d1,d2,..>', 'concrete dims for an input with symbolic dims (repeatable)', repeat)
    .option('--outputs <dir>', 'write output_N.pb files here')
    .option('--force', 'overwrite existing output_N.pb files')
    .option('--backend <name>', 'cpu | webgpu | ort (onnxruntime-node, if installed) | auto', 'cpu')
    .option('--adapter <name>', 'pin the WebGPU adapter (e.g. llvmpipe)')
    .option('--fp16-accumulate', 'emulate fp16 accumulation in MatMul/Gemm/Conv/reductions')
    .option('--all', 'print every value of large outputs (default: the first 16)')
    .option('--json', 'machine-readable output')
    .action(
      async (
        file: string,
        o: {
          adapter?: string;
          inputs?: string;
          random?: boolean;
          seed: string;
          shape?: string[];
          outputs?: string;
          force?: boolean;
          backend: string;
          fp16Accumulate?: boolean;
          all?: boolean;
          json?: boolean;
        },
      ) => {
        const backend = parseBackend(o.backend);
        if (!o.inputs && !o.random) throw new AmpError('give --inputs DIR|file.json or --random');
        const model = loadModel(file);
        const feeds = o.inputs
          ? readInputs(model, o.inputs)
          : randomInputs(model, Number(o.seed), parseShapes(o.shape));
        const r = await run(model, feeds, { backend, fp16Accumulate: o.fp16Accumulate, adapter: o.adapter });
        if (o.outputs) {
          if (existsSync(o.outputs) && !statSync(o.outputs).isDirectory())
            throw new AmpError('--outputs must be a directory', o.outputs);
          mkdirSync(o.outputs, { recursive: true });
          const files = model.graph.outputs.map((_, i) => join(o.outputs!, `output_${i}.pb`)),
            protect = [...modelFiles(model, file), ...readFiles([o.inputs])];
          for (const f of files) checkOutput(f, { force: o.force, protect }); // all refused before any is written
          model.graph.outputs.forEach((name, i) =>
            writeTensorFile(files[i], r.outputs[name], name, { force: o.force, protect }),
          );
        }
        const limit = o.all ? Infinity : 16;
        const outs = Object.entries(r.outputs).map(([name, t]) => ({
          name,
          dtype: dtypeName(t.dtype),
          dims: t.dims,
          values: values(t, limit),
          truncated: t.data.length > limit,
        }));
        const json: RunJson = {
          backend: r.backend,
          adapter: r.adapter,
          note: r.note,
          ms: Number(r.ms.toFixed(3)),
          outputs: outs,
        };
        if (o.json) process.stdout.write(`${JSON.stringify(json)}\n`);
        else {
          if (r.note) process.stdout.write(`${printable(r.note, 600)}\n`);
          if (r.adapter && program.opts().verbose)
            process.stdout.write(`adapter features: ${r.adapter.features.join(' ')}\n`);
          for (const x of outs)
            process.stdout.write(
              `${printable(x.name)}: ${x.dtype} [${x.dims.join(', ')}] ${JSON.stringify(x.values)}${x.truncated ? ' …' : ''}\n`,
            );
          process.stdout.write(`${r.backend}: ${r.ms.toFixed(2)} ms\n`);
        }
      },
    );
}
