/** `amp-convert train-check`: fp32 vs AMP with and without loss scaling, from the same initial weights. */
import type { Command } from 'commander';
import {
  trainCheck,
  formatTrainCheck,
  renderTrainHtml,
  writeFileAtomic,
  readFiles,
  AmpError,
  parseBackend,
  trainCheckJson,
} from '../../index.js';

export function register(program: Command): void {
  program
    .command('train-check')
    .description('train fp32, AMP with loss scaling and AMP without, and compare accuracy and gradient underflow')
    .option('--model <m.onnx>', 'a model whose output is logits (default: the bundled digits MLP)')
    .requiredOption(
      '--data <digits|fashion-mnist|file.csv>',
      'dataset: digits (bundled), fashion-mnist (Debian package) or a numeric CSV',
    )
    .option('--label-col <n>', 'label column of the CSV (default: last)')
    .option('--limit <train,test>', 'use the first N training / M test samples (fashion-mnist default: 10000,2000)')
    .option('--epochs <e>', 'epochs', '10')
    .option('--seeds <list>', 'seeds, comma-separated', '1,2,3')
    .option('--lr <x>', 'learning rate (default 0.05; 0.02 for fashion-mnist)')
    .option('--batch <n>', 'minibatch size (default 32; 64 for fashion-mnist)')
    .option('--optimizer <sgd|adam>', 'optimizer', 'sgd')
    .option(
      '--loss-multiplier <x>',
      'multiply the loss (small-gradient regime) and divide the gradients back in fp32',
      '1',
    )
    .option('--backend <name>', 'cpu | webgpu | auto', 'cpu')
    .option('--bn-training', 'BatchNormalization in training mode (batch statistics; running statistics for the test)')
    .option('--report <out.html>', 'write the HTML report (loss curves, scale trajectory)')
    .option('--json', 'machine-readable output')
    .option('--force', 'overwrite the report')
    .action(trainCheckAction);
}

interface TrainFlags {
  batch?: string;
  limit?: string;
  model?: string;
  data: string;
  labelCol?: string;
  epochs: string;
  seeds: string;
  lr?: string;
  optimizer: string;
  lossMultiplier: string;
  backend: string;
  report?: string;
  json?: boolean;
  force?: boolean;
  bnTraining?: boolean;
}

// Numbers are checked where they are read: NaN or Infinity would train to a NaN report and exit 0.
const whole = (v: string | undefined, flag: string, min: number) => {
  if (v === undefined || v === '') return undefined;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new AmpError(`${flag} '${v}' must be a whole number ≥ ${min}`);
  return x;
};
const positiveReal = (v: string, flag: string) => {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new AmpError(`${flag} '${v}' must be a finite number > 0`);
  return x;
};

async function trainCheckAction(o: TrainFlags): Promise<void> {
  const seeds = o.seeds.split(',').map(Number);
  if (seeds.some((s) => !Number.isInteger(s))) throw new AmpError(`--seeds '${o.seeds}' must be integers`);
  if (o.optimizer !== 'sgd' && o.optimizer !== 'adam') throw new AmpError(`--optimizer must be sgd or adam`);
  const backend = parseBackend(o.backend);
  const batch = o.batch === undefined ? undefined : Number(o.batch);
  if (batch !== undefined && !(Number.isInteger(batch) && batch > 0))
    throw new AmpError(`--batch '${o.batch}' must be a positive integer`);
  const [trainLimit, testLimit] = (o.limit ?? '')
    .split(',')
    .map((v, i) => whole(v, `--limit (${i ? 'test' : 'train'})`, 1));
  const epochs = whole(o.epochs, '--epochs', 1)!;
  const r = await trainCheck({
    trainLimit,
    testLimit,
    model: o.model,
    data: o.data,
    labelCol: whole(o.labelCol, '--label-col', 0),
    epochs,
    seeds,
    lr: o.lr === undefined ? undefined : positiveReal(o.lr, '--lr'),
    optimizer: o.optimizer,
    lossMultiplier: positiveReal(o.lossMultiplier, '--loss-multiplier'),
    backend,
    bnTraining: o.bnTraining,
    batch,
  });
  if (o.report)
    writeFileAtomic(o.report, renderTrainHtml(r), { force: o.force, protect: readFiles([o.data, o.model]) });
  if (o.json) process.stdout.write(`${JSON.stringify(trainCheckJson(r))}\n`);
  else process.stdout.write(`${formatTrainCheck(r)}\n(${(r.ms / 1000).toFixed(1)} s)\n`);
}
