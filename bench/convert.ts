/**
 * npm run bench:convert — conversion time (load + pass + save) of a generated ≥ 500 MB fp32 model and of
 * each fixture, against `cp` of the same file and a bare typed-array fp32→fp16 loop over the same weights,
 * all in this run; each large-model phase runs in its own process for its own peak RSS. Then the default,
 * verified conversion (calibration + verification on 2 synthesized input sets) of a generated ResNet-50 and a
 * BERT-base-shaped encoder, load to save.
 * Then a model with external data larger than the others (BENCH_EXT_GB, default 4 GiB of fp32 weights): the
 * static conversion, which streams its tensors chunk by chunk, against `cp` of its data file, with peak RSS
 * against 4 × the largest tensor + 300 MB (the bound that holds whatever the model's size).
 * Aims: static conversion within 3× of cp, RSS ≤ 1.5× model size; verified ResNet-50 ≤ 10 s; external data
 * ≤ 2× cp with RSS ≤ 4 × largest tensor + 300 MB.
 * onnxconverter-common's float16 converter (bench/occ.py) is the baseline for speed, peak RSS and Cast counts
 * where Python can import it (pip, or OCC_PATH=a source checkout; its `onnx` and `numpy` from the system);
 * otherwise those columns say it was not available.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadModel, saveModel } from '../src/onnx/io.js';
import { convert, convertSync } from '../src/tools/convert.js';
import { resnet50, bertEncoder } from '../fixtures/scripts/bench-models.js';
import { f32ArrayToF16 } from '../src/core/half.js';
import { time, peakRss, runPhase, medianPhase, bigModel, MiB } from './util.js';
import { fixtureModels, fixtureModelPath, fixtureInputs } from '../test/helpers/fixtures.js';
import { ortCpuLoader } from '../test/helpers/runtime-probe.js';
import { checkOutputs } from '../src/tools/verify.js';
import { TOLERANCES } from '../src/tools/diff.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import type { RTensor } from '../src/ir/rtensor.js';

const self = fileURLToPath(import.meta.url);
const arg = (k: string) => process.argv[process.argv.indexOf(k) + 1];

function convertFile(src: string, dst: string): number {
  return time(() => saveModel(convertSync(loadModel(src)).model, dst, { force: true })).ms;
}
function bareLoop(src: string): number {
  const m = loadModel(src);
  const ws = [...m.graph.initializers.values()].filter((t) => t.dataType === 1).map((t) => t.data() as Float32Array);
  return time(() => {
    for (const w of ws) f32ArrayToF16(w);
  }).ms;
}
const cp = (src: string, dst: string) => time(() => execFileSync('cp', [src, dst])).ms;

/** A Python that imports onnxconverter-common (PYTHON, python3, then Debian's /usr/bin/python3), or undefined. */
const occPython = [process.env.PYTHON, 'python3', '/usr/bin/python3']
  .filter((p): p is string => !!p)
  .find(
    (py) =>
      spawnSync(
        py,
        [
          '-c',
          'import os, sys; sys.path.insert(0, os.environ.get("OCC_PATH", ".")); import onnx, onnxconverter_common.float16',
        ],
        { encoding: 'utf8' },
      ).status === 0,
  );
