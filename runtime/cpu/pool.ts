/**
 * Recycled output buffers. When the executor drops a value after its last reader (liveness), its memory goes
 * back here if nothing else holds it, and the next op that needs a float output takes it instead of
 * allocating: peak memory then follows the live set instead of the garbage collector's pace.
 * Memory is pooled as whole ArrayBuffers, handed out as Float32Array / Uint16Array views of the requested
 * length, best fit: the smallest free buffer that is large enough, whatever element type it held before —
 * so the large early activations of a CNN serve the smaller later ones, and an fp16 model's f32 temporaries
 * and half outputs share buffers. Taken buffers hold stale values, so only code that writes every element
 * takes one. Temporaries (fp16 inputs decoded to f32, f32 results before their fp16 rounding) come from the
 * pool too, and go back when the node that took them returns (`begin`/`end`).
 * The executor installs a pool for the duration of a run (runs are synchronous), and none while a caller
 * observes intermediate values (they may keep them).
 */
import { checkAlloc } from './limits.js';

type Pooled = Float32Array | Uint16Array;
/** Free buffers kept at most (the smallest are let go first); requests below MIN_BYTES are not pooled. */
const MAX_FREE = 64,
  MIN_BYTES = 4096;

export class BufferPool {
  /** Free buffers, ascending by size. */
  private free: ArrayBuffer[] = [];
  /** Buffers this pool handed out: the only ones it takes back (never a weight, a feed or a cached constant). */
  private minted = new WeakSet<ArrayBuffer>();
  private isFree = new WeakSet<ArrayBuffer>();
  /** Views handed out since the current node began. */
  private recent: Pooled[] = [];
  take<T extends Pooled>(
    ctor: { new (b: ArrayBuffer, off: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number },
    n: number,
  ): T {
    const bytes = n * ctor.BYTES_PER_ELEMENT;
    if (bytes < MIN_BYTES) return new ctor(n);
    const i = this.free.findIndex((b) => b.byteLength >= bytes);
    const buf = i >= 0 ? this.free.splice(i, 1)[0] : new ArrayBuffer(bytes);
    this.minted.add(buf);
    this.isFree.delete(buf);
    const a = new ctor(buf, 0, n);
    this.recent.push(a);
    return a;
  }
  /** Starts a node: returns the mark `end` needs. */
  begin(): number {
    return this.recent.length;
  }
  /** Ends a node: what it took and did not return (by buffer) goes back to the pool. */
  end(mark: number, kept: readonly { data: unknown }[]): void {
    const keep = new Set(kept.map((t) => (ArrayBuffer.isView(t.data) ? t.data.buffer : undefined)));
    for (const a of this.recent.splice(mark)) if (!keep.has(a.buffer)) this.give(a);
  }
  give(a: unknown): void {
    if (!(a instanceof Float32Array || a instanceof Uint16Array)) return;
    const buf = a.buffer as ArrayBuffer;
    if (!this.minted.has(buf) || this.isFree.has(buf)) return;
    this.isFree.add(buf);
    let i = this.free.findIndex((b) => b.byteLength >= buf.byteLength);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, buf);
    if (this.free.length > MAX_FREE) this.isFree.delete(this.free.shift()!);
  }
}

let current: BufferPool | undefined;
/** Installs `p` while `fn` runs (nested runs keep the outer pool). */
export function withPool<T>(p: BufferPool | undefined, fn: () => T): T {
  const saved = current;
  current = saved ?? p;
  try {
    return fn();
  } finally {
    current = saved;
  }
}
/** The pool of the run in progress, if any. */
export const currentPool = (): BufferPool | undefined => current;
/** A Float32Array / Uint16Array of length n for an op that writes every element. */
export function takeBuffer<T extends Pooled>(
  ctor: { new (b: ArrayBuffer, off: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number },
  n: number,
): T {
  checkAlloc(n, ctor.BYTES_PER_ELEMENT);
  return current ? current.take(ctor, n) : new ctor(n);
}
