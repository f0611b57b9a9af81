/**
 * IR tensors: an initializer or constant value. Payload bytes are little-endian, in ONNX raw_data layout,
 * and are read lazily: an externally stored tensor is only read when its bytes are asked for, so a pass
 * that touches one tensor at a time never holds all weights twice.
 */
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { DataType, rawByteLength, typedArrayCtor, type TypedArray } from './dtype.js';
import { toNum, toBig, type TensorProto, type Long } from '../onnx/proto.js';
import { AmpError } from '../core/errors.js';

export interface ExternalRef {
  /** `location` as written in the model (relative to the model's directory). */
  location: string;
  /** Absolute path it was resolved to (checked to stay inside the model's directory). */
  path: string;
  offset: number;
  length: number;
}

export const numel = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export class Tensor {
  /** The proto this tensor was read from; reused verbatim on export while the tensor is unchanged. */
  proto?: TensorProto;
  private bytes?: Uint8Array;
  external?: ExternalRef;
  /** String tensors keep their elements as bytes. */
  strings?: Uint8Array[];
  modified = false;

  constructor(public name: string, public dataType: number, public dims: number[]) {}

  static fromBytes(name: string, dataType: number, dims: number[], bytes: Uint8Array): Tensor {
    const t = new Tensor(name, dataType, dims);
    t.bytes = bytes;
    t.modified = true;
    return t;
  }
  static fromArray(name: string, dataType: number, dims: number[], data: TypedArray): Tensor {
    return Tensor.fromBytes(name, dataType, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  static fromProto(p: TensorProto, external?: ExternalRef): Tensor {
    const t = new Tensor(p.name ?? '', p.dataType ?? 0, (p.dims ?? []).map((d) => toNum(d as number | Long)));
    t.proto = p;
    t.external = external;
    return t;
  }

  get size(): number { return numel(this.dims); }
  get byteLength(): number {
    if (this.bytes) return this.bytes.byteLength;
    if (this.external) return this.external.length;
    return rawByteLength(this.dataType, this.size);
  }
  /** True when the payload is already in memory (inline, or loaded). */
  get loaded(): boolean { return this.bytes !== undefined || !this.external; }

  /** Payload as little-endian raw bytes. Reads external data on first use. */
  raw(): Uint8Array {
    if (this.bytes) return this.bytes;
    if (this.external) return (this.bytes = readExternal(this.external));
    return (this.bytes = protoPayload(this.proto ?? {}, this.dataType, this.size));
  }
  /**
   * Elements as a typed array (fp16/bf16 as raw uint16 bits), a view of the payload. Bytes that are not
   * aligned for the element type (raw_data inside a model file usually is not) are copied once and the copy
   * becomes the payload — the proto's raw_data too (same bytes, so encoding is unchanged) — so the file
   * buffer they came from can be freed once every tensor has been read.
   */
  data(): TypedArray {
    const ctor = typedArrayCtor(this.dataType);
    if (!ctor) throw new AmpError(`tensor '${this.name}' has no numeric view (data type ${this.dataType})`);
    let b = this.raw();
    if (b.byteOffset % ctor.BYTES_PER_ELEMENT !== 0) {
      const copy = new Uint8Array(b);
      if (this.proto?.rawData === b) this.proto.rawData = copy;
      b = this.bytes = copy;
    }
    return new ctor(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength / ctor.BYTES_PER_ELEMENT);
  }
  /** Replace the payload (marks the tensor modified so export writes a fresh proto with raw_data). */
  setData(dataType: number, bytes: Uint8Array | TypedArray): void {
    this.dataType = dataType;
    this.bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.external = undefined;
    this.modified = true;
  }
  /** Drop loaded external bytes (they can be read again). */
  release(): void {
    if (this.external) this.bytes = undefined;
  }
}

export function readExternal(ref: ExternalRef): Uint8Array {
  let fd: number;
  try {
    fd = openSync(ref.path, 'r');
  } catch {
    throw new AmpError(`external data file '${ref.location}' is missing`, ref.path);
  }
  try {
    const size = fstatSync(fd).size;
    const length = ref.length >= 0 ? ref.length : size - ref.offset;
    if (ref.offset + length > size) {
      throw new AmpError(`external data is short: needs bytes ${ref.offset}..${ref.offset + length} but the file has ${size}`, ref.path);
    }
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, ref.offset + done);
      if (n === 0) throw new AmpError(`external data ended early at byte ${ref.offset + done}`, ref.path);
      done += n;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } finally {
    closeSync(fd);
  }
}

/** The payload of an inline TensorProto as raw little-endian bytes, whichever typed field holds it. */
export function protoPayload(p: TensorProto, dataType: number, n: number): Uint8Array {
  if (p.rawData && p.rawData.length) return p.rawData;
  const ctor = typedArrayCtor(dataType);
  switch (dataType) {
    case DataType.FLOAT: case DataType.COMPLEX64: return asBytes(Float32Array.from(p.floatData ?? []));
    case DataType.DOUBLE: case DataType.COMPLEX128: return asBytes(Float64Array.from(p.doubleData ?? []));
    case DataType.INT64: return asBytes(BigInt64Array.from((p.int64Data ?? []).map((v) => toBig(v as number | Long))));
    case DataType.UINT32: return asBytes(Uint32Array.from((p.uint64Data ?? []).map((v) => Number(toBig(v as number | Long)))));
    case DataType.UINT64: return asBytes(BigUint64Array.from((p.uint64Data ?? []).map((v) => BigInt.asUintN(64, toBig(v as number | Long)))));
    case DataType.STRING: return new Uint8Array(0);
    case DataType.UINT4: case DataType.INT4: case DataType.FLOAT4E2M1: {
      // int32_data holds one packed byte (two 4-bit elements) per entry.
      return Uint8Array.from(p.int32Data ?? [], (v) => v & 0xff).subarray(0, rawByteLength(dataType, n));
    }
    default: {
      if (!ctor) return new Uint8Array(0);
      const src = p.int32Data ?? [];
      const out = new ctor(src.length) as TypedArray;
      for (let i = 0; i < src.length; i++) (out as Int32Array)[i] = src[i];
      return asBytes(out);
    }
  }
}
export const asBytes = (a: TypedArray): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
