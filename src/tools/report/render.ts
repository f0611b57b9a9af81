/** Renderers of a DiffReport: terminal table, Markdown, JSON and one self-contained HTML page (inline SVG, no network). */
import { printable, shellQuote } from '../../core/text.js';
import type { DiffReport, TensorDiff } from '../diff.js';
import type { Histogram, TensorStats } from './stats.js';
import { dtypeName } from '../../core/dtype.js';

const e = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));
const c = (x: number) => (Number.isNaN(x) ? 'NaN' : x.toFixed(6));
const esc = (s: string) =>
  s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
/** Model text in Markdown: printable (no control characters), Markdown punctuation backslash-escaped, HTML tags inert. */
const md = (s: string) => printable(s, 120).replace(/[\\`*_{}[\]()<>#+!|~]/g, '\\$&');
const tolText = (r: DiffReport) =>
  Object.entries(r.tolerance)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

function row(d: TensorDiff): string[] {
  const s = d.stats;
  return [
    printable(d.node, 80),
    printable(d.op, 40),
    dtypeName(d.dtype),
    e(d.self?.scaled ?? NaN),
    e(s.scaled),
    c(s.cosine),
    e(s.maxAbs),
    String(s.nan + s.inf),
    (s.flushed * 100).toFixed(1) + '%',
  ];
}
const HEAD = ['node', 'op', 'type', 'self err', 'total err', 'cosine', 'max|Δ|', 'NaN+Inf', 'flushed'];

/** Does a node break the tolerance by itself (its own fp16 run on fp32 inputs)? */
const selfFails = (d: TensorDiff, t: DiffReport['tolerance']): boolean =>
  !!d.self &&
  (d.self.newNonFinite + d.self.lostNonFinite > 0 ||
    (d.self.tolRatio ?? 0) > 1 ||
    (t.rel !== undefined && d.self.scaled > t.rel));
/**
 * The nodes to keep fp32 to repair the conversion: those that break the tolerance by themselves (at most 10,
 * worst first), else the producer of the first tensor beyond it. Empty when the outputs meet it.
 */
export function culprits(r: DiffReport): string[] {
  if (r.outputsMeet) return [];
  const own = r.ranked
    .filter((d) => selfFails(d, r.tolerance))
    .slice(0, 10)
    .map((d) => d.node);
  return own.length ? [...new Set(own)] : r.firstBreak ? [r.firstBreak.node] : [];
}
/** The convert flags that keep the culprits fp32, ready to paste into a shell. */
export const keepCommand = (r: DiffReport): string =>
  culprits(r)
    .map((n) => `--keep-fp32 ${shellQuote(n)}`)
    .join(' ');

/** A DiffReport as the terminal table of `diff`. */
export function renderText(r: DiffReport, top = 10): string {
  const lines: string[] = [];
  lines.push(
    `outputs ${r.outputsMeet ? 'meet' : 'DO NOT meet'} the tolerance (${tolText(r)}); ${r.tensors.length} tensors compared in ${(r.ms / 1000).toFixed(2)} s`,
  );
  for (const o of r.outputs)
    lines.push(
      `  output ${printable(o.name)}: err ${e(o.stats.scaled)} (max|Δ|/max|ref|), cosine ${c(o.stats.cosine)}, NaN+Inf ${o.stats.nan + o.stats.inf}`,
    );
  if (r.firstBreak)
    lines.push(
      `first tensor beyond tolerance: ${printable(r.firstBreak.name)} (node ${printable(r.firstBreak.node)}, ${printable(r.firstBreak.op)})`,
    );
  const rows = [HEAD, ...r.ranked.slice(0, top).map(row)];
  const w = HEAD.map((_, i) => rows.reduce((m, x) => Math.max(m, x[i].length), 0));
  lines.push(`worst nodes by the error they introduce themselves (top ${Math.min(top, r.ranked.length)}):`);
  for (const x of rows) lines.push('  ' + x.map((v, i) => v.padEnd(w[i])).join('  '));
  if (!r.outputsMeet && culprits(r).length)
    lines.push(`to keep the culprits fp32, convert with: ${printable(keepCommand(r), 1000)}`);
  return lines.join('\n');
}

/** A DiffReport as Markdown (model text escaped). */
export function renderMarkdown(r: DiffReport, top = 20): string {
  const t = (rows: string[][]) =>
    [
      `| ${HEAD.join(' | ')} |`,
      `|${HEAD.map(() => '---').join('|')}|`,
      ...rows.map((x) => `| ${x.map(md).join(' | ')} |`),
    ].join('\n');
  return [
    '# Precision diff',
    '',
    `Outputs ${r.outputsMeet ? 'meet' : '**do not meet**'} the tolerance (${tolText(r)}). ${r.tensors.length} tensors compared.`,
    r.firstBreak
      ? `First tensor beyond tolerance: ${md(r.firstBreak.name)} (node ${md(r.firstBreak.node)}, ${md(r.firstBreak.op)}).`
      : 'No tensor is beyond tolerance.',
    '',
    ...(culprits(r).length
      ? [
          'To keep the culprits fp32, convert with:',
          '',
          '```sh',
          keepCommand(r).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?'),
          '```',
          '',
        ]
      : []),
    '## Outputs',
    t(r.outputs.map(row)),
    '',
    `## Worst nodes (by self-introduced error; total = self + inherited)`,
    t(r.ranked.slice(0, top).map(row)),
    '',
  ].join('\n');
}

