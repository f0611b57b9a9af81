/**
 * Automatic fallback to a tolerance, guided by attribution (not blind bisection): convert, diff against the
 * fp32 model, and keep in fp32 the node that introduces the largest error itself (NaN/Inf first), then
 * re-evaluate; stop when every output meets the tolerance. Each round fixes at least the worst offender, and
 * an overflowing node fixes everything downstream of it at once, so few evaluations are needed.
 * A final pass tries to return kept nodes to low precision when the outputs still meet the tolerance.
 */
import type { Model } from '../ir/graph.js';
import { runMixedPrecision, resolveOptions } from '../../passes/index.js';
import { withConfig } from './config.js';
import { diff, type DiffReport, type DiffOptions, type ReferenceCache } from './diff.js';
import type { Tolerance } from './report/stats.js';
import type { ConvertOptions } from '../../passes/index.js';
import type { RTensor } from '../ir/rtensor.js';
import { cloneModel } from '../onnx/io.js';

/** Nodes the repair kept fp32, conversions tried, time, and whether the tolerance was met. */
export interface FallbackResult {
  keepFp32: string[];
  evaluations: number;
  ms: number;
  report: DiffReport;
  met: boolean;
}

/**
 * The attribution-guided repair: keeps the fewest nodes fp32 until the outputs meet the tolerance, within a
 * budget of conversions.
 */
export async function fallback(
  original: Model,
  feeds: Record<string, RTensor>,
  tolerance: Tolerance,
  options: ConvertOptions = {},
  maxEvaluations?: number,
  diffOptions: Pick<DiffOptions, 'outputTolerance'> = {},
): Promise<FallbackResult> {
  const t0 = performance.now();
  const nodes = [...original.graph.allNodes()].length;
  const budget = maxEvaluations ?? Math.max(4, Math.ceil(2 * Math.log2(Math.max(2, nodes))));
  options = withConfig(options);
  const base = [...(options.keepFp32 ?? [])];
  const kept: string[] = [];
  let evaluations = 0;
  // The fp32 reference run is the same for every evaluation: computed once.
  const reference: ReferenceCache = { raw: new Map(), vals: new Map() };
  const evaluate = async (keep: string[]) => {
    evaluations++;
    // A clone keeps the model's folder: its external data resolves there, never against the working directory.
    const model = cloneModel(original);
    runMixedPrecision(model, resolveOptions({ ...options, keepFp32: [...base, ...keep] }));
    return diff(original, model, feeds, { ...diffOptions, tolerance, histograms: false, reference });
  };
  let report = await evaluate(kept);
  // keepFp32 addresses nodes by name, or by label for unnamed main-graph nodes.
  const named = new Set(
    [...original.graph.allNodes()].map((n) => n.name || (n.graph === original.graph ? n.label : '')).filter(Boolean),
  );
  while (!report.outputsMeet && evaluations < budget) {
    const culprit = report.ranked.find((d) => d.dtype !== 1 && !kept.includes(d.node) && named.has(d.node));
    if (!culprit) break;
    kept.push(culprit.node);
    report = await evaluate(kept);
  }
  // Try to give back nodes that turned out unnecessary (latest first), within the budget.
  for (let i = kept.length - 1; i >= 0 && report.outputsMeet && evaluations < budget; i--) {
    const trial = kept.filter((_, j) => j !== i);
    const r = await evaluate(trial);
    if (r.outputsMeet) {
      kept.splice(i, 1);
      report = r;
    }
  }
  return { keepFp32: kept, evaluations, ms: performance.now() - t0, report, met: report.outputsMeet };
}
