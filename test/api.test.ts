/** The public API report (ts-morph) is committed; any change to what src/index.ts exports shows up here. */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { apiReport } from '../scripts/api-report.js';
import { repoRoot } from './helpers/nodetests.js';

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
    const undocumented = [...f.getExportedDeclarations()].filter(([, [d]]) => {
      const host = Node.isVariableDeclaration(d) ? d.getVariableStatement() : d;
      return !(host && Node.isJSDocable(host) && host.getJsDocs().length);
    }).map(([name]) => name);
    expect(undocumented).toEqual([]);
  }, 60_000);
});
