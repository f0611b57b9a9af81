import type { Command } from 'commander';
import { loadModel, inspectModel, formatInspect } from '../../index.js';

export function register(program: Command): void {
  program
    .command('inspect <model>')
    .description('describe a model: IR/opsets, op histogram, inputs/outputs, parameters, external data')
    .option('--json', 'machine-readable output')
    .action((file: string, o: { json?: boolean }) => {
      const r = inspectModel(loadModel(file), file);
      process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${formatInspect(r)}\n`);
    });
}
