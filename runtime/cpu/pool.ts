/**
 * Recycled output buffers. When the executor drops a value after its last reader (liveness), its array goes
 * back here if nothing else holds it, and the next op that needs an output of the same type and length takes
 * it instead of allocating: peak memory then follows the live set instead of the garbage collector's pace.
 * Only Float32Array / Uint16Array storage (float tensors) is pooled; taken buffers hold stale values, so only
 * code that writes every element takes one. Temporaries (fp16 inputs decoded to f32, f32 results before their
 * fp16 rounding) come from the pool too, and go back when the node that took them returns (`begin`/`end`).
 * The executor installs a pool for the duration of a run (runs are synchronous), and none while a caller
 * observes intermediate values (they may keep them).
 */
type Pooled = Float32Array | Uint16Array;
const MAX_PER_KEY = 4;

export class BufferPool {
  private free = new Map<string, Pooled[]>();
  /** Arrays this pool handed out: the only ones it takes back (never a weight, a feed or a cached constant). */
  private minted = new WeakSet<object>();
  private isFree = new WeakSet<object>();
  /** Arrays handed out since the current node began. */
  private recent: Pooled[] = [];
  take<T extends Pooled>(ctor: { new (n: number): T; name: string }, n: number): T {
    const list = this.free.get(`${ctor.name}:${n}`);
    const a = (list?.pop() as T | undefined) ?? new ctor(n);
    this.minted.add(a);
    this.isFree.delete(a);
    this.recent.push(a);
    return a;
  }
  /** Starts a node: returns the mark `end` needs. */
  begin(): number { return this.recent.length; }
  /** Ends a node: what it took and did not return (by buffer) goes back to the pool. */
  end(mark: number, kept: readonly { data: unknown }[]): void {
    const keep = new Set(kept.map((t) => (ArrayBuffer.isView(t.data) ? t.data.buffer : undefined)));
    for (const a of this.recent.splice(mark)) if (!keep.has(a.buffer)) this.give(a);
  }
  give(a: unknown): void {
    if (!(a instanceof Float32Array || a instanceof Uint16Array) || !this.minted.has(a) || this.isFree.has(a)) return;
    this.isFree.add(a);
    const key = `${a.constructor.name}:${a.length}`;
    const list = this.free.get(key) ?? [];
    if (list.length < MAX_PER_KEY) list.push(a);
    this.free.set(key, list);
  }
}

let current: BufferPool | undefined;
/** Installs `p` while `fn` runs (nested runs keep the outer pool). */
export function withPool<T>(p: BufferPool | undefined, fn: () => T): T {
  const saved = current;
  current = saved ?? p;
  try { return fn(); } finally { current = saved; }
}
/** The pool of the run in progress, if any. */
export const currentPool = (): BufferPool | undefined => current;
/** A Float32Array / Uint16Array of length n for an op that writes every element. */
export function takeBuffer<T extends Pooled>(ctor: { new (n: number): T; name: string }, n: number): T {
  return current ? current.take(ctor, n) : new ctor(n);
}
