/** TensorProto files (.pb, the ONNX backend-test layout) ↔ runtime tensors. */
import { T, decodeTensorProto, encodeTensorProto, make, type TensorProto } from './proto/proto.js';
import { Tensor } from '../ir/tensor.js';
import { DataType, typedArrayCtor, type TypedArray } from '../core/dtype.js';
import type { RTensor } from '../ir/rtensor.js';
import { readInputFile, writeFileAtomic } from '../core/fs.js';
import { AmpError } from '../core/errors.js';

export function rtensorFromProto(p: TensorProto): RTensor {
  const t = Tensor.fromProto(p);
  if (t.dataType === DataType.STRING) {
    const dec = new TextDecoder();
    return { dtype: t.dataType, dims: t.dims, data: (p.stringData ?? []).map((b) => dec.decode(b as Uint8Array)) };
  }
  if (!typedArrayCtor(t.dataType))
    throw new AmpError(`tensor '${t.name}' has an element type (${t.dataType}) the runtime does not hold`);
  return { dtype: t.dataType, dims: t.dims, data: (t.data() as TypedArray).slice() as TypedArray };
}

export function rtensorToProto(t: RTensor, name = ''): TensorProto {
  if (t.dtype === DataType.STRING) {
    const enc = new TextEncoder();
    return make(T.Tensor, {
      name,
      dims: t.dims,
      dataType: t.dtype,
      stringData: (t.data as string[]).map((s) => enc.encode(s)),
    });
  }
  const d = t.data as TypedArray;
  return make(T.Tensor, {
    name,
    dims: t.dims,
    dataType: t.dtype,
    rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice(),
  });
}

/** Reads a TensorProto file (input_N.pb / output_N.pb of the ONNX test layout). */
export function readTensorFile(path: string): { name: string; tensor: RTensor } {
  const bytes = readInputFile(path, 'tensor');
  let p: TensorProto;
  try {
    p = decodeTensorProto(bytes);
  } catch (e) {
    throw new AmpError(`not a TensorProto file (${(e as Error).message})`, path);
  }
  return { name: p.name ?? '', tensor: rtensorFromProto(p) };
}
/** Writes a TensorProto file (safely: see writeFileAtomic for `force` and `protect`). */
export function writeTensorFile(
  path: string,
  t: RTensor,
  name = '',
  opts: { force?: boolean; protect?: string[] } = {},
): void {
  writeFileAtomic(path, encodeTensorProto(rtensorToProto(t, name)), opts);
}
