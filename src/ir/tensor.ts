/**
 * IR tensors: an initializer or constant value. Payload bytes are little-endian, in ONNX raw_data layout,
 * and are read lazily: an externally stored tensor is only read when its bytes are asked for, so a pass
 * that touches one tensor at a time never holds all weights twice.
 */
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { DataType, dtypeBits, dtypeName, rawByteLength, typedArrayCtor, type TypedArray } from '../core/dtype.js';
import { toNum, toBig, type TensorProto, type Long } from '../onnx/proto/proto.js';
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

/** Where a payload is read from when not in memory: its external data, or its range of the model file. */
const onDisk = (t: Tensor): ExternalRef | undefined => t.external ?? t.backing;

/** An initializer or constant: dims, data type and payload (read lazily from external data). */
export class Tensor {
  /** The proto this tensor was read from; reused verbatim on export while the tensor is unchanged. */
  proto?: TensorProto;
  private bytes?: Uint8Array;
  external?: ExternalRef;
  /** String tensors keep their elements as bytes. */
  strings?: Uint8Array[];
  modified = false;
  /**
   * A tensor computed from another chunk by chunk (fp32 weights in an external file converted to fp16): it is
   * read and converted while it is written — held whole only if someone asks for raw() — so converting a model
   * larger than memory takes memory for one chunk, not for the model.
   */
  derived?: {
    source: Tensor;
    map: (chunk: Uint8Array) => Uint8Array;
    byteLength: number;
    /** The same payload, faster: handed to `emit` chunk by chunk in order (views valid during the call). */
    stream?: (emit: (chunk: Uint8Array) => void) => void;
  };
  /**
   * An inline payload (raw_data) left in the model file it was loaded from instead of in memory: read from
   * there when asked for, streamed from there when written — so a loaded model does not hold its weights.
   */
  backing?: ExternalRef;

  constructor(
    public name: string,
    public dataType: number,
    public dims: number[],
  ) {}

