/**
 * Op knowledge lives in registries; this test cross-checks them so adding an op is one obvious change with a
 * failure that says what is missing: policy (passes/policy.ts), type rules (src/ir/infer-rules.ts), CPU kernels,
 * WebGPU kernels and views, gradient rules — and the README's generated op tables.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OP_POLICY, SLOT_POLICY, REDUCTIONS } from '../passes/policy.js';
import { typeRules } from '../src/ir/infer-rules.js';
import { cpuKernels } from '../runtime/cpu/kernels/index.js';
import { gpuKernels, VIEW_OPS } from '../runtime/webgpu/kernels/index.js';
import { gradRules } from '../passes/training/grad/index.js';
import { opTables, readmeSection } from '../scripts/op-tables.js';

const ROOT = join(__dirname, '..');
/** Ops typed from their bodies (src/ir/infer.ts), not by a rule. */
const TYPED_BY_BODY = new Set(['If', 'Loop', 'Scan']);

describe('op registries agree', () => {
  it('every op the CPU executor runs has a policy entry and a type rule', () => {
    const ops = Object.keys(cpuKernels);
    expect(ops.length).toBeGreaterThan(100);
    expect(ops.filter((o) => !OP_POLICY[o])).toEqual([]);
    expect(ops.filter((o) => !(o in typeRules) && !TYPED_BY_BODY.has(o))).toEqual([]);
  });
  it('every op with a type rule or slot exception has a policy entry (nothing is denied for lack of a listing)', () => {
    expect(Object.keys(typeRules).filter((o) => !OP_POLICY[o])).toEqual([]);
    expect(Object.keys(SLOT_POLICY).filter((o) => !OP_POLICY[o])).toEqual([]);
    expect(Object.keys(REDUCTIONS).filter((o) => !OP_POLICY[o] || !cpuKernels[o])).toEqual([]);
  });
  it('every policy entry has a type rule (or is typed by its bodies)', () => {
    expect(Object.keys(OP_POLICY).filter((o) => !(o in typeRules) && !TYPED_BY_BODY.has(o))).toEqual([]);
  });
  it('every WebGPU kernel and view has a CPU twin (the reference and fallback)', () => {
    expect(Object.keys(gpuKernels).filter((o) => !cpuKernels[o])).toEqual([]);
    expect([...VIEW_OPS].filter((o) => !cpuKernels[o])).toEqual([]);
  });
  it('every op with checked string attributes has a CPU kernel; a value outside its list is refused before running', async () => {
    const { ENUM_ATTRIBUTES, checkEnumAttributes } = await import('../runtime/ops/enums.js');
    expect(Object.keys(ENUM_ATTRIBUTES).filter((o) => !cpuKernels[o])).toEqual([]);
    const { ModelBuilder } = await import('../src/onnx/builder.js');
    const b = new ModelBuilder({ opset: 19 });
    b.node(
      'Pad',
      [b.input('x', 1, [2, 2]), b.init('p', 7, [4], BigInt64Array.from([1n, 1n, 1n, 1n]))],
      { mode: 'mirror' },
      { name: 'pad', outputs: ['y'] },
    );
    b.output('y', 1, [4, 4]);
    expect(() => checkEnumAttributes(b.build())).toThrow(
      /node 'pad' \(Pad\): mode 'mirror' is not one of constant, reflect, edge, wrap/,
    );
    // Both executors refuse it before running anything.
    const { CpuExecutor } = await import('../runtime/cpu/executor.js');
    expect(() => new CpuExecutor(b.build())).toThrow(/mode 'mirror'/);
  });
  it('a registry refuses an op two tables claim (no silent override by order)', async () => {
    const { register } = await import('../src/core/registry.js');
    expect(register('t', { A: 1 }, { B: 2 })).toEqual({ A: 1, B: 2 });
    expect(() => register('test kernels', { A: 1, B: 2 }, { B: 3 })).toThrow("test kernels: 'B' is registered twice");
  });
  it('every gradient rule is for an op with a CPU kernel and a policy entry', () => {
    expect(Object.keys(gradRules).filter((o) => !cpuKernels[o] || !OP_POLICY[o])).toEqual([]);
  });
  it('no step of the pass names an op (the policy does)', () => {
    const dir = join(ROOT, 'passes/steps');
    const named: string[] = [];
    for (const f of readdirSync(dir)) {
      const src = readFileSync(join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const m of src.matchAll(/'([A-Z][A-Za-z]+)'/g))
        if (OP_POLICY[m[1]] || typeRules[m[1]]) named.push(`${f}: ${m[1]}`);
    }
    expect(named).toEqual([]);
  });
  it('the README op tables are generated from the registries (npm run docs:ops)', () => {
    const section = readmeSection(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(section).toBe(opTables());
  });
});
