/**
 * Verification that never lies and rarely refuses: verdicts that agree with themselves on NaN/Inf, a repair
 * that always ends with a model that passes (the fp32 model meets any tolerance), inputs whose own rounding is
 * the cause kept fp32 by name, and ops the CPU executor lacks giving a note rather than a refusal.
 */
import { describe, it, expect } from 'vitest';
import { convert, convertSync } from '../src/tools/convert.js';
import { make, T } from '../src/onnx/proto/proto.js';
import { InvalidModelError } from '../src/core/errors.js';
import { formatVerification } from '../src/tools/verify.js';
import { loadNodeCase } from './helpers/nodecase.js';
import { fixtureModelPath } from './helpers/fixtures.js';
import { ModelBuilder, GraphBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';

describe('verdicts', () => {
  it('acosh of |x| < 1 is NaN in fp32 too: the same NaNs agree, the model is verified', async () => {
    const r = await convert(loadNodeCase('test_acosh_example')!.model());
    expect(r.verification.status).toBe('verified');
  });

  it('no FAIL line contradicts itself: it names the criterion that failed, never "% of the allowed error" beside an unmet bound', async () => {
    const r = await convert(fixtureModelPath('mlp'), { tolerance: { atol: 1e-9, rtol: 0, scale: 0 }, maxEvals: 1 });
    expect(r.verification.status).toBe('failed');
    const fails = formatVerification(r.verification).filter((l) => /FAIL/.test(l));
    expect(fails.length).toBeGreaterThan(0);
    for (const l of fails) {
      expect(l).toMatch(
        /FAIL \S+: (elementwise bound: worst \|Δ\| is [\d.e+]+× the allowed error|cosine|\d+ new NaN|\d+ NaN\/Inf|max\|Δ\|\/max\|ref\|)/,
      );
      const share = /, (\d+)% of the allowed error/.exec(l);
      if (share) expect(Number(share[1])).toBeGreaterThan(100);
    }
  });
});

describe('repair always ends well', () => {
  it('a tolerance no fp16 node meets: the repair ends with a model that passes, saying what it kept', async () => {
    const r = await convert(fixtureModelPath('mlp'), { tolerance: { atol: 1e-9, rtol: 0, scale: 0, cos: 1 } });
    expect(r.verification.status).toBe('verified');
    expect(r.verification.repaired.length + (r.verification.keptIo?.length ?? 0)).toBeGreaterThan(0);
  });

  it("tan near its poles: the input's own fp16 rounding is the cause, so the repair keeps that input fp32 by name", async () => {
    // Synthesized N(0,1) inputs come near π/2, where tan's slope turns fp16's rounding of x into a large error.
    const r = await convert(loadNodeCase('test_tan')!.model());
    expect(r.verification.status).toBe('verified');
    expect(r.verification.keptIo).toContain('x');
    expect(r.model.graph.values.get('x')!.type!.elemType).toBe(DataType.FLOAT);
    expect(formatVerification(r.verification).join('\n')).toMatch(
      /kept fp32 at the model's edge by the repair .*: .*\bx\b/,
    );
  });

  it('softmax of values near 1e4: fp16 inputs lose the differences that matter; the given inputs prove it and the repair keeps them', async () => {
    const c = loadNodeCase('test_softmax_large_number')!;
    const r = await convert(c.model(), { inputs: [c.inputs] });
    expect(r.verification.status).toBe('verified');
    expect(r.verification.keptIo?.length).toBeGreaterThan(0);
  });
});

describe('unverifiable parts do not block', () => {
  it('an op without a CPU kernel: verified on onnxruntime-node (installed here), saying so; without it, static rules and a note', async () => {
    const b = new ModelBuilder({ opset: 22 });
    const x = b.input('x', DataType.FLOAT, [1, 1, 4, 4]);
    const off = b.input('offset', DataType.FLOAT, [1, 18, 2, 2]);
    const w = b.init('w', DataType.FLOAT, [1, 1, 3, 3], new Float32Array(9).fill(0.1));
    b.node('DeformConv', [x, w, off], { kernel_shape: [3, 3] }, { outputs: ['y'] });
    b.output('y', DataType.FLOAT, [1, 1, 2, 2]);
    const r = await convert(b.build());
    expect(r.verification.status).toBe('verified');
    expect(r.verification.note).toMatch(
      /verified on onnxruntime-node, as the CPU executor has no kernel for DeformConv/,
    );
    expect(formatVerification(r.verification).join('\n')).toMatch(/onnxruntime-node/);
    // An op onnxruntime does not know either (a custom domain): the static rules and a note naming it.
    const c = new ModelBuilder({ opset: 17, extraOpsets: { 'my.ops': 1 } });
    const cx = c.input('x', DataType.FLOAT, [4]);
    const [cy] = c.node('Frobnicate', [cx], {}, { domain: 'my.ops' });
    c.node('Relu', [cy], {}, { outputs: ['y'] });
    c.output('y', DataType.FLOAT, [4]);
    const u = await convert(c.build());
    expect(u.verification.status).toBe('unverified');
    expect(u.verification.note).toMatch(/no kernel for my\.ops\.Frobnicate/);
  });
});

describe('validity before proof: a model its runtime refuses is never verified', () => {
  /** A two-node model whose second node's attribute `name` has the wrong AttributeProto type. */
  const withAttr = (
    op: string,
    name: string,
    attr: Record<string, unknown>,
    extraInputs: (b: ModelBuilder, x: string) => string[] = () => [],
  ) => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', DataType.FLOAT, [2, 3]);
    const [r] = b.node('Relu', [x]);
    const [y] = b.node(op, [r, ...extraInputs(b, x)], {}, { outputs: ['y'], name: 'victim' });
    b.graph.nodes[1].attributes.push(make(T.Attribute, { name, ...attr }) as never);
    b.output(y, DataType.FLOAT);
    return b.build();
  };
  it.each([
    ['Softmax axis as FLOAT', () => withAttr('Softmax', 'axis', { type: 1, f: 1 })],
    ['Transpose perm as STRING', () => withAttr('Transpose', 'perm', { type: 3, s: new TextEncoder().encode('1,0') })],
    [
      'Gemm alpha as a GRAPH',
      () =>
        withAttr('Gemm', 'alpha', { type: 5, g: make(T.Graph, { name: 'g' }) }, (b) => [
          b.init('w', DataType.FLOAT, [3, 3], new Float32Array(9)),
        ]),
    ],
  ])('%s: exit 2 naming the node, never "verified"', async (_n, build) => {
    await expect(convert(build())).rejects.toThrow(InvalidModelError);
    await expect(convert(build())).rejects.toThrow(/node 'victim' .*attribute '\w+' is (FLOAT|STRING|GRAPH), expected/);
    // The static path, which runs nothing, still converts it (the attribute is not one it reads).
    expect(() => convertSync(build())).not.toThrow();
  });
  it('an If whose branches yield 2 outputs for a 1-output node, a Scan with num_scan_inputs 5 and one input: refused', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', DataType.FLOAT, [2]);
    const c = b.input('c', DataType.BOOL, []);
    const branch = (name: string) => {
      const g = new GraphBuilder(name, b.graph);
      const [a] = g.node('Neg', [x]);
      const [d] = g.node('Abs', [x]);
      g.output(a, DataType.FLOAT, [2]);
      g.output(d, DataType.FLOAT, [2]);
      return g.graph;
    };
    b.node('If', [c], { then_branch: branch('t'), else_branch: branch('e') }, { outputs: ['y'], name: 'bad_if' });
    b.output('y', DataType.FLOAT, [2]);
    await expect(convert(b.build())).rejects.toThrow(
      /node 'bad_if' \(If\): then_branch yields 2 outputs for a node with 1/,
    );
    const s = new ModelBuilder({ opset: 17 });
    const sx = s.input('x', DataType.FLOAT, [3, 2]);
    const body = new GraphBuilder('body', s.graph);
    body.input('xi', DataType.FLOAT, [2]);
    body.output(body.node('Neg', ['xi'])[0], DataType.FLOAT, [2]);
    s.node('Scan', [sx], { body: body.graph, num_scan_inputs: 5 }, { outputs: ['y'], name: 'bad_scan' });
    s.output('y', DataType.FLOAT, [3, 2]);
    await expect(convert(s.build())).rejects.toThrow(
      /node 'bad_scan' \(Scan\): num_scan_inputs 5 must be between 1 and its 1/,
    );
  });
});