  static fromBytes(name: string, dataType: number, dims: number[], bytes: Uint8Array): Tensor {
    const t = new Tensor(name, dataType, dims);
    t.bytes = bytes;
    t.modified = true;
    return t;
  }
  /** A tensor whose payload is `map` applied to `source`'s, chunk by chunk (see `derived`). */
  static derive(
    name: string,
    dataType: number,
    dims: number[],
    source: Tensor,
    map: (chunk: Uint8Array) => Uint8Array,
    stream?: (emit: (chunk: Uint8Array) => void) => void,
  ): Tensor {
    const t = new Tensor(name, dataType, dims);
    t.derived = { source, map, byteLength: rawByteLength(dataType, numel(dims)), stream };
    t.modified = true;
    return t;
  }
  static fromArray(name: string, dataType: number, dims: number[], data: TypedArray): Tensor {
    return Tensor.fromBytes(name, dataType, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  /** A tensor over a TensorProto, checked first (checkTensorProto): dims, type and data agree. */
  static fromProto(p: TensorProto, external?: ExternalRef, backing?: ExternalRef): Tensor {
    const t = new Tensor(p.name ?? '', p.dataType ?? 0, checkTensorProto(p, external, backing?.length));
    t.proto = p;
    t.external = external;
    if (!external) t.backing = backing;
    return t;
  }

  get size(): number {
    return numel(this.dims);
  }
  get byteLength(): number {
    if (this.bytes) return this.bytes.byteLength;
    if (this.derived) return this.derived.byteLength;
    const disk = onDisk(this);
    if (disk) return disk.length;
    return rawByteLength(this.dataType, this.size);
  }
  /** True when the payload is already in memory (inline, or loaded). */
  get loaded(): boolean {
    return this.bytes !== undefined || (!onDisk(this) && !this.derived);
  }

  /** Payload as little-endian raw bytes. Reads external data (or computes a derived payload) on first use. */
  raw(): Uint8Array {
    if (this.bytes) return this.bytes;
    if (this.derived) {
      const out = new Uint8Array(this.derived.byteLength);
      let o = 0;
      for (const c of this.chunks()) {
        out.set(c, o);
        o += c.byteLength;
      }
      return (this.bytes = out);
    }
    const disk = onDisk(this);
    if (disk) return (this.bytes = readExternal(disk, undefined, true));
    return (this.bytes = protoPayload(this.proto ?? {}, this.dataType, this.size));
  }
  /**
   * The payload in pieces of about `bytes` (multiples of 8, so element boundaries hold), without holding it
   * whole: external data is read piece by piece and not kept; a derived payload is computed piece by piece.
   */
  *chunks(bytes = 16 << 20): Generator<Uint8Array> {
    const step = Math.max(8, bytes - (bytes % 8));
    if (this.bytes || (!onDisk(this) && !this.derived)) {
      const all = this.raw();
      for (let o = 0; o < all.byteLength; o += step) yield all.subarray(o, Math.min(all.byteLength, o + step));
    } else if (this.derived) {
      for (const c of this.derived.source.chunks(bytes)) yield this.derived.map(c);
    } else {
      const ref = onDisk(this)!;
      for (let o = 0; o < ref.length; o += step)
        yield readExternal({ ...ref, offset: ref.offset + o, length: Math.min(step, ref.length - o) });
    }
  }
  /** Copies payload bytes [offset, offset + into.length) into `into`: from the file when not in memory (no caching). */
  readInto(offset: number, into: Uint8Array): void {
    const disk = !this.bytes && !this.derived ? onDisk(this) : undefined;
    if (!disk) {
      into.set(this.raw().subarray(offset, offset + into.byteLength));
      return;
    }
    readExternal({ ...disk, offset: disk.offset + offset, length: into.byteLength }, into);
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
  /**
   * Moves the payload into a SharedArrayBuffer (same bytes; a payload on disk is read straight into it), so
   * worker threads can read it without a copy per use: the CPU executor does this for large weights (large
   * payloads read from a file are in shared memory already, so this costs nothing for them). The proto's
   * raw_data follows (same bytes, so encoding is unchanged). A no-op where SharedArrayBuffer is missing or
   * the payload is already shared. Some native APIs refuse views of shared memory (onnxruntime-node's tensors,
   * Dawn's writeBuffer): copy `data()` (`.slice()`) before handing it to one.
   */
  share(): void {
    if (typeof SharedArrayBuffer === 'undefined' || this.bytes?.buffer instanceof SharedArrayBuffer) return;
    const s = new Uint8Array(new SharedArrayBuffer(this.byteLength));
    if (this.bytes || this.derived) s.set(this.raw());
    else this.readInto(0, s);
    if (this.proto?.rawData && this.proto.rawData === this.bytes) this.proto.rawData = s;
    this.bytes = s;
  }
  /** Replace the payload (marks the tensor modified so export writes a fresh proto with raw_data). */
  setData(dataType: number, bytes: Uint8Array | TypedArray): void {
    this.dataType = dataType;
    this.bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.external = undefined;
    this.derived = undefined;
    this.backing = undefined;
    this.modified = true;
  }
  /** Drop loaded external bytes (they can be read again). */
  release(): void {
    if (onDisk(this) || this.derived) this.bytes = undefined;
  }
}

/** Elements beyond this in one tensor are refused (2^40: a TiB of bytes or more). */
export const MAX_ELEMENTS = 2 ** 40;

/**
 * Checks that a TensorProto's dims, data type and data agree before anything is allocated for it: dims are
 * non-negative safe integers whose product stays below MAX_ELEMENTS, the type is a known ONNX type, and the
 * data it carries (raw_data, the typed field, or the external range) holds exactly dims × element size.
 * An external tensor without `length` gets it from its dims (the ONNX spec allows leaving it out).
 * Returns the dims as numbers; throws AmpError naming the tensor.
 */
export function checkTensorProto(p: TensorProto, ext?: ExternalRef, rawLength = p.rawData?.length): number[] {
  const where = `tensor '${p.name ?? ''}'`;
  const dims = (p.dims ?? []).map((d) => {
    let n: number;
    try {
      n = toNum(d as number | Long);
    } catch {
      throw new AmpError(`${where} has a dim beyond 2^53 (${String(d)})`);
    }
    if (n < 0) throw new AmpError(`${where} has a negative dim (${n})`);
    return n;
  });
  const n = numel(dims);
  if (!(n <= MAX_ELEMENTS))
    throw new AmpError(`${where} declares ${dims.join('×')} elements, more than the 2^40 allowed`);
  const t = p.dataType ?? 0;
  if (t !== DataType.STRING && dtypeBits(t) === 0) throw new AmpError(`${where} has an unknown data type (${t})`);
  if (t === DataType.STRING) {
    if (!ext && (p.stringData?.length ?? 0) !== n)
      throw new AmpError(`${where} declares ${n} strings but holds ${p.stringData?.length ?? 0}`);
    return dims;
  }
  const bytes = rawByteLength(t, n);
  if (ext) {
    if (ext.length < 0) ext.length = bytes;
    if (ext.length !== bytes)
      throw new AmpError(
        `${where}: external data length ${ext.length} does not match its dims (${dims.join('×') || 'scalar'} ${dtypeName(t)} = ${bytes} bytes)`,
      );
    return dims;
  }
  // rawLength: raw_data's length, also when its bytes were left in the model file (src/onnx/proto/skeleton.ts).
  if (rawLength) {
    if (rawLength !== bytes)
      throw new AmpError(
        `${where} has ${rawLength} bytes of raw_data for ${dims.join('×') || 'scalar'} ${dtypeName(t)} (${bytes} bytes)`,
      );
    return dims;
  }
  const [field, count] = typedFieldCount(p, t, n);
  if (field.length !== count)
    throw new AmpError(
      `${where} holds ${field.length} values in its typed data for ${dims.join('×') || 'scalar'} ${dtypeName(t)} (${count} expected)`,
    );
  return dims;
}
/** The typed field an inline tensor of type t keeps its n elements in, and how many entries it needs. */
function typedFieldCount(p: TensorProto, t: number, n: number): [ArrayLike<unknown>, number] {
  switch (t) {
    case DataType.FLOAT:
      return [p.floatData ?? [], n];
    case DataType.COMPLEX64:
      return [p.floatData ?? [], 2 * n];
    case DataType.DOUBLE:
      return [p.doubleData ?? [], n];
    case DataType.COMPLEX128:
      return [p.doubleData ?? [], 2 * n];
    case DataType.INT64:
      return [p.int64Data ?? [], n];
    case DataType.UINT32:
    case DataType.UINT64:
      return [p.uint64Data ?? [], n];
    case DataType.UINT4:
    case DataType.INT4:
    case DataType.FLOAT4E2M1:
      return [p.int32Data ?? [], Math.ceil(n / 2)];
    default:
      return [p.int32Data ?? [], n];
  }
}

/** Payloads from this size up are kept in shared memory (see Tensor.share); smaller ones are not worth it. */
export const SHARED_PAYLOAD_BYTES = 1 << 20;
const payloadBuffer = (length: number): Uint8Array =>
  length >= SHARED_PAYLOAD_BYTES && typeof SharedArrayBuffer !== 'undefined'
    ? new Uint8Array(new SharedArrayBuffer(length))
    : Buffer.allocUnsafe(length);

/**
 * Reads an external range, into `into` when given (its length is the range's). `keep`: the bytes become a
 * tensor's payload, so a large one goes in shared memory (transient chunks do not: they are dropped at once).
 */
export function readExternal(ref: ExternalRef, into?: Uint8Array, keep = false): Uint8Array {
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
      throw new AmpError(
        `external data is short: needs bytes ${ref.offset}..${ref.offset + length} but the file has ${size}`,
        ref.path,
      );
    }
    const buf = into ?? (keep ? payloadBuffer(length) : Buffer.allocUnsafe(length));
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
    case DataType.FLOAT:
    case DataType.COMPLEX64:
      return asBytes(Float32Array.from(p.floatData ?? []));
    case DataType.DOUBLE:
    case DataType.COMPLEX128:
      return asBytes(Float64Array.from(p.doubleData ?? []));
    case DataType.INT64:
      return asBytes(BigInt64Array.from((p.int64Data ?? []).map((v) => toBig(v as number | Long))));
    case DataType.UINT32:
      return asBytes(Uint32Array.from((p.uint64Data ?? []).map((v) => Number(toBig(v as number | Long)))));
    case DataType.UINT64:
      return asBytes(
        BigUint64Array.from((p.uint64Data ?? []).map((v) => BigInt.asUintN(64, toBig(v as number | Long)))),
      );
    case DataType.STRING:
      return new Uint8Array(0);
    case DataType.UINT4:
    case DataType.INT4:
    case DataType.FLOAT4E2M1: {
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
