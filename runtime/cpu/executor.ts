/**
 * The CPU reference executor: runs IR graphs with typed arrays, trustworthy enough to judge the WebGPU
 * kernels, the diff report and training.
 *
 * Precision semantics (exact and documented):
 * - Tensors hold their declared type: FLOAT16/BFLOAT16 as raw uint16 bits, so an fp16 tensor holds exactly
 *   what fp16 hardware would.
 * - Every op computes from its inputs' exact values and rounds ONCE when it stores its outputs: to fp32 for
 *   FLOAT, to fp16 / bf16 (round to nearest even, overflow → ±Inf) for FLOAT16 / BFLOAT16. That is fp16
 *   storage with wide accumulation — what fp16 GPU kernels that accumulate in fp32 compute. The arithmetic
 *   inside an op is f32 where GPU kernels use f32 (the WebAssembly GEMM/Conv with f32 accumulation in k
 *   order, elementwise Add/Sub/Mul/Div/Relu/Erf and inference BatchNormalization on large tensors: ./wasm)
 *   and float64 elsewhere (reductions, normalization statistics, small tensors).
 * - `fp16Accumulate: true` instead rounds the running sum to fp16 after every add in MatMul, Gemm, Conv and
 *   sum-like reductions, to show the accumulation error an fp16 accumulator would add.
 *
 * Scheduling: nodes run in topological order; each value is dropped after its last reader (liveness is
 * computed once per graph) and, in the main graph, its buffer is recycled for a later output that fits
 * (./pool.ts), so peak memory stays near the largest live set. If/Loop/Scan bodies run through the
 * same machinery with their enclosing scope visible. Initializers are views of the model's weights.
 */
import { HostCarry } from '../carry.js';
import { lookupOwn, type Graph, type Model, type Node } from '../../src/ir/graph.js';
import { SHARED_PAYLOAD_BYTES, type Tensor } from '../../src/ir/tensor.js';
import { fromIrTensor, type RTensor } from '../../src/ir/rtensor.js';
import { cpuKernels } from './kernels/index.js';
import type { KernelContext } from './kernels/types.js';
import { checkEnumAttributes } from '../ops/enums.js';
import { checkFeed, checkFeedNames, missingInput } from '../ops/feeds.js';
import { checkControlFlow } from './kernels/control.js';
import { AmpError, UnsupportedOpError } from '../../src/core/errors.js';
import { BufferPool, withPool } from './pool.js';
import { kernelThreads } from './wasm/index.js';
import { DataType } from '../../src/core/dtype.js';

/** Large float weights are moved into shared memory when the kernels have worker threads (they stream them; see wasm/jobs.ts). */
const sharedWeight = (t: Tensor): boolean =>
  (t.dataType === DataType.FLOAT || t.dataType === DataType.FLOAT16) &&
  t.byteLength >= SHARED_PAYLOAD_BYTES &&
  kernelThreads() > 1;

/** Ops whose outputs differ from run to run with the same inputs: never folded. */
const NONDETERMINISTIC = new Set([
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Bernoulli',
  'Multinomial',
  'Dropout',
]);

/** Options of one CpuExecutor run: outputs to return, and a callback for every intermediate value. */
export interface RunOptions {
  /** Output names to return (default: the graph outputs). Any intermediate value may be named. */
  outputs?: string[];
  /** Called with every value a node produces (and the model inputs), in execution order. */
  onValue?: (name: string, value: RTensor, node?: Node) => void;
  /** Output → input: after the run the output is kept as that input's value for later runs whose feeds lack it (runtime/carry.ts). */
  carry?: Record<string, string>;
}
export interface ExecutorOptions {
  fp16Accumulate?: boolean;
}

const bytesOf = (t: RTensor): number =>
  Array.isArray(t.data) ? t.data.length * 8 : (t.data as ArrayBufferView).byteLength;

class Scope {
  vals = new Map<string, RTensor>();
  constructor(
    readonly parent?: Scope,
    private readonly outer?: (name: string) => RTensor | undefined,
  ) {}
  get(name: string): RTensor | undefined {
    return this.vals.get(name) ?? (this.parent ? this.parent.get(name) : this.outer?.(name));
  }
}

