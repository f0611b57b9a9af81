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
import { ModelBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { f32ArrayToF16 } from '../src/core/half.js';
import { loadModel } from '../src/onnx/io.js';
import { fixtureModelPath, fixtureInputs } from '../test/helpers/fixtures.js';
import { toOrt } from '../test/helpers/ort.js';
import { cloneModel } from '../src/onnx/io.js';
import { timeIt, countFlops } from './util.js';

const mm: Record<string, string>[] = [];
for (const n of [128, 256, 1024]) {
  for (const dt of [DataType.FLOAT, DataType.FLOAT16]) {
    const b = new ModelBuilder({ opset: 17 });
    b.node('MatMul', [b.input('a', dt, [n, n]), b.input('b', dt, [n, n])], {}, { outputs: ['y'] });
    b.output('y', dt, [n, n]);
    const ex = await WebGpuExecutor.create(b.build());
    const v = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13);
    const t =
      dt === DataType.FLOAT
        ? { dtype: dt, dims: [n, n], data: v }
        : { dtype: dt, dims: [n, n], data: f32ArrayToF16(v) };
    const ms = await timeIt(() => ex.run({ a: t, b: t }), 5);
    mm.push({
      size: `${n}³`,
      dtype: dt === DataType.FLOAT ? 'f32' : 'f16',
      ms: ms.toFixed(1),
      'GFLOP/s': ((2 * n ** 3) / (ms * 1e6)).toFixed(2),
    });
  }
}
// Next to it, the CPU executor's WebAssembly GEMM on the same product (all cores): the CPU peak measured here.
{
  const { sgemm } = await import('../runtime/cpu/wasm/index.js');
  const n = 1024,
    v = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13),
    t = { dtype: DataType.FLOAT, data: v };
  const ms = await timeIt(() => sgemm(n, n, n, t, t, { ars: n, acs: 1, brs: n, bcs: 1 }, [[0, 0]], DataType.FLOAT), 3);
  mm.push({
    size: `${n}³ (CPU executor, wasm SIMD)`,
    dtype: 'f32',
    ms: ms.toFixed(1),
    'GFLOP/s': ((2 * n ** 3) / (ms * 1e6)).toFixed(2),
  });
}
console.log(`adapter: ${(await WebGpuExecutor.create(loadModel(fixtureModelPath('mlp')))).note}`);
console.table(mm);

// ResNet-50's conv shapes alone (f32, batch 1; the input upload and the output readback included), median of 5.
{
  const shapes: [string, number[], number[], number][] = [
    ['7×7/2 3→64 @224', [1, 3, 224, 224], [64, 3, 7, 7], 3],
    ['1×1 64→256 @56', [1, 64, 56, 56], [256, 64, 1, 1], 0],
    ['3×3 64→64 @56', [1, 64, 56, 56], [64, 64, 3, 3], 1],
    ['3×3 128→128 @28', [1, 128, 28, 28], [128, 128, 3, 3], 1],
    ['3×3 256→256 @14', [1, 256, 14, 14], [256, 256, 3, 3], 1],
    ['3×3 512→512 @7', [1, 512, 7, 7], [512, 512, 3, 3], 1],
    ['1×1 2048→512 @7', [1, 2048, 7, 7], [512, 2048, 1, 1], 0],
  ];
  const rows = [];
  for (const [name, xd, wd, pad] of shapes) {
    const b = new ModelBuilder({ opset: 17 });
    const wv = Float32Array.from({ length: wd.reduce((a, c) => a * c, 1) }, (_, i) => ((i * 5) % 11) / 11 - 0.5);
    const stride = wd[2] === 7 ? 2 : 1;
    b.node(
      'Conv',
      [b.input('x', DataType.FLOAT, xd), b.init('w', DataType.FLOAT, wd, wv)],
      { pads: [pad, pad, pad, pad], strides: [stride, stride] },
      { outputs: ['y'] },
    );
    b.output('y');
    const ex = await WebGpuExecutor.create(b.build());
    const x = {
      dtype: DataType.FLOAT,
      dims: xd,
      data: Float32Array.from({ length: xd.reduce((a, c) => a * c, 1) }, (_, i) => ((i * 3) % 7) / 7),
    };
    const ms = await timeIt(() => ex.run({ x }), 5);
    const out = (xd[2] / stride) * (xd[3] / stride),
      flop = 2 * wd.reduce((a, c) => a * c, 1) * out;
    rows.push({ conv: name, ms: ms.toFixed(2), 'GFLOP/s': (flop / (ms * 1e6)).toFixed(1) });
    ex.dispose();
  }
  console.table(rows);
}