describe('onnxruntime crashing on a hostile model', () => {
  it('the verification on onnxruntime runs out of process: a segfault there is a note here, not a crash', async () => {
    // onnxruntime-node 1.30 segfaults on this LayerNormalization (optional bias given as ''), and the CPU executor
    // has no DeformConv kernel, so verification falls back to onnxruntime.
    const b = new ModelBuilder({ opset: 22 });
    const x = b.input('x', DataType.FLOAT, [1, 1, 4, 4]);
    const scale = b.input('W', DataType.FLOAT, [4]);
    b.input('B', DataType.FLOAT, [4]);
    const [n] = b.node('LayerNormalization', [x, scale, ''], {}, { outputs: ['ln'] });
    const off = b.input('offset', DataType.FLOAT, [1, 18, 2, 2]);
    const w = b.init('w', DataType.FLOAT, [1, 1, 3, 3], new Float32Array(9).fill(0.1));
    b.node('DeformConv', [n, w, off], { kernel_shape: [3, 3] }, { outputs: ['y'] });
    b.output('y', DataType.FLOAT, [1, 1, 2, 2]);
    const r = await convert(b.build());
    expect(r.verification.status).toBe('unverified');
    expect(r.verification.note).toMatch(/no kernel for DeformConv/);
  }, 60_000);
});
