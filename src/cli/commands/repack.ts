import type { Command } from 'commander';
import { dirname, resolve } from 'node:path';
import { loadModel, saveModel, fmtBytes, AmpError, modelToJson, writeFileAtomic, modelFiles } from '../../index.js';

export function register(program: Command): void {
  program
    .command('repack <model>')
    .description(
      're-encode a model (byte-identical when nothing changes), move large tensors to external data, or bring them inline',
    )
    .requiredOption('-o, --output <file>', 'output model path (.json: the JSON form)')
    .option('--external-data', 'store tensors of at least --threshold bytes in one external file')
    .option('--threshold <bytes>', 'size threshold for --external-data', '1024')
    .option('--location <name>', 'external data file name (default: <output>.data)')
    .option('--inline', 'bring external tensors back inline (unless the model would exceed 2 GB)')
    .option('--force', 'overwrite an existing output')
    .option('--json', 'machine-readable output')
    .action(
      (
        file: string,
        o: {
          output: string;
          externalData?: boolean;
          threshold: string;
          location?: string;
          inline?: boolean;
          force?: boolean;
          json?: boolean;
        },
      ) => {
        const threshold = Number(o.threshold);
        if (!Number.isSafeInteger(threshold) || threshold < 0)
          throw new AmpError(`--threshold '${o.threshold}' is not a byte count`);
        if (o.inline && o.externalData) throw new AmpError('--inline and --external-data exclude each other');
        const model = loadModel(file);
        if (/\.json$/i.test(o.output)) {
          // The JSON form (tensors inline; external data stays a reference, so only beside the input's data).
          if (
            model.baseDir &&
            [...model.graph.allGraphs()].some((g) => [...g.initializers.values()].some((t) => t.external)) &&
            resolve(dirname(o.output)) !== resolve(model.baseDir)
          ) {
            throw new AmpError(
              'a model with external data can be written as JSON only into its own directory (or repack --inline first)',
              o.output,
            );
          }
          writeFileAtomic(o.output, `${modelToJson(model)}\n`, { force: o.force, protect: modelFiles(model, file) });
          if (o.json) process.stdout.write(`${JSON.stringify({ output: o.output, format: 'json' })}\n`);
          else process.stdout.write(`wrote ${o.output} (JSON form)\n`);
          return;
        }
        const r = saveModel(model, o.output, {
          externalData: o.externalData,
          threshold,
          location: o.location,
          inline: o.inline,
          force: o.force,
          inputPath: file,
        });
        if (o.json) process.stdout.write(`${JSON.stringify({ output: o.output, ...r })}\n`);
        else {
          process.stdout.write(
            `wrote ${o.output} (${fmtBytes(r.bytes)})${r.externalFile ? ` + ${r.externalFile} (${r.externalTensors} tensors, ${fmtBytes(r.externalBytes)})` : ''}\n`,
          );
          if (r.forcedExternal)
            process.stdout.write(
              'note: the model exceeds the 2 GB protobuf limit inline, so large tensors were written as external data\n',
            );
        }
      },
    );
}
