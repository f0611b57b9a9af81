/** onnxruntime-node as the oracle: runtime tensors in and out. */
import * as ort from 'onnxruntime-node';
import type { RTensor } from '../../src/ir/rtensor.js';
import type { TypedArray } from '../../src/core/dtype.js';
import { ORT_TYPE as ORT_NAMES, FROM_ORT } from '../../runtime/ort/types.js';
const ORT_TYPE = ORT_NAMES as Record<number, ort.Tensor.Type>;

export function toOrt(t: RTensor): ort.Tensor {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new Error(`no onnxruntime type for ${t.dtype}`);
  return new ort.Tensor(type, t.data as never, t.dims);
}
export function fromOrt(t: ort.Tensor): RTensor {
  let data = t.data as TypedArray | string[];
  // ORT returns float16 as Uint16Array bits, or as Float16Array where the runtime has one.
  if (t.type === 'float16' && !(data instanceof Uint16Array))
    data = new Uint16Array((data as unknown as { buffer: ArrayBuffer }).buffer);
  return { dtype: FROM_ORT[t.type], dims: [...t.dims], data };
}
export async function runOrt(
  model: Uint8Array | string,
  feeds: Record<string, RTensor>,
): Promise<Record<string, RTensor>> {
  const s = await ort.InferenceSession.create(model as never, { logSeverityLevel: 3 });
  const r = await s.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)])));
  await s.release();
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fromOrt(v)]));
}