interface Plan {
  freeAfter: string[][];
}

/** The CPU reference executor: fp16/bf16 stored as half bits, every op rounded once to its output type. */
export class CpuExecutor {
  readonly name = 'cpu';
  private inits = new Map<Tensor, RTensor>();
  private plans = new Map<Graph, Plan>();
  private ctx: KernelContext;
  private onValue?: RunOptions['onValue'];
  private pool = new BufferPool();
  /** Recycling is on for a run whose intermediates nobody observes. */
  private recycle = false;

  constructor(
    readonly model: Model,
    readonly opts: ExecutorOptions = {},
  ) {
    this.ctx = {
      fp16Accumulate: !!opts.fp16Accumulate,
      opset: model.opset('') ?? 1,
      runGraph: (g, inputs) => this.runGraph(g, inputs, this.current!),
    };
    const missing = new Map<string, string>();
    for (const n of model.graph.allNodes()) if (!lookupOwn(cpuKernels, n.key)) missing.set(n.key, n.label);
    if (missing.size) {
      const [[, label]] = missing;
      throw new UnsupportedOpError(
        `the CPU executor has no kernel for ${[...missing.keys()].join(', ')} (first used by node '${label}')`,
        [...missing.keys()],
        model.file,
      );
    }
    checkEnumAttributes(model);
    checkControlFlow(model);
    // Weights are read once, up front: payload problems surface here, and unaligned payloads are copied
    // (see Tensor.data) before the first run, so the file buffer they came from can go.
    for (const g of model.graph.allGraphs()) for (const t of g.initializers.values()) if (t.loaded) this.initializer(t);
  }

  private current?: Scope;
  /** Bytes held by the values alive in the executor's scopes, at the peak of the last run (deterministic). */
  peakLiveBytes = 0;
  private live = 0;
  private track(delta: number): void {
    this.live += delta;
    if (this.live > this.peakLiveBytes) this.peakLiveBytes = this.live;
  }

  private plan(g: Graph): Plan {
    let p = this.plans.get(g);
    if (p) return p;
    const last = new Map<string, number>();
    g.nodes.forEach((n, i) => {
      for (const r of n.reads()) last.set(r, i);
    });
    const keep = new Set(g.outputs);
    const freeAfter: string[][] = g.nodes.map(() => []);
    for (const [name, i] of last) if (!keep.has(name)) freeAfter[i].push(name);
    p = { freeAfter };
    this.plans.set(g, p);
    return p;
  }

  /**
   * Nodes of the main graph computed from constants alone (initializers, Constant, and what they feed — a weight
   * made by ConstantOfShape, a reshape of one): computed on the first run and kept, as onnxruntime folds them
   * when it loads a model. Random ops are never folded.
   */
  private constants?: Set<Node>;
  private folded = new Map<string, RTensor>();
  private constantNodes(g: Graph): Set<Node> {
    if (this.constants) return this.constants;
    const known = new Set([...g.initializers.keys()].filter((k) => !g.inputs.includes(k)));
    const out = new Set<Node>();
    for (const n of g.nodes) {
      if (n.subgraphs.size || NONDETERMINISTIC.has(n.key) || !n.inputs.every((i) => !i || known.has(i))) continue;
      out.add(n);
      for (const o of n.outputs) if (o) known.add(o);
    }
    return (this.constants = out);
  }

  private initializer(t: Tensor): RTensor {
    let r = this.inits.get(t);
    if (!r) {
      if (sharedWeight(t)) t.share();
      this.inits.set(t, (r = fromIrTensor(t)));
    }
    return r;
  }

