/** The training report: one self-contained page with the results table, loss curves, accuracy per epoch and the loss-scale trajectory. */
import type { TrainCheckReport } from '../train-check.js';
import { formatTrainCheck } from '../train-check.js';

const COLORS: Record<string, string> = {
  fp32: '#2f6fd6',
  amp: '#1a9d5b',
  'amp-noscale': '#e0573d',
  'amp-bf16': '#8b5cf6',
};
const esc = (s: string) =>
  s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);

function linePlot(
  id: string,
  series: { name: string; ys: number[]; color: string }[],
  yLog: boolean,
  yLabel: string,
): string {
  const W = 900,
    H = 280,
    L = 60,
    B = 36,
    T = 16,
    R = 16;
  const tr = (v: number) => (yLog ? Math.log10(Math.max(v, 1e-12)) : v);
  const all = series.flatMap((s) => s.ys.map(tr)).filter(Number.isFinite);
  const lo = all.reduce((m, v) => Math.min(m, v), Infinity),
    top = all.reduce((m, v) => Math.max(m, v), -Infinity),
    hi = top === lo ? lo + 1 : top;
  const n = series.reduce((m, s) => Math.max(m, s.ys.length), 0) - 1 || 1;
  const x = (i: number) => L + ((W - L - R) * i) / n;
  const y = (v: number) => T + ((H - T - B) * (hi - tr(v))) / (hi - lo);
  // Smooth noisy per-step losses with a moving average so the three runs stay readable.
  const smooth = (ys: number[]) =>
    ys.map((_, i) => {
      const a = ys.slice(Math.max(0, i - 9), i + 1);
      return a.reduce((p, q) => p + q, 0) / a.length;
    });
  const paths = series
    .map(
      (s) =>
        `<path d="${smooth(s.ys)
          .map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`)
          .join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.8" data-series="${esc(s.name)}"/>`,
    )
    .join('');
  // Log axes: a tick per decade inside the range (at least the two ends, when the range spans less than one).
  const decades = yLog ? Array.from({ length: Math.floor(hi) - Math.ceil(lo) + 1 }, (_, i) => Math.ceil(lo) + i) : [];
  const tickAt = yLog && decades.length >= 2 ? decades : [lo, (lo + hi) / 2, hi];
  const ticks = tickAt
    .map(
      (t) =>
        `<text x="${L - 6}" y="${(T + ((H - T - B) * (hi - t)) / (hi - lo) + 4).toFixed(1)}" font-size="11" fill="#5b6475" text-anchor="end">${yLog ? (Number.isInteger(t) ? `1e${t}` : (10 ** t).toPrecision(2)) : t.toPrecision(3)}</text>`,
    )
    .join('');
  return `<svg id="${id}" viewBox="0 0 ${W} ${H}" width="100%"><rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#e3e6ee"/>${ticks}${paths}<text x="${(W + L) / 2}" y="${H - 8}" font-size="11" fill="#5b6475" text-anchor="middle">training step →</text><text x="14" y="${H / 2}" font-size="11" fill="#5b6475" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">${esc(yLabel)}</text></svg>`;
}

/** The loss scale as the step function it is (constant between changes), y in powers of two labelled 2^k. */
function scalePlot(all: { step: number; scale: number }[], steps: number): string {
  const W = 900,
    H = 240,
    L = 60,
    B = 36,
    T = 16,
    R = 16;
  const history = all.filter((h, i) => i === 0 || all[i - 1].scale !== h.scale); // the change points
  if (!history.length) return '<p>No loss scaling in this run.</p>';
  const ks = history.map((h) => Math.log2(h.scale));
  const lo = Math.floor(ks.reduce((m, v) => Math.min(m, v), Infinity)) - 1,
    hi = Math.ceil(ks.reduce((m, v) => Math.max(m, v), -Infinity)) + 1;
  const last = Math.max(steps, history[history.length - 1].step + 1);
  const x = (s: number) => L + ((W - L - R) * s) / last;
  const y = (k: number) => T + ((H - T - B) * (hi - k)) / (hi - lo);
  let d = '';
  history.forEach((h, i) => {
    const next = i + 1 < history.length ? history[i + 1].step : last;
    d += `${i ? 'L' : 'M'}${x(h.step).toFixed(1)},${y(ks[i]).toFixed(1)} L${x(next).toFixed(1)},${y(ks[i]).toFixed(1)} `;
  });
  const every = Math.max(1, Math.ceil((hi - lo) / 8));
  const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)
    .filter((k) => (k - lo) % every === 0)
    .map(
      (k) =>
        `<line x1="${L}" x2="${W - R}" y1="${y(k)}" y2="${y(k)}" stroke="#eef0f5"/><text x="${L - 6}" y="${y(k) + 4}" font-size="11" fill="#5b6475" text-anchor="end">2<tspan dy="-5" font-size="9">${k}</tspan></text>`,
    )
    .join('');
  return `<svg id="scale-plot" viewBox="0 0 ${W} ${H}" width="100%">${ticks}<path d="${d}" fill="none" stroke="${COLORS.amp}" stroke-width="1.8"/><text x="${(W + L) / 2}" y="${H - 8}" font-size="11" fill="#5b6475" text-anchor="middle">training step → (${history.length - 1} change${history.length === 2 ? '' : 's'})</text><text x="14" y="${H / 2}" font-size="11" fill="#5b6475" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">loss scale</text></svg>`;
}

