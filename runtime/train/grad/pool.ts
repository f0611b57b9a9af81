/**
 * MaxPool: the forward node's Indices output (flat positions in X) routes each gradient back with
 * ScatterElements(reduction=add) into zeros shaped like X (overlapping windows add up).
 */
import type { GradRule } from './types.js';
import { AmpError } from '../../../src/core/errors.js';

export const maxPool: GradRule = (n, [dY], c) => {
  if (!dY || !c.needs(n.inputs[0])) return;
  const idx = c.indicesOf(n);
  if (!idx) throw new AmpError(`gradient of MaxPool '${n.label}' needs its Indices output`);
  const x = n.inputs[0];
  const [shape] = c.emit('Shape', [x]);
  const [flatX] = c.emit('Reshape', [x, c.ints([-1])]);
  const [zeros] = c.emit('Mul', [flatX, c.scalar(0)]);
  const [flatI] = c.emit('Reshape', [idx, c.ints([-1])]);
  const [flatG] = c.emit('Reshape', [dY, c.ints([-1])]);
  const [sc] = c.emit('ScatterElements', [zeros, flatI, flatG], { axis: 0, reduction: 'add' });
  c.accumulate(x, c.emit('Reshape', [sc, shape])[0]);
};