/**
 * `diff --json` (one line): the DiffReport with element types as names ('FLOAT16') and non-finite numbers as
 * strings ('NaN', 'Infinity'), which JSON cannot hold as numbers.
 */
export type DiffJson = Omit<DiffReport, 'tensors' | 'outputs' | 'ranked'> &
  Record<'tensors' | 'outputs' | 'ranked', (Omit<TensorDiff, 'dtype'> & { dtype: string })[]>;
/** A DiffReport as the one-line `diff --json` (DiffJson). */
export function renderJson(r: DiffReport): string {
  return JSON.stringify(r, (k, v) =>
    k === 'dtype' && typeof v === 'number'
      ? dtypeName(v)
      : typeof v === 'number' && !Number.isFinite(v)
        ? String(v)
        : v,
  );
}

// ---- HTML ----------------------------------------------------------------------------------------

const lg = (x: number) => Math.log10(Math.max(x, 1e-10));
function errorPlot(r: DiffReport): string {
  // Log scale for finite nonzero errors, with a lane below it for exact zeros and one above for NaN/Inf, so
  // neither is drawn as if it were a small or a large number.
  const W = 900,
    H = 330,
    L = 70,
    B = 40,
    T = 14,
    R = 20,
    lane = 30;
  const pts = r.tensors.filter((t) => !t.isOutput);
  const n = Math.max(1, pts.length - 1);
  const finite = pts.flatMap((t) => [t.stats.scaled, t.self?.scaled ?? 0]).filter((v) => Number.isFinite(v) && v > 0);
  const yMax = Math.min(3, Math.ceil(lg(finite.reduce((m, v) => Math.max(m, v), 1e-4)))),
    yMin = Math.max(-9, Math.min(-4, Math.floor(lg(finite.reduce((m, v) => Math.min(m, v), 1e-4)))));
  const top = T + lane,
    bottom = H - B - lane;
  const x = (i: number) => L + ((W - L - R) * i) / n;
  const y = (v: number) =>
    !Number.isFinite(v)
      ? T + lane / 2
      : v <= 0
        ? H - B - lane / 2
        : top + ((bottom - top) * (yMax - Math.max(yMin, Math.min(yMax, lg(v))))) / (yMax - yMin);
  const grid: string[] = [];
  for (let k = yMin; k <= yMax; k++)
    grid.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(10 ** k)}" y2="${y(10 ** k)}" class="grid"/><text x="${L - 6}" y="${y(10 ** k) + 4}" class="axis" text-anchor="end">1e${k}</text>`,
    );
  grid.push(
    `<line x1="${L}" x2="${W - R}" y1="${top}" y2="${top}" class="lane"/><text x="${L - 6}" y="${T + lane / 2 + 4}" class="axis" text-anchor="end">NaN/Inf</text>`,
  );
  grid.push(
    `<line x1="${L}" x2="${W - R}" y1="${bottom}" y2="${bottom}" class="lane"/><text x="${L - 6}" y="${H - B - lane / 2 + 4}" class="axis" text-anchor="end">0</text>`,
  );
  const total = pts.map((t, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(t.stats.scaled).toFixed(1)}`).join(' ');
  const dots = pts
    .map(
      (t, i) =>
        `<circle class="self" cx="${x(i).toFixed(1)}" cy="${y(t.self?.scaled ?? 0).toFixed(1)}" r="3.5"><title>${esc(t.node)} (${esc(t.op)}): self ${e(t.self?.scaled ?? NaN)}, total ${e(t.stats.scaled)}</title></circle>`,
    )
    .join('');
  const tol =
    r.tolerance.rel !== undefined
      ? `<line x1="${L}" x2="${W - R}" y1="${y(r.tolerance.rel)}" y2="${y(r.tolerance.rel)}" class="tol"/><text x="${W - R}" y="${y(r.tolerance.rel) - 4}" class="axis" text-anchor="end">tolerance ${r.tolerance.rel}</text>`
      : '';
  return `<svg id="error-plot" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="error along the graph" data-points="${pts.length}">
${grid.join('')}${tol}<path d="${total}" class="total"/>${dots}
<text x="${(W + L) / 2}" y="${H - 8}" class="axis" text-anchor="middle">nodes in topological order →</text>
<text x="14" y="${H / 2}" class="axis" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">max|Δ| / max|ref|</text></svg>`;
}

