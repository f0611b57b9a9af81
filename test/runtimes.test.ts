/**
 * The ort-cpu and ort-web-webgpu runtime profiles (passes/runtimes.ts) against the released runtimes: every node
 * test the runtime loads in fp32 still loads once converted for it — with every op forced low, so the profile alone
 * keeps the model loadable. onnxruntime-node for ort-cpu; onnxruntime-web's WebGPU provider on Dawn (lavapipe)
 * with CPU fallback disabled for ort-web-webgpu, so a node left without a WebGPU kernel fails the load.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeTestsDir } from './helpers/nodetests.js';
import {
  forcedLow,
  lowOps,
  ortCpuLoader,
  ortWebGpuLoader,
  probeNodeTests,
  type Loader,
} from './helpers/runtime-probe.js';
import { encodeModel } from '../src/onnx/io.js';
import { convertSync } from '../src/tools/convert.js';
import { Tensor } from '../src/ir/tensor.js';
import type { ConvertOptions } from '../passes/options.js';

interface Sweep {
  tried: number;
  lowTests: number;
  failures: string[];
}
/** Every node test `load` accepts in fp32, converted forced-low with `opts`, loaded again. */
async function sweep(load: Loader, opts: ConvertOptions): Promise<Sweep> {
  const r: Sweep = { tried: 0, lowTests: 0, failures: [] };
  for await (const { name, ops, err } of probeNodeTests(load, opts)) {
    r.tried++;
    if (ops.length) r.lowTests++;
    if (err) r.failures.push(`${name}: ${err.slice(0, 160)}`);
  }
  return r;
}

describe('runtime profiles, observed', () => {
  it('ort-cpu, bf16: onnxruntime loads every converted node test; without the profile most do not', async () => {
    // onnxruntime-node cannot feed bf16 tensors, so graph I/O keeps its types and the load tests the nodes.
    const withProfile = await sweep(ortCpuLoader, { target: 'bf16', runtime: 'ort-cpu', keepIoTypes: true });
    expect(withProfile.failures).toEqual([]);
    expect(withProfile.tried).toBeGreaterThan(500);
    expect(withProfile.lowTests).toBeGreaterThan(100); // data movement and LayerNormalization still go bf16
    // Converted for no runtime in particular, the summary says where bf16 is scarce.
    const any = convertSync(join(nodeTestsDir(), 'test_matmul_2d', 'model.onnx'), { target: 'bf16' }).summary.warnings;
    expect(any).toContainEqual(
      'bf16 kernels are few in some runtimes — ort-cpu (17 ops), ort-web-webgpu (none): give --runtime for the one this model is for',
    );
    expect(
      convertSync(join(nodeTestsDir(), 'test_matmul_2d', 'model.onnx'), { target: 'bf16', runtime: 'ort-cpu' }).summary
        .warnings,
    ).toEqual([]);
    const without = await sweep(ortCpuLoader, { target: 'bf16', keepIoTypes: true });
    expect(without.failures.length).toBeGreaterThan(200);
    expect(without.failures.join('\n')).toMatch(/Could not find an implementation for MatMul\(13\)/);
  }, 300_000);

  it('ort-cpu, bf16: Shape, Constant and ConstantOfShape run bf16 (no node test has them read or write bf16)', async () => {
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    const b = new ModelBuilder({ opset: 21 });
    const x = b.input('x', 1, [2, 3]);
    const [r] = b.node('Reshape', [x, b.init('shape', 7, [2], BigInt64Array.from([3n, 2n]))]);
    const [s] = b.node('Shape', [r]);
    const [k] = b.node('ConstantOfShape', [s], { value: Tensor.fromArray('v', 1, [1], Float32Array.from([0.5])) });
    const [c] = b.node('Constant', [], { value: Tensor.fromArray('c', 1, [3, 2], new Float32Array(6).fill(2)) });
    b.node('Concat', [r, k, c], { axis: 0 }, { outputs: ['y'] });
    b.output('y', 1, [9, 2]);
    const file = join(mkdtempSync(join(tmpdir(), 'amp-rt-')), 'chain.onnx');
    writeFileSync(file, encodeModel(b.build()));
    const m = forcedLow(file, { target: 'bf16', runtime: 'ort-cpu', keepIoTypes: true });
    expect(lowOps(m, 'bf16').sort()).toEqual(['Concat', 'Constant', 'ConstantOfShape', 'Reshape', 'Shape']);
    expect(await ortCpuLoader(encodeModel(m))).toBeUndefined();
  });

  it('ort-cpu, fp16: every converted node test loads (onnxruntime casts fp16 nodes it has no kernel for)', async () => {
    const r = await sweep(ortCpuLoader, { runtime: 'ort-cpu', keepIoTypes: true });
    expect(r.failures).toEqual([]);
    expect(r.lowTests).toBeGreaterThan(400);
  }, 300_000);

  it('ort-web-webgpu, fp16: a node test that runs wholly on the WebGPU provider in fp32 still does in fp16', async () => {
    const r = await sweep(await ortWebGpuLoader(), { runtime: 'ort-web-webgpu' });
    expect(r.failures).toEqual([]);
    expect(r.lowTests).toBeGreaterThan(350);
  }, 300_000);

  it('ort-web-webgpu, bf16: the provider has no bf16 kernel, so a bf16 conversion for it is refused', async () => {
    const load = await ortWebGpuLoader();
    const file = join(nodeTestsDir(), 'test_matmul_2d', 'model.onnx');
    expect(await load(readFileSync(file))).toBeUndefined();
    expect(await load(encodeModel(forcedLow(file, { target: 'bf16' })))).toMatch(
      /Provider type for MatMul node .* is not set/,
    ); // no provider, not even the CPU one, takes bf16 MatMul
    expect(() => convertSync(file, { target: 'bf16', runtime: 'ort-web-webgpu' })).toThrow(
      /runtime ort-web-webgpu has no bf16 kernels .*: convert to fp16/,
    );
  }, 60_000);
});

describe('the onnxruntime backend', () => {
  it('takes feeds whose arrays live in shared memory (onnxruntime-node refuses those views; they are copied)', async () => {
    const { createExecutor } = await import('../runtime/backend.js');
    const { loadModel } = await import('../src/onnx/io.js');
    const { fixtureModelPath, fixtureInputs } = await import('./helpers/fixtures.js');
    const m = loadModel(fixtureModelPath('mlp'));
    const feeds = fixtureInputs('mlp');
    const shared = Object.fromEntries(
      Object.entries(feeds).map(([k, t]) => {
        const d = new Float32Array(new SharedArrayBuffer((t.data as Float32Array).byteLength));
        d.set(t.data as Float32Array);
        return [k, { ...t, data: d }];
      }),
    );
    const { executor } = await createExecutor(m, { backend: 'ort' });
    const want = await executor.run(feeds);
    const got = await executor.run(shared);
    executor.dispose();
    for (const k of Object.keys(want))
      expect(Array.from(got[k].data as Float32Array)).toEqual(Array.from(want[k].data as Float32Array));
  });
});
