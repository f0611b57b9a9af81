/**
 * The import rule (docs/architecture.md): each layer imports only itself and the layers below it.
 *   src/core (dtype, half, float8, errors, text, fs) ← src/onnx/proto (wire schema, messages) ← src/ir (graph,
 *   tensors, inference) ← src/onnx (load, save, import/export, builder)
 *   ← passes/ and runtime/ (not each other) ← tools (src/tools) ← API (src/index.ts)
 *   ← CLI (src/cli), the Vite plugin (src/vite) and the browser entry (src/browser), which import only the API
 * and no file reaches itself through its imports (no cycle, at any distance).
 * Walks every static import, re-export and dynamic import() of the sources with ts-morph.
 */
import { describe, it, expect } from 'vitest';
import { Project, SyntaxKind } from 'ts-morph';
import { relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
type Layer = 'core' | 'proto' | 'ir' | 'onnx' | 'passes' | 'runtime' | 'tools' | 'api' | 'cli' | 'plugin' | 'browser';
const BELOW_PASSES: Layer[] = ['core', 'proto', 'ir', 'onnx'];
const ALLOWED: Record<Layer, Layer[]> = {
  core: ['core'],
  proto: ['core', 'proto'],
  ir: ['core', 'proto', 'ir'],
  onnx: BELOW_PASSES,
  passes: [...BELOW_PASSES, 'passes'],
  runtime: [...BELOW_PASSES, 'runtime'],
  tools: [...BELOW_PASSES, 'passes', 'runtime', 'tools'],
  api: [...BELOW_PASSES, 'passes', 'runtime', 'tools', 'api'],
  cli: ['api', 'cli'],
  plugin: ['api', 'plugin'],
  browser: ['api', 'browser'],
};

export function layerOf(rel: string): Layer | undefined {
  if (rel.startsWith('src/core/')) return 'core';
  if (rel.startsWith('src/onnx/proto/')) return 'proto';
  if (rel.startsWith('src/ir/')) return 'ir';
  if (rel.startsWith('src/onnx/')) return 'onnx';
  if (rel.startsWith('passes/')) return 'passes';
  if (rel.startsWith('runtime/')) return 'runtime';
  if (rel.startsWith('src/tools/')) return 'tools';
  if (rel === 'src/index.ts') return 'api';
  if (rel.startsWith('src/cli/')) return 'cli';
  if (rel.startsWith('src/vite/')) return 'plugin';
  if (rel.startsWith('src/browser/')) return 'browser';
  return undefined;
}

/** Files that reach themselves through imports: one cycle per strongly connected component (Tarjan). */
export function cycles(edges: { from: string; to: string }[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>(),
    low = new Map<string, number>(),
    stack: string[] = [],
    on = new Set<string>();
  const out: string[][] = [];
  let i = 0;
  const visit = (v: string): void => {
    index.set(v, i);
    low.set(v, i);
    i++;
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      for (let w = ''; w !== v;) {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      }
      if (scc.length > 1 || (next.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of new Set(edges.flatMap((e) => [e.from, e.to]))) if (!index.has(v)) visit(v);
  return out;
}

/** Imports of Node's built-in modules (node:fs, node:os…), by file. */
const builtins: { from: string; to: string }[] = [];

function importEdges(): { from: string; to: string }[] {
  const p = new Project({ tsConfigFilePath: resolve(ROOT, 'tsconfig.json'), skipAddingFilesFromTsConfig: true });
  p.addSourceFilesAtPaths([`${ROOT}/src/**/*.ts`, `${ROOT}/passes/**/*.ts`, `${ROOT}/runtime/**/*.ts`]);
  const edges: { from: string; to: string }[] = [];
  for (const sf of p.getSourceFiles()) {
    const from = relative(ROOT, sf.getFilePath());
    const specs: string[] = [
      ...sf.getImportDeclarations().map((d) => d.getModuleSpecifierValue()),
      ...sf.getExportDeclarations().flatMap((d) => d.getModuleSpecifierValue() ?? []),
      ...sf
        .getDescendantsOfKind(SyntaxKind.CallExpression)
        .filter((c) => c.getExpression().getKind() === SyntaxKind.ImportKeyword)
        .flatMap((c) => {
          const a = c.getArguments()[0];
          return a?.isKind(SyntaxKind.StringLiteral) ? [a.getLiteralValue()] : [];
        }),
    ];
    for (const s of specs) {
      if (!s.startsWith('.')) {
        if (s.startsWith('node:')) builtins.push({ from, to: s });
        continue;
      }
      const to = relative(ROOT, resolve(sf.getDirectoryPath(), s)).replace(/\.js$/, '.ts');
      edges.push({ from, to });
    }
  }
  return edges;
}

describe('architecture', () => {
  const edges = importEdges();
  it('finds the sources and their imports', () => {
    expect(new Set(edges.map((e) => e.from)).size).toBeGreaterThan(80);
    expect(edges.length).toBeGreaterThan(300);
  });
  it('every source file belongs to a layer', () => {
    const orphans = [...new Set(edges.flatMap((e) => [e.from, e.to]))].filter((f) => !layerOf(f));
    expect(orphans).toEqual([]);
  });
  it('every import points to the same layer or one below it', () => {
    const bad = edges
      .filter((e) => {
        const a = layerOf(e.from),
          b = layerOf(e.to);
        return a && b && !ALLOWED[a].includes(b);
      })
      .map((e) => `${e.from} -> ${e.to}`);
    expect(bad).toEqual([]);
  });
  it('a step of the pass imports the context, passes/lib and the policy, never another step', () => {
    const bad = edges.filter(
      (e) =>
        e.from.startsWith('passes/steps/') &&
        e.to.startsWith('passes/') &&
        !/^passes\/(context|policy|runtimes|options)\.ts$|^passes\/lib\//.test(e.to),
    );
    expect(bad.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
    expect(edges.some((e) => e.from.startsWith('passes/steps/') && e.to.startsWith('passes/lib/'))).toBe(true);
  });
  it('the pass (graph → graph) touches no file, process or OS', () => {
    expect(builtins.filter((b) => b.from.startsWith('passes/')).map((b) => `${b.from} -> ${b.to}`)).toEqual([]);
    expect(builtins.some((b) => b.from === 'src/core/fs.ts')).toBe(true);
  });
  it('no file reaches itself through its imports', () => {
    expect(cycles(edges)).toEqual([]);
  });
  it('the cycle check finds a cycle at any distance', () => {
    expect(
      cycles([
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'a' },
        { from: 'c', to: 'd' },
      ]),
    ).toEqual([['a', 'b', 'c']]);
    expect(
      cycles([
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ]),
    ).toEqual([]);
  });
  it('the rule itself rejects an upward import', () => {
    expect(ALLOWED[layerOf('src/core/dtype.ts')!]).not.toContain(layerOf('src/ir/graph.ts'));
    expect(ALLOWED[layerOf('src/ir/graph.ts')!]).not.toContain(layerOf('src/onnx/io.ts'));
    expect(ALLOWED[layerOf('src/onnx/proto/proto.ts')!]).not.toContain(layerOf('src/ir/tensor.ts'));
    expect(ALLOWED[layerOf('passes/steps/01-classify.ts')!]).not.toContain(layerOf('runtime/cpu/executor.ts'));
    expect(ALLOWED[layerOf('src/cli/main.ts')!]).not.toContain(layerOf('src/onnx/io.ts'));
    expect(ALLOWED[layerOf('src/ir/graph.ts')!]).not.toContain(layerOf('src/tools/diff.ts'));
  });
});