/** fp16's limits on the log10 |x| axis: the smallest subnormal, the smallest normal, the largest finite. */
const F16_MARKS: [number, string][] = [
  [Math.log10(2 ** -24), '2⁻²⁴'],
  [Math.log10(2 ** -14), '2⁻¹⁴'],
  [Math.log10(65504), '65504'],
];
function histogram(h: Histogram | undefined, title: string): string {
  if (!h) return '';
  // Bars for |x| by decade, then one bar for exact zeros and one for NaN/Inf; fp16's range marked.
  const extra = [
    ['0', h.zeros ?? 0],
    ['∞', h.nonFinite ?? 0],
  ] as const;
  const all = [...h.counts, ...extra.map(([, n]) => n)];
  const W = 320,
    H = 130,
    L = 4,
    B = 30,
    n = all.length,
    max = all.reduce((m, v) => Math.max(m, v), 1);
  const bw = (W - L) / (n + 1),
    lo = h.edges[0],
    hi = h.edges[h.edges.length - 1];
  const x = (i: number) => L + i * bw + (i >= h.counts.length ? bw : 0);
  const xv = (l: number) => L + ((l - lo) / (hi - lo)) * h.counts.length * bw;
  const bar = (cnt: number, i: number, label: string, cls = '') =>
    `<rect class="${cls}" x="${x(i).toFixed(1)}" y="${(H - B - ((H - B - 10) * cnt) / max).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(((H - B - 10) * cnt) / max).toFixed(1)}"><title>${label}: ${cnt}</title></rect>`;
  const bars =
    h.counts.map((cnt, i) => bar(cnt, i, `1e${h.edges[i].toFixed(1)}..1e${h.edges[i + 1].toFixed(1)}`)).join('') +
    extra
      .map(([, cnt], j) => bar(cnt, h.counts.length + j, j ? 'NaN/Inf' : 'exact zeros', j ? 'nonfinite' : 'zero'))
      .join('');
  const ticks = Array.from({ length: Math.floor(hi) - Math.ceil(lo) + 1 }, (_, k) => Math.ceil(lo) + k)
    .filter((d) => d % 2 === 0 && d > lo && d < hi)
    .map(
      (d) =>
        `<line class="tick" x1="${xv(d).toFixed(1)}" x2="${xv(d).toFixed(1)}" y1="${H - B}" y2="${H - B + 4}"/><text class="axis" x="${xv(d).toFixed(1)}" y="${H - B + 15}" text-anchor="middle">1e${d}</text>`,
    )
    .join('');
  const marks = F16_MARKS.filter(([l]) => l > lo && l < hi)
    .map(
      ([l, label]) =>
        `<line class="f16" x1="${xv(l).toFixed(1)}" x2="${xv(l).toFixed(1)}" y1="6" y2="${H - B}"><title>fp16 ${label}</title></line>`,
    )
    .join('');
  const labels = extra
    .map(
      ([label], j) =>
        `<text class="axis" x="${(x(h.counts.length + j) + bw / 2).toFixed(1)}" y="${H - B + 15}" text-anchor="middle">${label}</text>`,
    )
    .join('');
  return `<figure class="hist"><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${bars}${marks}<line class="grid" x1="${L}" x2="${W}" y1="${H - B}" y2="${H - B}"/>${ticks}${labels}</svg><figcaption>${esc(title)} <span class="f16key">┆ fp16 limits</span></figcaption></figure>`;
}

