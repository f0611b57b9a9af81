/** Cast and CastLike: every element type the executor stores, FLOAT8/E8M0 per the ONNX spec (saturate, round_mode). */
import type { Kernel } from './types.js';
import { num, make } from '../util.js';
import { DataType, dtypeName, typedArrayCtor } from '../../../src/core/dtype.js';
import { isFloat8, float8Table, toFloat8 } from '../../../src/core/float8.js';
import type { RTensor } from '../../../src/ir/rtensor.js';
import { AmpError } from '../../../src/core/errors.js';

/** Element types the executor stores but cannot convert (FLOAT8 variants, E8M0): refused, never guessed. */
const NO_CAST = new Set<number>([
  DataType.UINT4,
  DataType.INT4,
  DataType.FLOAT4E2M1,
  DataType.COMPLEX64,
  DataType.COMPLEX128,
]);

function castTo(t: RTensor, to: number, saturate = true, roundMode = 'up'): RTensor {
  if (t.dtype === to) return t;
  if (isFloat8(t.dtype)) {
    const tab = float8Table(t.dtype);
    t = make(
      DataType.FLOAT,
      [...t.dims],
      Float32Array.from(t.data as Uint8Array, (b) => tab[b]),
    );
    if (to === DataType.FLOAT) return t;
  }
  if (isFloat8(to)) {
    const v = num(t);
    // The sign of NaN inputs is kept (it is part of the result's bits), read from the source bits.
    const signOf = (i: number) =>
      t.dtype === DataType.FLOAT16
        ? (t.data as Uint16Array)[i] & 0x8000
          ? 0x80
          : 0
        : t.dtype === DataType.FLOAT
          ? new Uint32Array((t.data as Float32Array).buffer, (t.data as Float32Array).byteOffset, v.length)[i] >>> 31
            ? 0x80
            : 0
          : 0;
    return {
      dtype: to,
      dims: [...t.dims],
      data: Uint8Array.from({ length: v.length }, (_, i) =>
        toFloat8(Math.fround(v[i]), to, saturate, roundMode, Number.isNaN(v[i]) ? signOf(i) : 0),
      ),
    };
  }
  if (NO_CAST.has(to) || NO_CAST.has(t.dtype))
    throw new AmpError(`Cast between ${dtypeName(t.dtype)} and ${dtypeName(to)} is not supported by the CPU executor`);
  if (to === DataType.STRING) {
    return {
      dtype: to,
      dims: [...t.dims],
      data: Array.from(num(t), (v) => (Number.isInteger(v) ? String(v) : String(Math.fround(v)))),
    };
  }
  let v: ArrayLike<number>;
  if (t.dtype === DataType.STRING)
    v = (t.data as string[]).map((s) =>
      /^[-+]?inf(inity)?$/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : Number(s),
    );
  else v = num(t);
  const isIntTarget = ![DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE, DataType.BOOL].includes(
    to as never,
  );
  if (isIntTarget) {
    const tr = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) tr[i] = Number.isFinite(v[i]) ? Math.trunc(v[i]) : 0;
    v = tr;
  }
  return make(to, [...t.dims], v);
}

/** BitCast (26): the same bytes read as another element type of the same width (strings have no bytes to read). */
const bitCast: Kernel = (node, [x]) => {
  const to = node.attrInt('to', 0),
    Ctor = typedArrayCtor(to);
  if (!Ctor || x!.dtype === DataType.STRING)
    throw new AmpError(`node '${node.label}' (BitCast): cannot reinterpret ${dtypeName(x!.dtype)} as ${dtypeName(to)}`);
  const src = x!.data as ArrayBufferView & { length: number };
  const width = src.byteLength / Math.max(1, src.length);
  if (src.length && Ctor.BYTES_PER_ELEMENT !== width)
    throw new AmpError(`node '${node.label}' (BitCast): ${dtypeName(x!.dtype)} and ${dtypeName(to)} differ in width`);
  const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength).slice();
  return [{ dtype: to, dims: [...x!.dims], data: new Ctor(bytes.buffer, 0, src.length) as never }];
};

export const castKernels: Record<string, Kernel> = {
  BitCast: bitCast,
  Cast: (node, [x]) => [
    castTo(x!, node.attrInt('to', 0), node.attrInt('saturate', 1) === 1, node.attrString('round_mode', 'up')),
  ],
  CastLike: (node, [x, like]) => [
    castTo(x!, like!.dtype, node.attrInt('saturate', 1) === 1, node.attrString('round_mode', 'up')),
  ],
};
