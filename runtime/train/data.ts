/**
 * Datasets for the training check: numeric CSV (features + one label column; .csv or .csv.gz), split into
 * train/test with a fixed seed, features standardized with the training set's mean and std.
 */
import { statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { AmpError } from '../../src/core/errors.js';
import { readInputFile, READ_LIMITS } from '../../src/core/fs.js';
import { getMaxTensorBytes } from '../cpu/limits.js';
import { xorshift } from '../../src/core/rng.js';

/** A classification dataset in memory: flat feature rows and integer labels, split into training and test. */
export interface Dataset {
  xTrain: Float32Array;
  yTrain: Int32Array;
  xTest: Float32Array;
  yTest: Int32Array;
  features: number;
  classes: number;
  name: string;
}

function shuffle(n: number, seed: number): Int32Array {
  const rnd = xorshift(seed * 2654435761 + 12345);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/** gunzip with an output cap: a small archive that inflates past it is refused in one line, not expanded. */
function gunzipCapped(raw: Buffer, path: string): Buffer {
  const cap = Math.min(READ_LIMITS.inflated, getMaxTensorBytes());
  try {
    return gunzipSync(raw, { maxOutputLength: cap });
  } catch (e) {
    throw new AmpError(
      (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
        ? `inflates to more than ${cap} bytes (--max-memory)`
        : `not valid gzip data: ${(e as Error).message}`,
      path,
    );
  }
}

/** Class labels at or above this are refused (the model's output layer has one unit per class). */
const MAX_CLASSES = 10_000;
/** Parses a numeric CSV; `labelCol` defaults to the last column (negative counts from the end). */
export function readCsv(
  path: string,
  labelCol = -1,
  opts: { splitSeed?: number; testFraction?: number } = {},
): Dataset {
  const raw = readInputFile(path, 'CSV', READ_LIMITS.csv);
  const text = (path.endsWith('.gz') ? gunzipCapped(raw, path) : raw).toString('utf8');
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (!lines.length) throw new AmpError('is empty', path);
  const firstNumeric = lines[0].split(',').every((c) => c.trim() !== '' && Number.isFinite(Number(c)));
  const rows = firstNumeric ? lines : lines.slice(1); // a header row is skipped
  const width = rows[0]?.split(',').length ?? 0;
  if (width < 2) throw new AmpError('needs at least one feature column and a label column', path);
  const lc = labelCol < 0 ? width + labelCol : labelCol;
  if (lc < 0 || lc >= width) throw new AmpError(`label column ${labelCol} is outside the ${width} columns`, path);
  const n = rows.length,
    f = width - 1;
  const X = new Float32Array(n * f),
    Y = new Int32Array(n);
  rows.forEach((line, r) => {
    const cells = line.split(',');
    const lineNo = r + 1 + (firstNumeric ? 0 : 1);
    if (cells.length !== width)
      throw new AmpError(`line ${lineNo} has ${cells.length} columns, expected ${width}`, path);
    let k = 0;
    cells.forEach((c, j) => {
      const v = Number(c.trim());
      if (c.trim() === '' || !Number.isFinite(v))
        throw new AmpError(`line ${lineNo}, column ${j + 1}: '${c.trim()}' is not a number`, path);
      if (j === lc) {
        if (!Number.isInteger(v) || v < 0 || v >= MAX_CLASSES)
          throw new AmpError(
            `line ${lineNo}: label '${c.trim()}' must be an integer class in 0..${MAX_CLASSES - 1}`,
            path,
          );
        Y[r] = v;
      } else X[r * f + k++] = v;
    });
  });
  const classes = Y.reduce((m, y) => Math.max(m, y), 0) + 1;
  if (new Set(Y).size < 2) throw new AmpError('has a single class: nothing to learn', path);
  return split(X, Y, f, classes, path, opts.splitSeed ?? 0, opts.testFraction ?? 0.2);
}

/** Reads an IDX file (gzip), returning its dims and bytes. */
function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  const raw = gunzipCapped(readInputFile(path, 'IDX', READ_LIMITS.csv), path);
  if (raw.readUInt16BE(0) !== 0 || raw[2] !== 0x08) throw new AmpError('not an unsigned-byte IDX file', path);
  const rank = raw[3];
  const dims = Array.from({ length: rank }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  return {
    dims,
    data: new Uint8Array(
      raw.buffer,
      raw.byteOffset + 4 + 4 * rank,
      dims.reduce((a, b) => a * b, 1),
    ),
  };
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
/**
 * Fashion-MNIST (Debian dataset-fashion-mnist): the standard train/test split, the first `trainLimit` /
 * `testLimit` images of each (the CPU reference trains a few thousand images per second), pixels /255 then
 * standardized with the training pixels' global mean and std.
 */
export function readFashionMnist(dir = FASHION_MNIST_DIR, trainLimit = 60000, testLimit = 10000): Dataset {
  const file = (n: string) => `${dir}/${n}`;
  try {
    statSync(file('train-images-idx3-ubyte.gz'));
  } catch {
    throw new AmpError(
      'Fashion-MNIST not found: apt-get install dataset-fashion-mnist (scripts/setup-system.sh does)',
      dir,
    );
  }
  const load = (img: string, lab: string, limit: number) => {
    const x = readIdx(file(img)),
      y = readIdx(file(lab));
    const n = Math.min(limit, x.dims[0]),
      f = x.dims[1] * x.dims[2];
    return {
      x: Float32Array.from(x.data.subarray(0, n * f), (v) => v / 255),
      y: Int32Array.from(y.data.subarray(0, n)),
      f,
    };
  };
  const tr = load('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', trainLimit);
  const te = load('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', testLimit);
  // One mean/std over all training pixels: per-pixel statistics blow up the near-constant border pixels.
  let m = 0,
    v = 0;
  for (const p of tr.x) m += p;
  m /= tr.x.length;
  for (const p of tr.x) v += (p - m) ** 2;
  const sd = Math.sqrt(v / tr.x.length) || 1;
  for (const a of [tr.x, te.x]) for (let i = 0; i < a.length; i++) a[i] = (a[i] - m) / sd;
  return { xTrain: tr.x, yTrain: tr.y, xTest: te.x, yTest: te.y, features: tr.f, classes: 10, name: 'fashion-mnist' };
}

function standardize(train: Float32Array, test: Float32Array, f: number): void {
  const nTrain = train.length / f,
    nTest = test.length / f;
  for (let j = 0; j < f; j++) {
    let m = 0,
      v = 0;
    for (let i = 0; i < nTrain; i++) m += train[i * f + j];
    m /= nTrain;
    for (let i = 0; i < nTrain; i++) v += (train[i * f + j] - m) ** 2;
    const sd = Math.sqrt(v / nTrain) || 1;
    for (let i = 0; i < nTrain; i++) train[i * f + j] = (train[i * f + j] - m) / sd;
    for (let i = 0; i < nTest; i++) test[i * f + j] = (test[i * f + j] - m) / sd;
  }
}

function split(
  X: Float32Array,
  Y: Int32Array,
  f: number,
  classes: number,
  name: string,
  seed: number,
  testFraction: number,
): Dataset {
  const n = Y.length,
    idx = shuffle(n, seed);
  const nTest = Math.round(n * testFraction),
    nTrain = n - nTest;
  // Accuracy over an empty test split is NaN: too few rows to train and test is bad input, said once.
  if (nTest < 1 || nTrain < 2)
    throw new AmpError(
      `has ${n} rows: too few to split into training and test sets (at least ${Math.ceil(3 / Math.min(testFraction, 1 - testFraction))} needed)`,
      name,
    );
  const take = (from: number, count: number) => {
    const x = new Float32Array(count * f),
      y = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const s = idx[from + i];
      x.set(X.subarray(s * f, s * f + f), i * f);
      y[i] = Y[s];
    }
    return { x, y };
  };
  const tr = take(0, nTrain),
    te = take(nTrain, nTest);
  standardize(tr.x, te.x, f); // with training statistics only
  return { xTrain: tr.x, yTrain: tr.y, xTest: te.x, yTest: te.y, features: f, classes, name };
}