function statsCells(s: TensorStats | undefined): string {
  return s ? `<td>${e(s.scaled)}</td>` : '<td>–</td>';
}

/** The report page's style sheet (inline: the page is one self-contained file). */
const REPORT_CSS = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.verdict{padding:10px 14px;border-radius:6px;margin:12px 0;font-weight:600}.ok{background:#e5f6ea;color:#14532d}.fail{background:#fde8e8;color:#7f1d1d}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{padding:4px 8px;border-bottom:1px solid #e3e6ee;text-align:left}th{background:#f4f6fa}
tr.bad td{background:#fff1f1}
svg .grid{stroke:#e3e6ee}svg .lane{stroke:#c9cfdb;stroke-dasharray:2 3}svg .axis{font-size:11px;fill:#5b6475}svg .total{fill:none;stroke:#2f6fd6;stroke-width:1.6}svg .self{fill:#e0573d;opacity:.85}svg .tol{stroke:#b91c1c;stroke-dasharray:5 4}
.hist{display:inline-block;margin:6px 12px 6px 0}.hist rect{fill:#2f6fd6}.hist rect.zero{fill:#8a94a6}.hist rect.nonfinite{fill:#b91c1c}.hist .f16{stroke:#d97706;stroke-dasharray:3 3}.hist .tick{stroke:#8a94a6}.hist figcaption{font-size:12px;color:#5b6475}.f16key{color:#d97706}
th.sort{cursor:pointer}th.sort:after{content:' ⇅';color:#8a94a6}#filter{margin:4px 0 8px;padding:4px 8px;width:260px}.keep{background:#f4f6fa;padding:8px 10px;border-radius:6px;font:12px ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}
.legend span{margin-right:16px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
`;
/** Sorting by a column and filtering by node or op in the ranked table (inline, no network). */
const SORT_FILTER_JS = `(() => {
  const t = document.getElementById('ranked'), body = t.tBodies[0];
  const num = (s) => { const v = parseFloat(s); return Number.isNaN(v) ? null : v; };
  t.tHead.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
    const dir = th.dataset.dir === 'asc' ? 'desc' : 'asc';
    t.tHead.querySelectorAll('th').forEach((h) => delete h.dataset.dir);
    th.dataset.dir = dir;
    const rows = [...body.rows].sort((a, b) => {
      const x = a.cells[col].textContent, y = b.cells[col].textContent, nx = num(x), ny = num(y);
      const c = nx !== null && ny !== null ? nx - ny : x.localeCompare(y);
      return dir === 'asc' ? c : -c;
    });
    rows.forEach((r) => body.appendChild(r));
  }));
  document.getElementById('filter').addEventListener('input', (e) => {
    const q = e.target.value.toLowerCase();
    [...body.rows].forEach((r) => { r.style.display = (r.cells[1].textContent + ' ' + r.cells[2].textContent).toLowerCase().includes(q) ? '' : 'none'; });
  });
})();
`;

/** A DiffReport as one self-contained HTML page with plots (no network access). */
export function renderHtml(r: DiffReport, title = 'amp-convert precision diff', top = 30): string {
  const rows = r.ranked
    .slice(0, top)
    .map(
      (d, i) =>
        `<tr class="${selfFails(d, r.tolerance) ? 'bad' : ''}"><td>${i + 1}</td><td>${esc(d.node)}</td><td>${esc(d.op)}</td><td>${dtypeName(d.dtype)}</td>${statsCells(d.self)}<td>${e(d.stats.scaled)}</td><td>${c(d.stats.cosine)}</td><td>${d.stats.nan + d.stats.inf}</td><td>${(d.stats.flushed * 100).toFixed(1)}%</td></tr>`,
    )
    .join('\n');
  const outs = r.outputs
    .map(
      (o) =>
        `<tr class="${o.stats.newNonFinite || o.stats.lostNonFinite ? 'bad' : ''}"><td>${esc(o.name)}</td><td>${dtypeName(o.dtype)}</td><td>${e(o.stats.scaled)}</td><td>${e(o.stats.maxAbs)}</td><td>${e(o.stats.p99)}</td><td>${c(o.stats.cosine)}</td><td>${o.stats.nan + o.stats.inf}</td></tr>`,
    )
    .join('\n');
  const worst = r.ranked[0];
  const hists = [
    ...r.outputs
      .slice(0, 2)
      .flatMap((o) => [
        histogram(o.histValues, `output ${o.name}: |values|`),
        histogram(o.histErrors, `output ${o.name}: |errors|`),
      ]),
    ...(worst
      ? [
          histogram(worst.histValues, `worst node ${worst.node}: |values|`),
          histogram(worst.histErrors, `worst node ${worst.node}: |errors|`),
        ]
      : []),
  ].join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
${REPORT_CSS}</style></head><body>
<h1>${esc(title)}</h1>
<div class="verdict ${r.outputsMeet ? 'ok' : 'fail'}">Outputs ${r.outputsMeet ? 'meet' : 'do not meet'} the tolerance (${esc(tolText(r))}).${r.firstBreak ? ` First tensor beyond it: <code>${esc(r.firstBreak.name)}</code> (node <code>${esc(r.firstBreak.node)}</code>, ${esc(r.firstBreak.op)}).` : ''}</div>
<h2>Outputs</h2>
<table><tr><th>output</th><th>type</th><th>max|Δ|/max|ref|</th><th>max|Δ|</th><th>p99|Δ|</th><th>cosine</th><th>NaN+Inf</th></tr>
${outs}</table>
<h2>Error along the graph</h2>
<div class="legend"><span><i style="background:#2f6fd6"></i>total error of each node's output</span><span><i style="background:#e0573d"></i>error the node introduces itself</span></div>
${errorPlot(r)}
${culprits(r).length ? `<h2>Repair</h2><p>Keep the culprits fp32 — add to the conversion:</p><div class="keep" id="keep">${esc(keepCommand(r))}</div>` : ''}
<h2>Worst nodes</h2>
<p>Top ${Math.min(top, r.ranked.length)} of ${r.ranked.length} by the error each node introduces itself. Click a column to sort; type to filter.</p>
<input id="filter" placeholder="filter by node or op" aria-label="filter">
<table id="ranked"><thead><tr>${['#', 'node', 'op', 'type', 'self err', 'total err', 'cosine', 'NaN+Inf', 'flushed'].map((h) => `<th class="sort">${h}</th>`).join('')}</tr></thead><tbody>
${rows}</tbody></table>
<script>
${SORT_FILTER_JS}</script>
<h2>Histograms (log<sub>10</sub> |x|)</h2>
${hists}
<p style="color:#5b6475;font-size:12px">Errors are max|Δ| / max|reference| per tensor. Self error: the converted node run alone on the fp32 model's inputs (cast to its input types). ${r.tensors.length} tensors compared in ${(r.ms / 1000).toFixed(2)} s.</p>
</body></html>
`;
}
