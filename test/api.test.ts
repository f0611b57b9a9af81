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
