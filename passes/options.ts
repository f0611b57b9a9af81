/** Options of the mixed-precision conversion, shared by the library API, the CLI and config files. */
import { readInputFile, READ_LIMITS } from '../src/core/fs.js';
import { AmpError } from '../src/core/errors.js';
import { RUNTIMES, noBf16, type RuntimeName } from './runtimes.js';
import type { Tensor } from '../src/ir/tensor.js';

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
}

/**
 * A faster scan of an fp32 tensor (ResolvedOptions.scanF32): the counts of step 2's scanChunk over the whole
 * payload, with `tinyBits` the bits of minPositive; given `emit`, the payload's fp16 bits (as f32ArrayToF16)
 * go to it in order, chunk by chunk (views valid during the call).
 */
export type ScanF32 = (t: Tensor, tinyBits: number, emit?: (bits: Uint16Array) => void) => RangeCounts;
/** What a range scan counts (step 2's scanChunk): largest |x| as bits, the count and mass below minPositive, the values fp16 rounds to zero. */
export interface RangeCounts { maxBits: number; tiny: number; flushed: number; zeroed: number }

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
}

const KEYS = new Set(['target', 'keepIoTypes', 'allow', 'deny', 'keepFp32', 'clamp', 'maxInit', 'minPositive', 'underflowMass', 'runtime', 'opset']);

export function readConfig(path: string): ConvertOptions {
  let text: string;
  text = readInputFile(path, 'config', READ_LIMITS.config).toString('utf8');
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new AmpError(`config is not valid JSON: ${(e as Error).message}`, path); }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new AmpError('config must be a JSON object', path);
  for (const k of Object.keys(json)) if (!KEYS.has(k)) throw new AmpError(`unknown config key '${k}' (expected ${[...KEYS].join(', ')})`, path);
  const c = json as Record<string, unknown>;
  const strList = (k: string) => {
    if (c[k] === undefined) return;
    if (!Array.isArray(c[k]) || !(c[k] as unknown[]).every((x) => typeof x === 'string')) throw new AmpError(`config key '${k}' must be a list of strings`, path);
  };
  ['allow', 'deny', 'keepFp32'].forEach(strList);
  if (c.target !== undefined && c.target !== 'fp16' && c.target !== 'bf16') throw new AmpError(`config key 'target' must be "fp16" or "bf16"`, path);
  if (c.keepIoTypes !== undefined && typeof c.keepIoTypes !== 'boolean') strList('keepIoTypes');
  // Every key has one type: a string where a boolean belongs ("clamp": "no") is an error, not truthy.
  if (c.clamp !== undefined && typeof c.clamp !== 'boolean') throw new AmpError(`config key 'clamp' must be true or false (got ${JSON.stringify(c.clamp)})`, path);
  for (const k of ['maxInit', 'minPositive', 'underflowMass']) positive(c[k], k, path);
  runtimeName(c.runtime, path);
  if (c.opset !== undefined && !Number.isInteger(c.opset)) throw new AmpError(`config key 'opset' must be a whole number (got ${JSON.stringify(c.opset)})`, path);
  return c as ConvertOptions;
}

/**
 * The options with their config file read in: the file's keys, then every option given explicitly (undefined
 * means not given) — so a key in the file holds unless the caller sets it.
 */
export function withConfig(o: ConvertOptions): ConvertOptions {
  if (!o.config) return o;
  const given = Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'config'));
  return { ...readConfig(o.config), ...given };
}

/** "/re/flags" → RegExp; anything else is an exact node name. */
export function parseNamePattern(s: string | RegExp): string | RegExp {
  if (s instanceof RegExp) return s;
  const m = /^\/(.*)\/([a-z]*)$/.exec(s);
  if (!m) return s;
  try { return new RegExp(m[1], m[2]); } catch (e) { throw new AmpError(`invalid regular expression ${s}: ${(e as Error).message}`); }
}

function runtimeName(v: unknown, file?: string): RuntimeName {
  if (v === undefined) return 'portable';
  if (typeof v !== 'string' || !Object.hasOwn(RUNTIMES, v)) throw new AmpError(`runtime must be one of ${Object.keys(RUNTIMES).join(', ')} (got ${JSON.stringify(v)})`, file);
  return v as RuntimeName;
}

function positive(v: unknown, key: string, file?: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v >= 0)) throw new AmpError(`option '${key}' must be a number ≥ 0 (got ${JSON.stringify(v)})`, file);
  return v;
}

export function resolveOptions(o: ConvertOptions = {}): ResolvedOptions {
  const m = withConfig(o);
  const both = (m.allow ?? []).filter((x) => (m.deny ?? []).includes(x));
  if (both.length) throw new AmpError(`op types both allowed and denied: ${both.join(', ')}`, o.config);
  const pats = (m.keepFp32 ?? []).map(parseNamePattern);
  const ioPats = Array.isArray(m.keepIoTypes) ? m.keepIoTypes.map(parseNamePattern) : [];
  const runtime = runtimeName(m.runtime, o.config);
  if (m.target === 'bf16' && noBf16(runtime)) throw new AmpError(`runtime ${runtime} has no bf16 kernels (${RUNTIMES[runtime].description}): convert to fp16`, o.config);
  return {
    target: m.target ?? 'fp16',
    keepIoTypes: Array.isArray(m.keepIoTypes) ? new Set(ioPats.filter((p): p is string => typeof p === 'string')) : m.keepIoTypes ?? false,
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
  };
}