// The adapter's own ceilings, from two tiny kernels of ours: vec4 FMA chains with 16 and with 128 live floats per
// invocation (a register block's accumulators), and what one storage-buffer load costs per invocation (f32 per
// invocation, the same address for the whole workgroup, vec4), net of the same loop without loads.
const ceilings: { fma16: number; fma128: number } = { fma16: 0, fma128: 0 };
{
  const { gpuContext } = await import('../runtime/webgpu/device.js');
  const dev = (await gpuContext()).device;
  const dispatch = async (code: string, buffers: GPUBuffer[], groups: number): Promise<number> => {
    const pipe = dev.createComputePipeline({
      layout: 'auto',
      compute: { module: dev.createShaderModule({ code }), entryPoint: 'main' },
    });
    const bg = dev.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    return timeIt(async () => {
      const e = dev.createCommandEncoder(),
        pass = e.beginComputePass();
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(groups);
      pass.end();
      dev.queue.submit([e.finish()]);
      await dev.queue.onSubmittedWorkDone();
    }, 3);
  };
  const WG = 64,
    GROUPS = 256,
    ITERS = 2048,
    n = WG * GROUPS;
  const out = dev.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE });
  const rows: Record<string, string>[] = [];
  for (const chains of [4, 32]) {
    const v = Array.from({ length: chains }, (_, c) => c);
    const ms = await dispatch(
      `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let s = f32(gid.x) * 1e-7; let m = vec4<f32>(0.999, 0.998, 0.997, 0.996); let d = vec4<f32>(1e-3);
  ${v.map((c) => `var a${c} = vec4<f32>(s + ${c}.0);`).join(' ')}
  for (var i = 0u; i < ${ITERS}u; i++) { ${v.map((c) => `a${c} = fma(a${c}, m, d);`).join(' ')} }
  out[gid.x] = ${v.map((c) => `a${c}.x + a${c}.w`).join(' + ')};
}`,
      [out],
      GROUPS,
    );
    const gflops = (n * ITERS * chains * 8) / (ms * 1e6);
    if (chains === 4) ceilings.fma16 = gflops;
    else ceilings.fma128 = gflops;
    rows.push({ kernel: `FMA, ${chains * 4} live floats per invocation`, 'GFLOP/s': gflops.toFixed(1) });
  }
  const N = 1 << 22,
    src = dev.createBuffer({ size: N * 4, usage: GPUBufferUsage.STORAGE });
  const loads: [string, string, number][] = [
    ['none (the loop alone)', 'f32(i)', 1],
    ['f32, per invocation', 'in0[(gid.x + i * 4096u) & MASK]', 1],
    ['f32, same for the workgroup', 'in0[(wg.x * 64u + i) & MASK]', 1],
    ['vec4, per invocation', 'dot(in4[(gid.x + i * 4096u) & (MASK / 4u)], vec4<f32>(1.0))', 4],
  ];
  let base = 0;
  for (const [name, expr, floats] of loads) {
    const ms = await dispatch(
      `@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
const MASK = ${N - 1}u;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  _ = in0[0]; _ = in4[0];
  var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
  for (var j = 0u; j < ${ITERS}u; j += 4u) {
    { let i = j; s0 += ${expr}; } { let i = j + 1u; s1 += ${expr}; } { let i = j + 2u; s2 += ${expr}; } { let i = j + 3u; s3 += ${expr}; }
  }
  out[gid.x] = s0 + s1 + s2 + s3;
}`,
      [src, src, out],
      GROUPS,
    );
    if (!base) {
      base = ms;
      continue;
    }
    rows.push({
      kernel: `load: ${name}`,
      'ns per float loaded': (((ms - base) * 1e6) / (n * ITERS * floats)).toFixed(3),
    });
  }
  console.log("The adapter's ceilings (ns are wall time per float per invocation, all cores):");
  console.table(rows);
}