  /** Runs graph `g` with positional inputs inside `parent`'s scope; returns its outputs in order. */
  private runGraph(g: Graph, inputs: RTensor[], parent: Scope | undefined, want?: Set<string>): RTensor[] {
    const scope = new Scope(parent);
    for (const [name, t] of g.initializers) scope.vals.set(name, this.initializer(t));
    g.inputs.forEach((name, i) => {
      if (inputs[i]) {
        scope.vals.set(name, inputs[i]);
        this.track(bytesOf(inputs[i]));
      }
    });
    const plan = this.plan(g);
    const saved = this.current;
    // Buffers this run produced, by array, with the number of live values holding each (views share arrays).
    const recycle = this.recycle && g === this.model.graph;
    const refs = new Map<object, number>();
    const foreign = new Set<object>([...scope.vals.values()].map((v) => v.data));
    const constants = g === this.model.graph ? this.constantNodes(g) : undefined;
    for (let i = 0; i < g.nodes.length; i++) {
      const n = g.nodes[i];
      const isConst = !!constants?.has(n);
      if (isConst && n.outputs.every((o) => !o || this.folded.has(o))) {
        // Folded on an earlier run: the kept values, seen by onValue like computed ones.
        for (const o of n.outputs)
          if (o) {
            const v = this.folded.get(o)!;
            scope.vals.set(o, v);
            foreign.add(v.data);
            this.track(bytesOf(v));
            this.onValue?.(o, v, n);
          }
        this.freeAfterNode(scope, plan.freeAfter[i], g, refs, want);
        continue;
      }
      const ins = n.inputs.map((x) => {
        if (!x) return undefined;
        const v = scope.get(x);
        if (!v) throw new AmpError(`value '${x}' read by node '${n.label}' was never computed`);
        return v;
      });
      this.current = scope;
      let outs: RTensor[];
      // Temporaries of this node go back to the pool when it returns (not around control flow: its bodies
      // run nodes of their own).
      const mark = recycle && !n.subgraphs.size ? this.pool.begin() : -1;
      try {
        outs = cpuKernels[n.key](n, ins, this.ctx);
        if (mark >= 0) this.pool.end(mark, outs);
      } catch (e) {
        // Named by node (once, at the innermost level) and by the model's file: a model a kernel cannot run is bad input.
        const msg = e instanceof AmpError ? e.message : `failed: ${(e as Error)?.message ?? e}`;
        if (e instanceof AmpError && (e.file || msg.startsWith('node ')))
          throw e.file ? e : e.reissue(msg, this.model.file);
        throw e instanceof AmpError
          ? e.reissue(`node '${n.label}' (${n.opType}): ${msg}`, this.model.file)
          : new AmpError(`node '${n.label}' (${n.opType}): ${msg}`, this.model.file);
      }
      n.outputs.forEach((o, j) => {
        if (!o || !outs[j]) return;
        scope.vals.set(o, outs[j]);
        this.track(bytesOf(outs[j]));
        // A folded value is kept for later runs: never recycled.
        if (isConst) {
          this.folded.set(o, outs[j]);
          foreign.add(outs[j].data);
        }
        if (recycle && !foreign.has(outs[j].data)) refs.set(outs[j].data, (refs.get(outs[j].data) ?? 0) + 1);
        this.onValue?.(o, outs[j], n);
      });
      this.freeAfterNode(scope, plan.freeAfter[i], g, refs, want);
    }
    this.current = saved;
    for (const [name, v] of scope.vals) if (!g.initializers.has(name)) this.track(-bytesOf(v));
    const res = g.outputs.map((o) => {
      const v = scope.get(o);
      if (!v) throw new AmpError(`graph output '${o}' of '${g.name}' was not computed`);
      return v;
    });
    if (want)
      for (const w of want) {
        const v = scope.get(w);
        if (v) res.push(v);
      }
    return res;
  }

  /** Drops the values no later node reads, recycling the buffers this run made that nothing else holds. */
  private freeAfterNode(scope: Scope, names: string[], g: Graph, refs: Map<object, number>, want?: Set<string>): void {
    for (const f of names) {
      const v = scope.vals.get(f);
      if (v && !want?.has(f) && !g.initializers.has(f)) {
        scope.vals.delete(f);
        this.track(-bytesOf(v));
        const r = refs.get(v.data);
        if (r === 1) {
          refs.delete(v.data);
          this.pool.give(v.data);
        } else if (r) refs.set(v.data, r - 1);
      }
    }
  }

