/**
 * Step 1 — classify. Every node gets its policy class (allow / infer / clear / deny) from the table — a
 * range-only denial (OpPolicy.range) lifted to infer where calibration proved the node's range — then
 * the user's overrides: --allow / --deny by op type, --keep-fp32 by node name or regex (always wins), and
 * the target runtime's limits (passes/runtimes.ts), non-tensor values (kept as they are), and opset validity (a bf16 target keeps ops whose opset
 * has no bfloat16 type constraint in fp32).
 */
import { keep, type PassContext } from '../context.js';
import { opPolicy } from '../policy.js';
import { runtimeLimit } from '../runtimes.js';
import { CAST_INT_TO } from '../lib/sources.js';

export function classify(ctx: PassContext): void {
  const { opts } = ctx;
  for (const n of ctx.graph.nodes) {
    const p = opPolicy(n.opType, n.domain, ctx.opset);
    let cls = p.cls;
    let why = keep('policy', p.why ?? 'policy');
    // By name, or by label for unnamed nodes (what calibration and the fallback name them by).
    const key = n.name || n.label;
    if (p.range && cls === 'deny' && opts.rangeProven.has(key)) {
      cls = 'infer';
    }
    // --allow lowers ops, not control-flow boundaries: their types come from their bodies.
    if (opts.allow.has(n.opType) && !n.subgraphs.size) cls = 'allow';
    if (opts.deny.has(n.opType)) {
      cls = 'deny';
      why = keep('option', 'denied by option');
    }
    const limit = cls !== 'deny' ? runtimeLimit(opts.runtime, n, ctx.opset, opts.target) : undefined;
    if (limit) {
      cls = 'deny';
      why = keep('runtime', limit);
    }
    // Sequences, optionals and maps hold tensors whose element type the pass does not retype: --allow cannot lower them.
    const io = [...n.inputs, ...n.outputs].filter(Boolean).map((v) => ctx.graph.lookup(v) ?? ctx.graph.values.get(v));
    if (cls !== 'deny' && io.some((v) => !v?.type && v?.typeProto)) {
      cls = 'deny';
      why = keep('type', 'reads or writes a sequence/optional value');
    }
    // A value whose element type neither the model declares nor the type rules infer (an unknown op's output)
    // could be fp32 or anything else: no cast can be placed on it, so its readers and writers keep their types.
    if (io.some((v) => !v?.type?.elemType && !v?.typeProto)) {
      cls = 'deny';
      why = keep('type', 'reads or writes a value of unknown type');
    }
    // Type constraints are facts of the schema: no option lowers a node whose opset has no half type for it.
    if (cls !== 'deny' && opts.target === 'fp16' && ctx.opset < (p.fp16Since ?? 0)) {
      cls = 'deny';
      why = keep('schema', `no float16 in ${n.opType}-${ctx.opset}'s type constraints`);
    }
    if (cls !== 'deny' && opts.target === 'bf16' && ctx.opset < (p.bf16Since ?? Infinity)) {
      cls = 'deny';
      why = keep('schema', `no bfloat16 in ${n.opType}-${ctx.opset}'s type constraints`);
    }
    // Before opset 6 Cast names its target type as a string: no boundary cast can be written, nothing is lowered.
    if (ctx.opset < CAST_INT_TO) {
      cls = 'deny';
      why = keep('opset', `opset ${ctx.opset} < ${CAST_INT_TO}: Cast takes no numeric target type`);
    }
    if (opts.keepNames.has(key) || (n.name && opts.keepPatterns.some((r) => r.test(n.name)))) {
      cls = 'deny';
      why = keep('requested', opts.keepReasons[key] ?? 'kept fp32 by name');
    }
    ctx.cls.set(n, cls);
    if (cls === 'deny') ctx.reason.set(n, why);
  }
}
