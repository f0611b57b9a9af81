/**
 * The import rule (docs/architecture.md): each layer imports only the layers below it.
 *   core (src/ir, src/onnx, src/core) ← passes/ and runtime/ (not each other) ← tools (src/tools) ← API (src/index.ts)
 *   ← CLI (src/cli) and the Vite plugin (src/vite), which import only the API
 * Walks every static import, re-export and dynamic import() of the sources with ts-morph.
 */
import { describe, it, expect } from 'vitest';
import { Project, SyntaxKind } from 'ts-morph';
import { relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
type Layer = 'core' | 'passes' | 'runtime' | 'tools' | 'api' | 'cli' | 'plugin';
const ALLOWED: Record<Layer, Layer[]> = {
  core: ['core'],
  passes: ['core', 'passes'],
  runtime: ['core', 'runtime'],
  tools: ['core', 'passes', 'runtime', 'tools'],
  api: ['core', 'passes', 'runtime', 'tools', 'api'],
  cli: ['api', 'cli'],
  plugin: ['api', 'plugin'],
};

export function layerOf(rel: string): Layer | undefined {
  if (/^src\/(ir|onnx|core)\//.test(rel)) return 'core';
  if (rel.startsWith('passes/')) return 'passes';
  if (rel.startsWith('runtime/')) return 'runtime';
  if (rel.startsWith('src/tools/')) return 'tools';
  if (rel === 'src/index.ts') return 'api';
  if (rel.startsWith('src/cli/')) return 'cli';
  if (rel.startsWith('src/vite/')) return 'plugin';
  return undefined;
}

function importEdges(): { from: string; to: string }[] {
  const p = new Project({ tsConfigFilePath: resolve(ROOT, 'tsconfig.json'), skipAddingFilesFromTsConfig: true });
  p.addSourceFilesAtPaths([`${ROOT}/src/**/*.ts`, `${ROOT}/passes/**/*.ts`, `${ROOT}/runtime/**/*.ts`]);
  const edges: { from: string; to: string }[] = [];
  for (const sf of p.getSourceFiles()) {
    const from = relative(ROOT, sf.getFilePath());
    const specs: string[] = [
      ...sf.getImportDeclarations().map((d) => d.getModuleSpecifierValue()),
      ...sf.getExportDeclarations().flatMap((d) => d.getModuleSpecifierValue() ?? []),
      ...sf.getDescendantsOfKind(SyntaxKind.CallExpression)
        .filter((c) => c.getExpression().getKind() === SyntaxKind.ImportKeyword)
        .flatMap((c) => { const a = c.getArguments()[0]; return a?.isKind(SyntaxKind.StringLiteral) ? [a.getLiteralValue()] : []; }),
    ];
    for (const s of specs) {
      if (!s.startsWith('.')) continue;
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
    const bad = edges.filter((e) => { const a = layerOf(e.from), b = layerOf(e.to); return a && b && !ALLOWED[a].includes(b); })
      .map((e) => `${e.from} -> ${e.to}`);
    expect(bad).toEqual([]);
  });
  it('the rule itself rejects an upward import', () => {
    expect(ALLOWED[layerOf('passes/steps/01-classify.ts')!]).not.toContain(layerOf('runtime/cpu/executor.ts'));
    expect(ALLOWED[layerOf('src/cli/main.ts')!]).not.toContain(layerOf('src/onnx/io.ts'));
    expect(ALLOWED[layerOf('src/ir/graph.ts')!]).not.toContain(layerOf('src/tools/diff.ts'));
  });
});
