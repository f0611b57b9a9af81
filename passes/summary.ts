/** Human-readable rendering of a ConvertSummary (the CLI's one-screen summary). */
import type { ConvertSummary } from './context.js';
import { printable } from '../src/core/text.js';

export const fmtCount = (n: number): string => n.toLocaleString('en-US');
/** The CLI's one-screen text form of a ConvertSummary. */
export function formatSummary(s: ConvertSummary, extra: { input?: string; output?: string; bytesBefore?: number; bytesAfter?: number; ms?: number } = {}): string {
  const pct = (a: number) => (s.nodes.total ? `${((100 * a) / s.nodes.total).toFixed(0)}%` : '0%');
  const size = (b?: number) => (b === undefined ? '?' : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
  const lines = [
    `${printable(extra.input ?? 'model')} → ${printable(extra.output ?? '(in memory)')} (${s.target})`,
    `nodes: ${s.nodes.total} — ${s.nodes.low} ${s.target} (${pct(s.nodes.low)}), ${s.nodes.high} fp32 (${pct(s.nodes.high)}), ${s.nodes.none} non-float${s.subgraphs ? `; ${s.subgraphs} subgraph(s)` : ''}`,
    `casts: ${s.casts.total} in the model (${s.casts.inserted} inserted, ${s.casts.removed} removed, ${s.casts.retargeted} retargeted)`,
    `initializers: ${s.initializers.converted} converted (${s.initializers.duplicated} duplicated for mixed readers), ${s.initializers.clampedValues} values clamped, ${s.initializers.flushedValues} flushed`,
  ];
  const kept = Object.entries(s.keptFp32).sort((a, b) => b[1] - a[1]);
  if (kept.length) lines.push(`kept fp32: ${kept.slice(0, 5).map(([why, n]) => `${n} ${printable(why, 200)}`).join('; ')}${kept.length > 5 ? '; …' : ''}`);
  if (extra.bytesBefore !== undefined) lines.push(`size: ${size(extra.bytesBefore)} → ${size(extra.bytesAfter)}${extra.ms !== undefined ? `; ${(extra.ms / 1000).toFixed(2)} s` : ''}`);
  for (const g of s.guarded.slice(0, 5)) lines.push(`kept fp32: ${printable(g.node)} — ${printable(g.why)}`);
  if (s.guarded.length > 5) lines.push(`kept fp32: ${s.guarded.length - 5} more readers of constants beyond the fp16 range`);
  for (const w of s.warnings) lines.push(`warning: ${printable(w, 400)}`);
  return lines.join('\n');
}