const rows = [];
for (const name of ['mlp', 'cnn', 'transformer_block', 'hello_deepa']) {
  const feeds = fixtureInputs(name);
  const gpu = await WebGpuExecutor.create(loadModel(fixtureModelPath(name)));
  const cpu = new CpuExecutor(loadModel(fixtureModelPath(name)));
  const sess = await ort.InferenceSession.create(readFileSync(fixtureModelPath(name)), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const of = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
  const g = await timeIt(() => gpu.run(feeds), 10),
    c = await timeIt(() => cpu.runSync(feeds), 10),
    o = await timeIt(() => sess.run(of), 10);
  rows.push({
    model: name,
    'webgpu ms': g.toFixed(2),
    'cpu ref ms': c.toFixed(2),
    'onnxruntime ms': o.toFixed(3),
    'webgpu / cpu': `${(g / c).toFixed(1)}×`,
    'webgpu / onnxruntime': `${(g / o).toFixed(0)}×`,
  });
}
console.table(rows);

// ResNet-50 (generated, random weights), fp32 and as converted to fp16: WebGPU vs onnxruntime-node (1 thread), median of 3.
{
  const { resnet50 } = await import('../fixtures/scripts/bench-models.js');
  const { randomInputs } = await import('../src/tools/inputs.js');
  const { convertSync } = await import('../src/tools/convert.js');
  const { encodeModel } = await import('../src/onnx/io.js');
  const fp32 = resnet50(),
    r = [];
  const flop = await countFlops(fp32, randomInputs(fp32, 1, {}));
  for (const [tag, m] of [
    ['fp32', fp32],
    ['fp16', convertSync(cloneModel(fp32)).model],
  ] as const) {
    const feeds = randomInputs(m, 1, {});
    const ex = await WebGpuExecutor.create(m);
    const sess = await ort.InferenceSession.create(encodeModel(m), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const of = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
    const g = await timeIt(() => ex.run(feeds), 3),
      o = await timeIt(() => sess.run(of), 3);
    r.push({
      model: `ResNet-50 ${tag}`,
      'webgpu ms': g.toFixed(0),
      'onnxruntime ms': o.toFixed(1),
      'webgpu / onnxruntime': `${(g / o).toFixed(0)}×`,
      'webgpu GFLOP/s': (flop / (g * 1e6)).toFixed(1),
      'its FLOPs at the FMA ceiling (16 live) ms': (flop / (ceilings.fma16 * 1e6)).toFixed(0),
      'that / onnxruntime': `${(flop / (ceilings.fma16 * 1e6) / o).toFixed(1)}×`,
      'nodes on the CPU': JSON.stringify(ex.cpuNodes),
    });
    ex.dispose();
  }
  console.log(`ResNet-50: ${(flop / 1e9).toFixed(2)} GFLOP per inference (counted)`);
  console.table(r);
}

if (process.argv.includes('--vgg19')) {
  const { vgg19 } = await import('../fixtures/scripts/bench-models.js');
  const { randomInputs } = await import('../src/tools/inputs.js');
  const m = vgg19(),
    feeds = randomInputs(m, 1, {});
  const ex = await WebGpuExecutor.create(m),
    cpu = new CpuExecutor(m);
  const sess = await ort.InferenceSession.create((await import('../src/onnx/io.js')).encodeModel(m), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const of = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
  let t = performance.now();
  const g = (await ex.run(feeds)).logits.data as Float32Array;
  const gms = performance.now() - t;
  t = performance.now();
  const c = cpu.runSync(feeds).logits.data as Float32Array;
  const cms = performance.now() - t;
  t = performance.now();
  await sess.run(of);
  const oms = performance.now() - t;
  let d = 0,
    ref = 0;
  for (let i = 0; i < c.length; i++) {
    d = Math.max(d, Math.abs(g[i] - c[i]));
    ref = Math.max(ref, Math.abs(c[i]));
  }
  console.table([
    {
      model: 'VGG-19 fp32',
      'webgpu ms': gms.toFixed(0),
      'cpu ref ms': cms.toFixed(0),
      'onnxruntime ms': oms.toFixed(0),
      'nodes on the CPU': JSON.stringify(ex.cpuNodes),
      'max|Δ|/max|ref| vs cpu': (d / ref).toExponential(2),
    },
  ]);
}
process.exit(0);
