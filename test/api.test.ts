/** The public API report (ts-morph) is committed; any change to what src/index.ts exports shows up here. */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { apiReport } from '../scripts/api-report.js';
import { repoRoot } from './helpers/nodetests.js';
import { cloneModel } from '../src/onnx/io.js';

describe('public API', () => {
  it('matches api/amp-convert.api.md (run `npm run api-report` after an intended change)', () => {
    const report = apiReport();
    expect(report).toMatch(/function convert\(input: string \| Model \| Uint8Array/);
    expect(report).toBe(readFileSync(`${repoRoot}/api/amp-convert.api.md`, 'utf8'));
  }, 60_000);
});

describe('public API documentation', () => {
  it('every export of src/index.ts carries a JSDoc comment', async () => {
    const { Project, Node } = await import('ts-morph');
    const { join } = await import('node:path');
    const root = join(import.meta.dirname, '..');
    const p = new Project({ tsConfigFilePath: join(root, 'tsconfig.json'), skipAddingFilesFromTsConfig: true });
    const f = p.addSourceFileAtPath(join(root, 'src/index.ts'));
    p.resolveSourceFileDependencies();
    const undocumented = [...f.getExportedDeclarations()]
      .filter(([, [d]]) => {
        const host = Node.isVariableDeclaration(d) ? d.getVariableStatement() : d;
        return !(host && Node.isJSDocable(host) && host.getJsDocs().length);
      })
      .map(([name]) => name);
    expect(undocumented).toEqual([]);
  }, 60_000);
});

describe('IR graphs as a first-class input', () => {
  it('a model built in code converts, runs and diffs without ONNX bytes; a malformed one is refused at build()', async () => {
    const api = await import('../src/index.js');
    const b = new api.ModelBuilder({ opset: 17 });
    const x = b.input('x', api.DataType.FLOAT, ['N', 8]);
    const w = b.init(
      'w',
      api.DataType.FLOAT,
      [8, 4],
      Float32Array.from({ length: 32 }, (_, i) => Math.cos(i) / 3),
    );
    const [h] = b.node('MatMul', [x, w], {}, { name: 'mm' });
    b.node('Softmax', [h], { axis: -1 }, { name: 'sm', outputs: ['p'] });
    b.output('p', api.DataType.FLOAT, ['N', 4]);
    const built = b.build();
    const feeds = {
      x: { dtype: api.DataType.FLOAT, dims: [2, 8], data: Float32Array.from({ length: 16 }, (_, i) => i / 16) },
    };
    const before = (await api.run(built, feeds)).outputs.p.data as Float32Array;
    const r = await api.convert(cloneModel(built), { keepIoTypes: true, inputs: [feeds] });
    expect(r.verification.status).toBe('verified');
    const after = (await api.run(r.model, feeds)).outputs.p.data as Float32Array;
    for (let i = 0; i < before.length; i++) expect(Math.abs(after[i] - before[i])).toBeLessThan(5e-3);
    const d = await api.diff(built, r.model, feeds);
    expect(d.outputsMeet).toBe(true);
    const bad = new api.ModelBuilder();
    const y = bad.input('y', api.DataType.FLOAT, [1]);
    bad.node('Relu', [y], {}, { outputs: ['z'] });
    bad.node('Neg', [y], {}, { outputs: ['z'] });
    bad.output('z');
    expect(() => bad.build()).toThrow(/value 'z' is written by node/);
  });
});
