/**
 * A model file's structure without its weights. Walks the protobuf wire format of ModelProto → graph →
 * initializer and leaves out each raw_data payload of at least `minPayload` bytes, recording where it lies in
 * the file instead; everything else is copied as is (enclosing lengths re-encoded), so the ordinary decoder
 * reads the skeleton as it would read the file, minus those payloads. Loading a 512 MB model then reads a few
 * kilobytes instead of 512 MB; the payloads are read (or streamed) from the file when needed (Tensor.backing).
 * Anything unusual — a malformed field, a tensor with two raw_data fields, deprecated groups — returns
 * undefined, and the caller reads the whole file, whose decoder reports the problem as it always has.
 */
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { Writer } from './proto.js';

/** The skeleton's bytes and, per main-graph initializer index, its payload's byte range in the file. */
export interface Skeleton {
  bytes: Uint8Array;
  payloads: Map<number, { offset: number; length: number }>;
}

const MODEL_GRAPH = 7,
  GRAPH_INITIALIZER = 5,
  TENSOR_RAW_DATA = 9;
const LEN = 2;
/** Reads are this large at least: a graph's nodes come in a few reads, a tensor's header in one. */
const WINDOW = 256 << 10;

class Unusual extends Error {}

/** Random access to a file through one reusable window. */
class FileReader {
  private buf = Buffer.allocUnsafe(WINDOW);
  private start = 0;
  private end = 0;
  constructor(
    private fd: number,
    readonly size: number,
  ) {}
  /** The bytes [pos, pos + n) (a view valid until the next call). */
  bytes(pos: number, n: number): Uint8Array {
    if (pos < this.start || pos + n > this.end) {
      if (n > this.buf.byteLength) this.buf = Buffer.allocUnsafe(n);
      const want = Math.min(this.buf.byteLength, this.size - pos);
      if (want < n) throw new Unusual('past the end');
      let got = 0;
      while (got < want) {
        const r = readSync(this.fd, this.buf, got, want - got, pos + got);
        if (!r) throw new Unusual('short read');
        got += r;
      }
      this.start = pos;
      this.end = pos + want;
    }
    return this.buf.subarray(pos - this.start, pos - this.start + n);
  }
  /** A varint at pos: [value, bytes used]. Values beyond 2^53 are unusual here (lengths and tags). */
  varint(pos: number): [number, number] {
    const b = this.bytes(pos, Math.min(10, this.size - pos));
    let v = 0,
      mul = 1;
    for (let i = 0; i < b.length; i++) {
      v += (b[i] & 0x7f) * mul;
      if (!(b[i] & 0x80)) {
        if (v > Number.MAX_SAFE_INTEGER) throw new Unusual('varint');
        return [v, i + 1];
      }
      mul *= 128;
    }
    throw new Unusual('varint');
  }
}

interface Field {
  id: number;
  wire: number;
  start: number;
  body: number;
  end: number;
}

/** The fields of the message in [start, end), in file order. */
function* fields(r: FileReader, start: number, end: number): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const [tag, tn] = r.varint(pos);
    const id = Math.floor(tag / 8),
      wire = tag % 8;
    let body = pos + tn,
      next: number;
    if (id === 0) throw new Unusual('field 0');
    if (wire === 0) next = body + r.varint(body)[1];
    else if (wire === 1) next = body + 8;
    else if (wire === 5) next = body + 4;
    else if (wire === LEN) {
      const [len, ln] = r.varint(body);
      body += ln;
      next = body + len;
    } else throw new Unusual('group or unknown wire type');
    if (next > end) throw new Unusual('field past its message');
    yield { id, wire, start: pos, body, end: next };
    pos = next;
  }
}

/** A message's skeleton parts: fields copied, except those `inner` rewrites. */
function message(
  r: FileReader,
  start: number,
  end: number,
  inner: (f: Field) => Uint8Array[] | undefined,
): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let copyFrom = start;
  for (const f of fields(r, start, end)) {
    const sub = inner(f);
    if (!sub) continue;
    copy(r, copyFrom, f.start, parts);
    parts.push(...sub);
    copyFrom = f.end;
  }
  copy(r, copyFrom, end, parts);
  return parts;
}
/** Copies [from, to) of the file in window-sized pieces (a run of nodes may be longer than one window). */
function copy(r: FileReader, from: number, to: number, parts: Uint8Array[]): void {
  for (let p = from; p < to; p += WINDOW) parts.push(new Uint8Array(r.bytes(p, Math.min(WINDOW, to - p))));
}
const total = (parts: Uint8Array[]) => parts.reduce((a, p) => a + p.byteLength, 0);
/** A length-delimited field `id` holding `parts`. */
const wrap = (id: number, parts: Uint8Array[]): Uint8Array[] => [
  Writer.create()
    .uint32(id * 8 + LEN)
    .uint32(total(parts))
    .finish(),
  ...parts,
];

/** The skeleton of the model file at `path`, or undefined when it has nothing to leave out or looks unusual. */
export function readSkeleton(path: string, minPayload: number): Skeleton | undefined {
  const fd = openSync(path, 'r');
  try {
    const r = new FileReader(fd, fstatSync(fd).size);
    const payloads = new Map<number, { offset: number; length: number }>();
    let graphs = 0,
      index = 0;
    const tensor = (f: Field): Uint8Array[] | undefined => {
      if (f.id !== GRAPH_INITIALIZER || f.wire !== LEN) return undefined;
      let raws = 0,
        left: { offset: number; length: number } | undefined;
      const parts = message(r, f.body, f.end, (t) => {
        if (t.id !== TENSOR_RAW_DATA) return undefined;
        if (t.wire !== LEN || ++raws > 1) throw new Unusual('raw_data twice');
        if (t.end - t.body < minPayload) return undefined;
        left = { offset: t.body, length: t.end - t.body };
        return [];
      });
      if (left) payloads.set(index, left);
      index++;
      return left ? wrap(GRAPH_INITIALIZER, parts) : undefined;
    };
    const parts = message(r, 0, r.size, (f) => {
      if (f.id !== MODEL_GRAPH) return undefined;
      if (f.wire !== LEN || ++graphs > 1) throw new Unusual('graph twice');
      return wrap(MODEL_GRAPH, message(r, f.body, f.end, tensor));
    });
    if (!payloads.size) return undefined;
    const bytes = new Uint8Array(total(parts));
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.byteLength;
    }
    return { bytes, payloads };
  } catch (e) {
    if (e instanceof Unusual) return undefined;
    throw e;
  } finally {
    closeSync(fd);
  }
}
