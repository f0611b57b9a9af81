/** Options of the mixed-precision conversion, shared by the library API, the CLI and config files. */
import { AmpError } from '../src/core/errors.js';
import { RUNTIMES, noBf16, type RuntimeName } from './runtimes.js';
import { RangeCache, type ScanF32 } from './lib/ranges.js';
export type { ScanF32, RangeCounts } from './lib/ranges.js';

/** Options of the mixed-precision pass itself (also the keys of a `--config` JSON file). */
export interface ConvertOptions {
  /** Low-precision type: 'fp16' (default) or 'bf16'. */
  target?: 'fp16' | 'bf16';
  /**
   * Keep the model's float inputs/outputs fp32 (casts at the edge): all of them (true), or those named — exact
   * names or /regex/ patterns (`['logits', '/^present\\./']`).
   */
  keepIoTypes?: boolean | (string | RegExp)[];
  /** Op types forced to the allow / deny class. */
  allow?: string[];
  deny?: string[];
  /** Nodes kept fp32, by exact name or /regex/ (string form "/re/flags" or a RegExp). */
  keepFp32?: (string | RegExp)[];
  /** Clamp constants beyond fp16's range to ±65504 instead of keeping their readers fp32 (the old behaviour). */
  clamp?: boolean;
  /** Constants with |x| above this keep their readers fp32 (default 65504 for fp16; none for bf16). */
  maxInit?: number;
  /** Nonzero constant values below this count as lost to underflow (default 2^-24 for fp16; none for bf16). */
  minPositive?: number;
  /** A constant losing more than this share of its L1 mass to underflow keeps its reader fp32 (default 0.01). */
  underflowMass?: number;
  /** Raise the model's default-domain opset to this first (passes/upgrade.ts: version-converter rules). */
  opset?: number;
  /** The runtime the model is for: ops it cannot run in fp16/bf16 stay fp32 (passes/runtimes.ts; default 'portable': all known runtimes' limits). */
  runtime?: RuntimeName;
  /** Why a name in keepFp32 is kept (summaries group by it; default 'kept fp32 by name'). */
  keepReasons?: Record<string, string>;
  /**
   * Nodes (by name, or label when unnamed) that calibration saw within range: an op the policy denies for its
   * range alone (OpPolicy.range) is `infer` for these. convert() fills it from its calibration run.
   */
  rangeProven?: string[];
  /** A JSON file with the same keys; explicit options win over it. */
  config?: string;
  /**
   * f32 → fp16 bits for initializers, bit-identical to src/core/half.ts's (round to nearest even); the tools
   * pass the CPU executor's WebAssembly SIMD one, ~10× faster on large weights. Default: half.ts.
   */
  halfCodec?: (src: Float32Array, dst: Uint16Array) => void;
  /**
   * A float constant's range for step 2 and, streamed, its fp16 bits for step 7's tensors converted while written
   * (ScanF32); the tools pass the WebAssembly one, which reads a weight on disk straight into its memory and
   * converts it there. Default: the JS scan and halfCodec.
   */
  scanF32?: ScanF32;
  /**
   * Constant ranges already measured (passes/lib/ranges.ts): a caller converting copies of one model (the
   * verified conversion's restarts) passes one cache so the weights are scanned once. Default: a new one.
   */
  ranges?: RangeCache;
}

export interface ResolvedOptions {
  target: 'fp16' | 'bf16';
  /** Main-graph inputs/outputs that keep their types: all (true) or those named (and keepIoPatterns). */
  keepIoTypes: boolean | Set<string>;
  keepIoPatterns: RegExp[];
  allow: Set<string>;
  deny: Set<string>;
  keepNames: Set<string>;
  keepPatterns: RegExp[];
  clamp: boolean;
  maxInit?: number;
  minPositive?: number;
  underflowMass: number;
  keepReasons: Record<string, string>;
  rangeProven: Set<string>;
  runtime: RuntimeName;
  opset?: number;
  /** Step 6b: re-decide clear nodes for the fewest casts (on; tests turn it off to compare). */
  fewestCasts: boolean;
  halfCodec?: (src: Float32Array, dst: Uint16Array) => void;
  scanF32?: ScanF32;
  ranges: RangeCache;
}

/** "/re/flags" → RegExp; anything else is an exact node name. */
export function parseNamePattern(s: string | RegExp): string | RegExp {
  if (s instanceof RegExp) return s;
  const m = /^\/(.*)\/([a-z]*)$/.exec(s);
  if (!m) return s;
  try {
    return new RegExp(m[1], m[2]);
  } catch (e) {
    throw new AmpError(`invalid regular expression ${s}: ${(e as Error).message}`);
  }
}

/** A runtime profile's name, checked (the config reader names its file in the message). */
export function runtimeName(v: unknown, file?: string): RuntimeName {
  if (v === undefined) return 'portable';
  if (typeof v !== 'string' || !Object.hasOwn(RUNTIMES, v))
    throw new AmpError(`runtime must be one of ${Object.keys(RUNTIMES).join(', ')} (got ${JSON.stringify(v)})`, file);
  return v as RuntimeName;
}

/** A number option ≥ 0, checked. */
export function positive(v: unknown, key: string, file?: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v >= 0))
    throw new AmpError(`option '${key}' must be a number ≥ 0 (got ${JSON.stringify(v)})`, file);
  return v;
}

/**
 * The pass's options with defaults filled in and values checked. A config file is read by the tools
 * (src/tools/config.ts withConfig) before this: the pass reads no files.
 */
export function resolveOptions(o: ConvertOptions = {}): ResolvedOptions {
  const m = o;
  const both = (m.allow ?? []).filter((x) => (m.deny ?? []).includes(x));
  if (both.length) throw new AmpError(`op types both allowed and denied: ${both.join(', ')}`, o.config);
  const pats = (m.keepFp32 ?? []).map(parseNamePattern);
  const ioPats = Array.isArray(m.keepIoTypes) ? m.keepIoTypes.map(parseNamePattern) : [];
  const runtime = runtimeName(m.runtime, o.config);
  if (m.target === 'bf16' && noBf16(runtime))
    throw new AmpError(
      `runtime ${runtime} has no bf16 kernels (${RUNTIMES[runtime].description}): convert to fp16`,
      o.config,
    );
  return {
    target: m.target ?? 'fp16',
    keepIoTypes: Array.isArray(m.keepIoTypes)
      ? new Set(ioPats.filter((p): p is string => typeof p === 'string'))
      : (m.keepIoTypes ?? false),
    keepIoPatterns: ioPats.filter((p): p is RegExp => p instanceof RegExp),
    allow: new Set(m.allow ?? []),
    deny: new Set(m.deny ?? []),
    keepNames: new Set(pats.filter((p): p is string => typeof p === 'string')),
    keepPatterns: pats.filter((p): p is RegExp => p instanceof RegExp),
    clamp: m.clamp ?? false,
    maxInit: positive(m.maxInit, 'maxInit', o.config),
    minPositive: positive(m.minPositive, 'minPositive', o.config),
    underflowMass: positive(m.underflowMass, 'underflowMass', o.config) ?? 0.01,
    keepReasons: m.keepReasons ?? {},
    rangeProven: new Set(m.rangeProven ?? []),
    runtime,
    opset: m.opset,
    fewestCasts: true,
    halfCodec: m.halfCodec,
    scanF32: m.scanF32,
    ranges: m.ranges ?? new RangeCache(),
  };
}
