/** Flatten / Reshape (gradient reshaped back to the input's shape) and GlobalAveragePool (spread evenly). */
import type { GradRule } from './types.js';

export const reshape: GradRule = (n, [dY], c) => {
  if (!dY || !c.needs(n.inputs[0])) return;
  const [shape] = c.emit('Shape', [n.inputs[0]]);
  c.accumulate(n.inputs[0], c.emit('Reshape', [dY, shape])[0]);
};

export const globalAveragePool: GradRule = (n, [dY], c) => {
  if (!dY || !c.needs(n.inputs[0])) return;
  const x = n.inputs[0];
  const [shape] = c.emit('Shape', [x]);
  const [spatial] = c.emit('Slice', [shape, c.ints([2]), c.ints([2 ** 31 - 1])]);
  const [count] = c.emit('ReduceProd', [spatial], { keepdims: 0 });
  const [countF] = c.emit('Cast', [count], { to: 1 });
  const [scaled] = c.emit('Div', [dY, countF]);
  c.accumulate(x, c.emit('Expand', [scaled, shape])[0]);
};
