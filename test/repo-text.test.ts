/**
 * The repository speaks to its users: no words about how the work was organised (issue numbers, work sessions and
 * their stops) in any tracked text but the changelog.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './helpers/nodetests.js';

const WORK_WORDS = /\bissue #?\d+|\b(this|next|last|previous|that) (stop|session)\b|\bstop \d+\b|\bat stop\b/i;

describe('repository text', () => {
  it('names no issue, session or stop outside CHANGELOG.md', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\n')
      .filter(
        (f) =>
          /\.(ts|md|json|html|css|sh|py)$|^\.ci\//.test(f) &&
          f !== 'CHANGELOG.md' &&
          !f.endsWith('package-lock.json') &&
          !f.startsWith('fixtures/fuzz-corpus/'),
      );
    expect(files.length).toBeGreaterThan(100);
    const hits = files.flatMap((f) =>
      readFileSync(join(repoRoot, f), 'utf8')
        .split('\n')
        .flatMap((l, i) => (WORK_WORDS.test(l) ? [`${f}:${i + 1}: ${l.trim().slice(0, 120)}`] : [])),
    );
    expect(hits).toEqual([]);
  });
});