  /** Checks feeds against the model's declared inputs: presence, element type, static dims. */
  private checkFeeds(feeds: Record<string, RTensor>): RTensor[] {
    const g = this.model.graph;
    checkFeedNames(g, feeds);
    return g.inputs.map((name) => {
      const t = feeds[name];
      if (!t) {
        if (g.initializers.has(name)) return this.initializer(g.initializers.get(name)!);
        throw missingInput(name);
      }
      checkFeed(g, name, t);
      return t;
    });
  }

  /** Runs the model; problems are AmpErrors naming the model's file. */
  runSync(feeds: Record<string, RTensor>, opts: RunOptions = {}): Record<string, RTensor> {
    try {
      return this.runModel(feeds, opts);
    } catch (e) {
      throw e instanceof AmpError && !e.file && this.model.file ? e.reissue(e.message, this.model.file) : e;
    }
  }
  private runModel(feeds: Record<string, RTensor>, opts: RunOptions): Record<string, RTensor> {
    const g = this.model.graph;
    const inputs = this.checkFeeds(feeds);
    this.onValue = opts.onValue;
    this.peakLiveBytes = this.live = 0;
    if (opts.onValue)
      g.inputs.forEach((name, i) => {
        if (!g.initializers.has(name)) opts.onValue!(name, inputs[i]);
      });
    const extra = (opts.outputs ?? []).filter((o) => !g.outputs.includes(o));
    const want = new Set(extra);
    this.recycle = !opts.onValue;
    try {
      const res = withPool(this.recycle ? this.pool : undefined, () => this.runGraph(g, inputs, undefined, want));
      const all: Record<string, RTensor> = {};
      g.outputs.forEach((o, i) => {
        all[o] = res[i];
      });
      extra.forEach((o, i) => {
        if (res[g.outputs.length + i]) all[o] = res[g.outputs.length + i];
      });
      const names = opts.outputs ?? g.outputs;
      for (const n of names) if (!all[n]) throw new AmpError(`'${n}' is not a value of the model`);
      // Initializers are views of the model's weights: a caller gets its own copy.
      const initial = new Set(this.inits.values());
      const own = (t: RTensor): RTensor =>
        initial.has(t) ? { ...t, dims: [...t.dims], data: t.data.slice() as typeof t.data } : t;
      return Object.fromEntries(names.map((n) => [n, own(all[n])]));
    } finally {
      this.onValue = undefined;
    }
  }
  private carried = new HostCarry();
  async run(feeds: Record<string, RTensor>, opts: RunOptions = {}): Promise<Record<string, RTensor>> {
    const outs = this.model.graph.outputs;
    const res = this.runSync(this.carried.feeds(feeds), {
      ...opts,
      outputs: this.carried.outputs(opts.outputs, outs, opts.carry),
    });
    return this.carried.keep(res, opts.outputs, outs, opts.carry);
  }
  /** A value carried for input `name` (RunOptions.carry). */
  async readCarried(name: string): Promise<RTensor> {
    return this.carried.read(name);
  }
  /**
   * Runs one node — control flow included — with values outside it supplied by `outer` (another runtime's
   * values: the WebGPU executor runs If/Loop/Scan this way).
   */
  runNode(node: Node, inputs: (RTensor | undefined)[], outer: (name: string) => RTensor | undefined): RTensor[] {
    const saved = this.current;
    this.current = new Scope(undefined, outer);
    try {
      return cpuKernels[node.key](node, inputs, this.ctx);
    } finally {
      this.current = saved;
    }
  }
  dispose(): void {
    this.inits.clear();
    this.carried.clear();
  }
}

/** Runs one node on given inputs (outside any graph run): the diff report's per-node attribution. */
export function executeNode(
  node: Node,
  inputs: (RTensor | undefined)[],
  opts: ExecutorOptions & { opset?: number } = {},
): RTensor[] {
  const kernel = lookupOwn(cpuKernels, node.key);
  if (!kernel) throw new AmpError(`the CPU executor has no kernel for ${node.opType} (node '${node.label}')`);
  const ctx: KernelContext = {
    fp16Accumulate: !!opts.fp16Accumulate,
    opset: opts.opset ?? 17,
    runGraph: () => {
      throw new AmpError(`executeNode cannot run the subgraphs of '${node.label}'`);
    },
  };
  return kernel(node, inputs, ctx);
}
