/** Human-readable rendering of a ConvertSummary (the CLI's one-screen summary). */
import { KEEP_KINDS, type ConvertSummary, type KeepKind } from '../../passes/context.js';
import { printable } from '../core/text.js';

/** The CLI's one-screen text form of a ConvertSummary. */
export function formatSummary(
  s: ConvertSummary,
  extra: { input?: string; output?: string; bytesBefore?: number; bytesAfter?: number; ms?: number } = {},
): string {
  const pct = (a: number) => (s.nodes.total ? `${((100 * a) / s.nodes.total).toFixed(0)}%` : '0%');
  const size = (b?: number) =>
    b === undefined ? '?' : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`;
  const lines = [
    `${printable(extra.input ?? 'model')} → ${printable(extra.output ?? '(in memory)')} (${s.target})`,
    `nodes: ${s.nodes.total} — ${s.nodes.low} ${s.target} (${pct(s.nodes.low)}), ${s.nodes.high} fp32 (${pct(s.nodes.high)}), ${s.nodes.none} non-float${s.subgraphs ? `; ${s.subgraphs} subgraph(s)` : ''}`,
    `casts: ${s.casts.total} in the model (${s.casts.inserted} inserted, ${s.casts.removed} removed, ${s.casts.retargeted} retargeted)`,
    `initializers: ${s.initializers.converted} converted (${s.initializers.duplicated} duplicated for mixed readers), ${s.initializers.clampedValues} values clamped, ${s.initializers.flushedValues} flushed`,
  ];
  const kept = keptLine(s);
  if (kept) lines.push(kept);
  if (extra.bytesBefore !== undefined)
    lines.push(
      `size: ${size(extra.bytesBefore)} → ${size(extra.bytesAfter)}${extra.ms !== undefined ? `; ${(extra.ms / 1000).toFixed(2)} s` : ''}`,
    );
  for (const g of s.guarded.slice(0, 5)) lines.push(`kept fp32: ${printable(g.node)} — ${printable(g.why)}`);
  if (s.guarded.length > 5)
    lines.push(`kept fp32: ${s.guarded.length - 5} more readers of constants beyond the fp16 range`);
  for (const w of s.warnings) lines.push(`warning: ${printable(w, 400)}`);
  return lines.join('\n');
}

/**
 * Nodes kept fp32, grouped by kind of reason (most first), each with its commonest details:
 * "kept fp32: 12 by the policy table (8 overflows fp16 above x≈11; 4 …), 3 with no low-precision neighbours".
 */
function keptLine(s: ConvertSummary): string | undefined {
  const kinds = (Object.entries(s.keptByKind) as [KeepKind, { total: number; details: Record<string, number> }][]).sort(
    (a, b) => b[1].total - a[1].total,
  );
  if (!kinds.length) return undefined;
  const parts = kinds.slice(0, 4).map(([k, { total, details }]) => {
    const ds = Object.entries(details)
      .filter(([why]) => why !== KEEP_KINDS[k] && why !== k)
      .sort((a, b) => b[1] - a[1]);
    const shown = ds
      .slice(0, 3)
      .map(([why, m]) => `${m} ${printable(why, 200)}`)
      .join('; ');
    return `${total} ${KEEP_KINDS[k]}${shown ? ` (${shown}${ds.length > 3 ? '; …' : ''})` : ''}`;
  });
  return `kept fp32: ${parts.join(', ')}${kinds.length > 4 ? ', …' : ''}`;
}