/** Test accuracy after each epoch, per mode (mean over the seeds). */
function accuracyPlot(r: TrainCheckReport): string {
  const W = 900,
    H = 240,
    L = 60,
    B = 36,
    T = 16,
    R = 16;
  const series = r.modes.map((m) => ({
    mode: m.mode,
    ys: Array.from(
      { length: r.epochs },
      (_, e) => m.runs.reduce((a, run) => a + (run.epochAccuracy[e] ?? NaN), 0) / m.runs.length,
    ),
  }));
  const all = series.flatMap((s) => s.ys).filter(Number.isFinite);
  const lo = Math.max(0, Math.floor(all.reduce((m, v) => Math.min(m, v), 1) * 20) / 20),
    hi = Math.min(1, Math.ceil(all.reduce((m, v) => Math.max(m, v), 0) * 20) / 20 + 0.05);
  const x = (e: number) => L + ((W - L - R) * e) / Math.max(1, r.epochs - 1);
  const y = (v: number) => T + ((H - T - B) * (hi - v)) / (hi - lo || 1);
  const ticks =
    [lo, (lo + hi) / 2, hi]
      .map(
        (t) =>
          `<text x="${L - 6}" y="${y(t) + 4}" font-size="11" fill="#5b6475" text-anchor="end">${(100 * t).toFixed(0)}%</text>`,
      )
      .join('') +
    Array.from(
      { length: r.epochs },
      (_, e) => `<text x="${x(e)}" y="${H - 20}" font-size="11" fill="#5b6475" text-anchor="middle">${e + 1}</text>`,
    ).join('');
  const lines = series
    .map(
      (s) =>
        `<path d="${s.ys.map((v, e) => `${e ? 'L' : 'M'}${x(e).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}" fill="none" stroke="${COLORS[s.mode]}" stroke-width="1.8"/>${s.ys.map((v, e) => `<circle cx="${x(e).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${COLORS[s.mode]}"><title>${s.mode}, epoch ${e + 1}: ${(100 * v).toFixed(2)}%</title></circle>`).join('')}`,
    )
    .join('');
  return `<svg id="accuracy-plot" viewBox="0 0 ${W} ${H}" width="100%"><rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#e3e6ee"/>${ticks}${lines}<text x="${(W + L) / 2}" y="${H - 4}" font-size="11" fill="#5b6475" text-anchor="middle">epoch</text><text x="14" y="${H / 2}" font-size="11" fill="#5b6475" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">test accuracy</text></svg>`;
}

function mdTable(md: string): string {
  const rows = md.split('\n').filter((l) => l.startsWith('|') && !l.startsWith('|---'));
  return `<table>${rows
    .map(
      (r, i) =>
        `<tr>${r
          .split('|')
          .slice(1, -1)
          .map((c) => (i ? `<td>${esc(c.trim())}</td>` : `<th>${esc(c.trim())}</th>`))
          .join('')}</tr>`,
    )
    .join('')}</table>`;
}

/** A TrainCheckReport as one self-contained HTML page (loss curves, loss-scale trajectory). */
export function renderTrainHtml(r: TrainCheckReport): string {
  const first = (m: string) => r.modes.find((x) => x.mode === m)!.runs[0];
  const loss = linePlot(
    'loss-plot',
    r.modes.map((m) => ({ name: m.mode, ys: m.runs[0].losses, color: COLORS[m.mode] })),
    true,
    'training loss (seed 1, moving average)',
  );
  const scale = scalePlot(first('amp').scaleHistory, first('amp').steps);
  const text = formatTrainCheck(r);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>amp-convert train-check</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:1000px;margin:24px auto;padding:0 16px;color:#1d2330}table{border-collapse:collapse}th,td{padding:4px 10px;border-bottom:1px solid #e3e6ee;text-align:left}th{background:#f4f6fa}.legend span{margin-right:16px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}</style></head><body>
<h1>Mixed-precision training check</h1>
<p>${esc(text.split('\n')[0])}</p>
${mdTable(text)}
<h2>Loss</h2><div class="legend">${r.modes.map((m) => `<span><i style="background:${COLORS[m.mode]}"></i>${m.mode}</span>`).join('')}</div>${loss}
<h2>Test accuracy per epoch</h2><div class="legend">${r.modes.map((m) => `<span><i style="background:${COLORS[m.mode]}"></i>${m.mode}</span>`).join('')}</div>${accuracyPlot(r)}
<h2>Loss scale (AMP run, seed ${r.seeds[0]})</h2>${scale}
<p style="color:#5b6475;font-size:12px">Same initial weights for the three runs per seed. Underflow: fraction of gradient values that are nonzero in fp32 but zero in the AMP run (before unscaling), sampled at the first step of each epoch.${r.lossMultiplier !== 1 ? ` The loss is multiplied by ${r.lossMultiplier} (gradients divided back in fp32): a small-gradient regime in which unscaled fp16 gradients underflow.` : ''}</p>
</body></html>
`;
}
