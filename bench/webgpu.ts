/**
 * npm run bench:webgpu — MatMul GFLOP/s in f32 and f16 on the WebGPU adapter, and fixture inference time on
 * WebGPU vs the CPU reference vs onnxruntime-node (single thread), all in this run (median of repeats); then a
 * generated ResNet-50, fp32 and converted to fp16, on WebGPU vs onnxruntime-node.
 * `--vgg19`: also VGG-19 (548 MB of weights, fc1's 411 MB weight beyond the adapter's largest binding), one
 * run each: time, where its nodes ran, and agreement with the CPU reference.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { WebGpuExecutor } from '../runtime/webgpu/executor.js';
import { CpuExecutor } from '../runtime/cpu/executor.js';
import { ModelBuilder } from '../src/ir/builder.js';
import { DataType } from '../src/ir/dtype.js';
import { f32ArrayToF16 } from '../src/ir/half.js';
import { loadModel } from '../src/onnx/io.js';
import { fixtureModelPath, fixtureInputs } from '../test/helpers/fixtures.js';
import { toOrt } from '../test/helpers/ort.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timeIt(fn: () => unknown, reps: number): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) { const t = performance.now(); await fn(); ts.push(performance.now() - t); }
  return median(ts);
}

const mm: Record<string, string>[] = [];
for (const n of [128, 256, 1024]) {
  for (const dt of [DataType.FLOAT, DataType.FLOAT16]) {
    const b = new ModelBuilder({ opset: 17 });
    b.node('MatMul', [b.input('a', dt, [n, n]), b.input('b', dt, [n, n])], {}, { outputs: ['y'] });
    b.output('y', dt, [n, n]);
    const ex = await WebGpuExecutor.create(b.build());
    const v = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13);
    const t = dt === DataType.FLOAT ? { dtype: dt, dims: [n, n], data: v } : { dtype: dt, dims: [n, n], data: f32ArrayToF16(v) };
    const ms = await timeIt(() => ex.run({ a: t, b: t }), 5);
    mm.push({ size: `${n}³`, dtype: dt === DataType.FLOAT ? 'f32' : 'f16', ms: ms.toFixed(1), 'GFLOP/s': ((2 * n ** 3) / (ms * 1e6)).toFixed(2) });
  }
}
// Next to it, the CPU executor's WebAssembly GEMM on the same product (all cores): the CPU peak measured here.
{
  const { sgemm } = await import('../runtime/cpu/wasm/index.js');
  const n = 1024, v = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13), t = { dtype: DataType.FLOAT, data: v };
  const ms = await timeIt(() => sgemm(n, n, n, t, t, { ars: n, acs: 1, brs: n, bcs: 1 }, [[0, 0]], DataType.FLOAT), 3);
  mm.push({ size: `${n}³ (CPU executor, wasm SIMD)`, dtype: 'f32', ms: ms.toFixed(1), 'GFLOP/s': ((2 * n ** 3) / (ms * 1e6)).toFixed(2) });
}
console.log(`adapter: ${(await WebGpuExecutor.create(loadModel(fixtureModelPath('mlp')))).note}`);
console.table(mm);

// ResNet-50's conv shapes alone (f32, batch 1; the input upload and the output readback included), median of 5.
{
  const shapes: [string, number[], number[], number][] = [
    ['7×7/2 3→64 @224', [1, 3, 224, 224], [64, 3, 7, 7], 3], ['1×1 64→256 @56', [1, 64, 56, 56], [256, 64, 1, 1], 0],
    ['3×3 64→64 @56', [1, 64, 56, 56], [64, 64, 3, 3], 1], ['3×3 128→128 @28', [1, 128, 28, 28], [128, 128, 3, 3], 1],
    ['3×3 256→256 @14', [1, 256, 14, 14], [256, 256, 3, 3], 1], ['3×3 512→512 @7', [1, 512, 7, 7], [512, 512, 3, 3], 1],
    ['1×1 2048→512 @7', [1, 2048, 7, 7], [512, 2048, 1, 1], 0],
  ];
  const rows = [];
  for (const [name, xd, wd, pad] of shapes) {
    const b = new ModelBuilder({ opset: 17 });
    const wv = Float32Array.from({ length: wd.reduce((a, c) => a * c, 1) }, (_, i) => ((i * 5) % 11) / 11 - 0.5);
    const stride = wd[2] === 7 ? 2 : 1;
    b.node('Conv', [b.input('x', DataType.FLOAT, xd), b.init('w', DataType.FLOAT, wd, wv)], { pads: [pad, pad, pad, pad], strides: [stride, stride] }, { outputs: ['y'] });
    b.output('y');
    const ex = await WebGpuExecutor.create(b.build());
    const x = { dtype: DataType.FLOAT, dims: xd, data: Float32Array.from({ length: xd.reduce((a, c) => a * c, 1) }, (_, i) => ((i * 3) % 7) / 7) };
    const ms = await timeIt(() => ex.run({ x }), 5);
    const out = (xd[2] / stride) * (xd[3] / stride), flop = 2 * wd.reduce((a, c) => a * c, 1) * out;
    rows.push({ conv: name, ms: ms.toFixed(2), 'GFLOP/s': (flop / (ms * 1e6)).toFixed(1) });
    ex.dispose();
  }
  console.table(rows);
}

const rows = [];
for (const name of ['mlp', 'cnn', 'transformer_block', 'hello_deepa']) {
  const feeds = fixtureInputs(name);
  const gpu = await WebGpuExecutor.create(loadModel(fixtureModelPath(name)));
  const cpu = new CpuExecutor(loadModel(fixtureModelPath(name)));
  const sess = await ort.InferenceSession.create(readFileSync(fixtureModelPath(name)), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const of = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
  const g = await timeIt(() => gpu.run(feeds), 10), c = await timeIt(() => cpu.runSync(feeds), 10), o = await timeIt(() => sess.run(of), 10);
  rows.push({ model: name, 'webgpu ms': g.toFixed(2), 'cpu ref ms': c.toFixed(2), 'onnxruntime ms': o.toFixed(3), 'webgpu / cpu': `${(g / c).toFixed(1)}×`, 'webgpu / onnxruntime': `${(g / o).toFixed(0)}×` });
}
console.table(rows);

// ResNet-50 (generated, random weights), fp32 and as converted to fp16: WebGPU vs onnxruntime-node (1 thread), median of 3.
{
  const { resnet50 } = await import('../fixtures/scripts/bench-models.js');
  const { randomInputs } = await import('../src/tools/inputs.js');
  const { convertSync } = await import('../src/tools/convert.js');
  const { encodeModel } = await import('../src/onnx/io.js');
  const fp32 = resnet50(), r = [];
  for (const [tag, m] of [['fp32', fp32], ['fp16', convertSync(fp32.clone()).model]] as const) {
    const feeds = randomInputs(m, 1, {});
    const ex = await WebGpuExecutor.create(m);
    const sess = await ort.InferenceSession.create(encodeModel(m), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const of = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
    const g = await timeIt(() => ex.run(feeds), 3), o = await timeIt(() => sess.run(of), 3);
    r.push({ model: `ResNet-50 ${tag}`, 'webgpu ms': g.toFixed(0), 'onnxruntime ms': o.toFixed(1), 'webgpu / onnxruntime': `${(g / o).toFixed(0)}×`, 'nodes on the CPU': JSON.stringify(ex.cpuNodes) });
    ex.dispose();
  }
  console.table(r);
}

if (process.argv.includes('--vgg19')) {
  const { vgg19 } = await import('../fixtures/scripts/bench-models.js');
  const { randomInputs } = await import('../src/tools/inputs.js');
  const m = vgg19(), feeds = randomInputs(m, 1, {});
  const ex = await WebGpuExecutor.create(m), cpu = new CpuExecutor(m);
  const sess = await ort.InferenceSession.create((await import('../src/onnx/io.js')).encodeModel(m), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const of = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
  let t = performance.now(); const g = (await ex.run(feeds)).logits.data as Float32Array; const gms = performance.now() - t;
  t = performance.now(); const c = cpu.runSync(feeds).logits.data as Float32Array; const cms = performance.now() - t;
  t = performance.now(); await sess.run(of); const oms = performance.now() - t;
  let d = 0, ref = 0;
  for (let i = 0; i < c.length; i++) { d = Math.max(d, Math.abs(g[i] - c[i])); ref = Math.max(ref, Math.abs(c[i])); }
  console.table([{ model: 'VGG-19 fp32', 'webgpu ms': gms.toFixed(0), 'cpu ref ms': cms.toFixed(0), 'onnxruntime ms': oms.toFixed(0), 'nodes on the CPU': JSON.stringify(ex.cpuNodes), 'max|Δ|/max|ref| vs cpu': (d / ref).toExponential(2) }]);
}
process.exit(0);
