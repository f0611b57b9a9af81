import type { PassContext } from '../context.js';

/** `base`, or `base_1`, `base_2`… — the first name no value of the graph or its enclosing scopes has. */
export function uniqueName(ctx: PassContext, base: string): string {
  let name = base;
  for (let i = 1; ctx.graph.lookup(name) || ctx.graph.values.has(name); i++) name = `${base}_${i}`;
  return name;
}
