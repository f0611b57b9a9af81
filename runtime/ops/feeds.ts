/** What every executor checks of the feeds before a run, with the same words: names, element types, static dims. */
import { AmpError } from '../../src/core/errors.js';
import { dtypeName } from '../../src/core/dtype.js';
import type { Graph } from '../../src/ir/graph.js';
import { size, type RTensor } from '../../src/ir/rtensor.js';

/** Refuses a feed that names no input of the graph (a typo would otherwise be ignored silently). */
export function checkFeedNames(g: Graph, feeds: Record<string, unknown>): void {
  const known = new Set(g.inputs);
  for (const k of Object.keys(feeds)) {
    if (!known.has(k))
      throw new AmpError(
        `input '${k}' is not an input of the model (inputs: ${g.inputs.filter((i) => !g.initializers.has(i)).join(', ')})`,
      );
  }
}

/** Refuses a feed whose element type or static dims differ from the input's declaration, or whose data does not fill its dims. */
export function checkFeed(g: Graph, name: string, t: RTensor): void {
  const decl = g.values.get(name)?.type;
  if (decl?.elemType && decl.elemType !== t.dtype)
    throw new AmpError(`input '${name}' must be ${dtypeName(decl.elemType)}, got ${dtypeName(t.dtype)}`);
  if (decl?.shape) {
    const bad =
      decl.shape.length !== t.dims.length || decl.shape.some((d, i) => typeof d === 'number' && d !== t.dims[i]);
    if (bad)
      throw new AmpError(
        `input '${name}' must have shape [${decl.shape.map((d) => d ?? '?').join(', ')}], got [${t.dims.join(', ')}]`,
      );
  }
  if (t.data.length !== size(t.dims))
    throw new AmpError(`input '${name}' has ${t.data.length} values for shape [${t.dims.join(', ')}]`);
}

export const missingInput = (name: string): AmpError => new AmpError(`input '${name}' is missing`);