/** onnxconverter-common's float16 conversion of src (load → convert → save, timed inside Python). */
function occ(src: string, dst: string, keepIo = false): { ms: number; rss: number; casts: number } | undefined {
  if (!occPython) return undefined;
  const r = spawnSync(
    occPython,
    [fileURLToPath(new URL('./occ.py', import.meta.url)), src, dst, keepIo ? 'keep-io' : ''],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
/** The fp32 model's outputs on the input sets (our CPU executor), the reference for judging a converted model. */
const checkReference = (src: string, sets: Record<string, RTensor>[]) => {
  const ex = new CpuExecutor(loadModel(src));
  return sets.map((f) => ex.runSync(f));
};
/** Writes back dirty pages first: a phase that writes must not pay for the previous phase's writes (the kernel throttles writers). */
const settled = <T>(f: () => T): T => {
  execFileSync('sync');
  return f();
};
const NA = 'n/a (onnxconverter-common not importable; set OCC_PATH)';

if (process.argv.includes('--phase')) {
  const phase = arg('--phase'),
    dir = arg('--dir');
  const src = join(dir, 'big.onnx');
  if (phase === 'ext-gen') {
    saveModel(bigModel(Number(arg('--mb'))), join(dir, 'ext.onnx'), { externalData: true, force: true });
    console.log(JSON.stringify({ ms: 0, rss: peakRss() }));
  } else if (phase === 'ext-convert') {
    const t0 = performance.now();
    saveModel(convertSync(loadModel(join(dir, 'ext.onnx'))).model, join(dir, 'ext.fp16.onnx'), {
      externalData: true,
      force: true,
    });
    console.log(JSON.stringify({ ms: performance.now() - t0, rss: peakRss() }));
  } else if (phase === 'ext-cp') {
    console.log(
      JSON.stringify({
        ms: time(() => execFileSync('cp', [join(dir, 'ext.onnx.data'), join(dir, 'ext.copy.data')])).ms,
        rss: peakRss(),
      }),
    );
  } else if (phase === 'verified') {
    const file = join(dir, `${arg('--model')}.onnx`);
    const t0 = performance.now();
    const r = await convert(loadModel(file));
    saveModel(r.model, join(dir, `${arg('--model')}.fp16.onnx`), { force: true });
    console.log(
      JSON.stringify({
        ms: performance.now() - t0,
        rss: peakRss(),
        status: r.verification.status,
        verifyMs: r.verification.ms,
      }),
    );
  } else {
    const ms =
      phase === 'convert'
        ? convertFile(src, join(dir, 'big.fp16.onnx'))
        : phase === 'convert-if'
          ? convertFile(join(dir, 'big-if.onnx'), join(dir, 'big-if.fp16.onnx'))
          : phase === 'loop'
            ? bareLoop(src)
            : cp(src, join(dir, 'copy.onnx'));
    console.log(JSON.stringify({ ms, rss: peakRss() }));
  }
} else {
  const dir = mkdtempSync(join(tmpdir(), 'amp-bench-convert-'));
  try {
    const mb = Number(process.env.BENCH_MB ?? 512);
    saveModel(bigModel(mb), join(dir, 'big.onnx'));
    const size = statSync(join(dir, 'big.onnx')).size;
    const [c, l, k] = ['convert', 'loop', 'cp'].map((p) => medianPhase(self, p, ['--dir', dir]));
    const o = settled(() => occ(join(dir, 'big.onnx'), join(dir, 'big.occ.onnx')));
    rmSync(join(dir, 'big.occ.onnx'), { force: true });
    // The same weights ending in an If (as a merged LLM decoder does): the pass converts copies of the model.
    saveModel(bigModel(mb, true), join(dir, 'big-if.onnx'));
    const ci = medianPhase(self, 'convert-if', ['--dir', dir]);
    rmSync(join(dir, 'big-if.onnx'), { force: true });
    console.log(
      `generated model: ${(size / MiB).toFixed(0)} MiB fp32 (our phases and cp: median of 3 runs, each in its own process after a sync); onnxconverter-common: ${occPython ? `via ${occPython}` : NA}`,
    );
    console.table([
      {
        model: 'generated',
        'convert ms': c.ms.toFixed(0),
        'cp ms': k.ms.toFixed(0),
        'vs cp': `${(c.ms / k.ms).toFixed(2)}×`,
        'bare loop ms': l.ms.toFixed(0),
        'vs loop': `${(c.ms / l.ms).toFixed(2)}×`,
        'peak RSS / model': `${(c.rss / size).toFixed(2)}×`,
        'onnxconverter-common ms': o ? o.ms.toFixed(0) : 'n/a',
        'its peak RSS / model': o ? `${(o.rss / size).toFixed(2)}×` : 'n/a',
        'ours faster by': o ? `${(o.ms / c.ms).toFixed(1)}×` : 'n/a',
      },
      {
        model: 'generated, ending in an If',
        'convert ms': ci.ms.toFixed(0),
        'cp ms': k.ms.toFixed(0),
        'vs cp': `${(ci.ms / k.ms).toFixed(2)}×`,
        'peak RSS / model': `${(ci.rss / size).toFixed(2)}×`,
      },
    ]);
    const rows = fixtureModels().map((n) => {
      const src = fixtureModelPath(n);
      copyFileSync(src, join(dir, `${n}.onnx`));
      const reps = 5;
      let conv = 0,
        copy = 0,
        loop = 0;
      for (let i = 0; i < reps; i++) {
        conv += convertFile(join(dir, `${n}.onnx`), join(dir, `${n}.fp16.onnx`));
        copy += cp(src, join(dir, `${n}.cp`));
        loop += bareLoop(src);
      }
      return {
        model: n,
        'convert ms': (conv / reps).toFixed(1),
        'cp ms': (copy / reps).toFixed(1),
        'vs cp': `${(conv / copy).toFixed(2)}×`,
        'bare loop ms': (loop / reps).toFixed(2),
      };
    });
    console.table(rows);
    // Cast nodes in the output: ours (static; verified as `amp-convert` writes it by default, on synthesized
    // inputs, and on the fixture's own inputs) against onnxconverter-common's, with the model I/O converted and with
    // keepIoTypes / keep_io_types — and whether its output is one to compare with: onnxruntime loads it and it
    // meets our default tolerance on the fixture's inputs.
    const castRows = [];
    const over: string[] = [];
    for (const n of fixtureModels()) {
      const src = fixtureModelPath(n);
      const row: Record<string, string | number> = { model: n };
      const sets = [fixtureInputs(n)];
      const reference = checkReference(src, sets);
      for (const keepIoTypes of [false, true]) {
        const tag = keepIoTypes ? ' (keep I/O)' : '';
        row[`static${tag}`] = convertSync(loadModel(src), { keepIoTypes }).summary.casts.total;
        row[`verified${tag}`] = (await convert(loadModel(src), { keepIoTypes })).summary.casts.total;
        const ours = (await convert(loadModel(src), { keepIoTypes, inputs: sets })).summary.casts.total;
        row[`verified, fixture inputs${tag}`] = ours;
        const dst = join(dir, `${n}.occ.onnx`);
        const o = occ(src, dst, keepIoTypes);
        row[`onnxconverter-common${tag}`] = o?.casts ?? 'n/a';
        if (!o) continue;
        const rejected = await ortCpuLoader(readFileSync(dst));
        const checks = rejected ? [] : checkOutputs(loadModel(dst), sets, reference, TOLERANCES.fp16);
        const verdict = rejected
          ? 'rejected by onnxruntime'
          : checks.every((c) => c.pass)
            ? 'ok'
            : `misses the tolerance (cosine ${Math.min(...checks.map((c) => c.cosine)).toFixed(3)})`;
        row[`its output${tag}`] = verdict;
        if (verdict === 'ok' && ours > o.casts) over.push(`${n}${tag}: ${ours} vs ${o.casts}`);
      }
      castRows.push(row);
    }
    console.log('Cast nodes in the converted model');
    console.table(castRows);
    if (occPython)
      console.log(
        `more casts than onnxconverter-common where its output loads and meets the tolerance: ${over.length ? over.join('; ') : 'none'}`,
      );
    const verified = Object.entries({ 'ResNet-50': resnet50, 'BERT-base encoder': bertEncoder }).map(([name, make]) => {
      const file = join(dir, `${name.replace(/\W+/g, '_')}.onnx`);
      saveModel(make(), file, { force: true });
      const v = runPhase(self, 'verified', ['--dir', dir, '--model', name.replace(/\W+/g, '_')]);
      return {
        model: name,
        'verified convert s': (v.ms / 1000).toFixed(2),
        status: String(v.status),
        'of which calibrate + verify s': (v.verifyMs / 1000).toFixed(2),
        'vs 10 s aim': `${(v.ms / 10000).toFixed(2)}×`,
        'peak RSS / model': `${(v.rss / statSync(file).size).toFixed(2)}×`,
      };
    });
    console.table(verified);
    const gb = Number(process.env.BENCH_EXT_GB ?? 4);
    runPhase(self, 'ext-gen', ['--dir', dir, '--mb', String(gb * 1024)]);
    const data = statSync(join(dir, 'ext.onnx.data')).size,
      largest = 4096 * 4096 * 4;
    const ec = settled(() => runPhase(self, 'ext-convert', ['--dir', dir])),
      ek = settled(() => runPhase(self, 'ext-cp', ['--dir', dir]));
    const bound = 4 * largest + 300 * 2 ** 20;
    console.table([
      {
        model: `external data, ${(data / 2 ** 30).toFixed(1)} GiB fp32 (largest tensor ${(largest / MiB).toFixed(0)} MiB)`,
        'convert s': (ec.ms / 1000).toFixed(2),
        'cp s': (ek.ms / 1000).toFixed(2),
        'vs cp': `${(ec.ms / ek.ms).toFixed(2)}×`,
        'peak RSS MiB': (ec.rss / MiB).toFixed(0),
        'RSS / (4 × largest + 300 MB)': `${(ec.rss / bound).toFixed(2)}×`,
      },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
