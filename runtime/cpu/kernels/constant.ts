/** Constants and generators: Constant (decoded once per attribute), ConstantOfShape, Range. */
import type { Kernel } from './types.js';
import { take } from './shape.js';
import { num, make, size, ints } from '../util.js';
import { DataType } from '../../../src/core/dtype.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import type { Node } from '../../../src/ir/graph.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { fromIrTensor } from '../../../src/ir/rtensor.js';
import { AmpError } from '../../../src/core/errors.js';

const i64 = (dims: number[], v: number[]) => make(DataType.INT64, dims, v);
/** Constant values are decoded once; shared safely because kernels never mutate their inputs. */
const constants = new WeakMap<object, RTensor>();
function constantValue(node: Node): RTensor {
  const a = node.attributes[0];
  switch (a.name) {
    case 'value':
      return fromIrTensor(Tensor.fromProto(a.t!));
    case 'value_float':
      return make(DataType.FLOAT, [], [a.f ?? 0]);
    case 'value_floats':
      return make(DataType.FLOAT, [(a.floats ?? []).length], a.floats ?? []);
    case 'value_int':
      return i64([], [node.attrInt('value_int', 0)]);
    case 'value_ints': {
      const v = node.attrInts('value_ints')!;
      return i64([v.length], v);
    }
    case 'value_string':
      return { dtype: DataType.STRING, dims: [], data: [node.attrString('value_string', '')] };
    default:
      throw new AmpError(`${node.label}: Constant attribute '${a.name}' is not supported`);
  }
}

export const constantKernels: Record<string, Kernel> = {
  ConstantOfShape: (node, [shape]) => {
    const dims = ints(shape);
    const a = node.attr('value');
    const t = a?.t
      ? fromIrTensor(Tensor.fromProto(a.t))
      : { dtype: DataType.FLOAT, dims: [1], data: new Float32Array(1) };
    return [take(t, new Int32Array(size(dims)), dims)];
  },
  Constant: (node) => {
    // Keyed by the attribute object: a pass that changes the value replaces the attribute, so no stale hit.
    const key = node.attributes[0];
    const cached = constants.get(key);
    if (cached) return [cached];
    const r = constantValue(node);
    constants.set(key, r);
    return [r];
  },
  Range: (_n, [start, limit, delta]) => {
    const s = num(start!)[0],
      l = num(limit!)[0],
      d = num(delta!)[0];
    const n = Math.max(0, Math.ceil((l - s) / d));
    return [
      make(
        start!.dtype,
        [n],
        Array.from({ length: n }, (_, i) => s + i * d),
      ),
    ];
  },
};
