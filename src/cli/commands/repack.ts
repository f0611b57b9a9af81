import type { Command } from 'commander';
import { loadModel, saveModel, fmtBytes, AmpError } from '../../index.js';

export function register(program: Command): void {
  program.command('repack <model>')
    .description('re-encode a model (byte-identical when nothing changes), move large tensors to external data, or bring them inline')
    .requiredOption('-o, --output <file>', 'output model path')
    .option('--external-data', 'store tensors of at least --threshold bytes in one external file')
    .option('--threshold <bytes>', 'size threshold for --external-data', '1024')
    .option('--location <name>', 'external data file name (default: <output>.data)')
    .option('--inline', 'bring external tensors back inline (unless the model would exceed 2 GB)')
    .option('--force', 'overwrite an existing output')
    .option('--json', 'machine-readable output')
    .action((file: string, o: { output: string; externalData?: boolean; threshold: string; location?: string; inline?: boolean; force?: boolean; json?: boolean }) => {
      const threshold = Number(o.threshold);
      if (!Number.isSafeInteger(threshold) || threshold < 0) throw new AmpError(`--threshold '${o.threshold}' is not a byte count`);
      if (o.inline && o.externalData) throw new AmpError('--inline and --external-data exclude each other');
      const model = loadModel(file);
      const r = saveModel(model, o.output, { externalData: o.externalData, threshold, location: o.location, inline: o.inline, force: o.force, inputPath: file });
      if (o.json) process.stdout.write(`${JSON.stringify({ output: o.output, ...r })}\n`);
      else {
        process.stdout.write(`wrote ${o.output} (${fmtBytes(r.bytes)})${r.externalFile ? ` + ${r.externalFile} (${r.externalTensors} tensors, ${fmtBytes(r.externalBytes)})` : ''}\n`);
        if (r.forcedExternal) process.stdout.write('note: the model exceeds the 2 GB protobuf limit inline, so large tensors were written as external data\n');
      }
    });
}
