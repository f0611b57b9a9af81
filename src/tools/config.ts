/** The `--config` JSON file: read, checked key by key, and merged under the options given explicitly. */
import { readInputFile, READ_LIMITS } from '../core/fs.js';
import { AmpError } from '../core/errors.js';
import { positive, runtimeName, type ConvertOptions } from '../../passes/options.js';

/** The keys a config file may hold (the options of the same names). */
export const CONFIG_KEYS: ReadonlySet<string> = new Set([
  'target',
  'keepIoTypes',
  'allow',
  'deny',
  'keepFp32',
  'clamp',
  'maxInit',
  'minPositive',
  'underflowMass',
  'runtime',
  'opset',
]);

/** A config file's options, each key checked (one line naming the file and the key on a bad one). */
export function readConfig(path: string): ConvertOptions {
  const text = readInputFile(path, 'config', READ_LIMITS.config).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AmpError(`config is not valid JSON: ${(e as Error).message}`, path);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new AmpError('config must be a JSON object', path);
  for (const k of Object.keys(json))
    if (!CONFIG_KEYS.has(k))
      throw new AmpError(`unknown config key '${k}' (expected ${[...CONFIG_KEYS].join(', ')})`, path);
  const c = json as Record<string, unknown>;
  const strList = (k: string) => {
    if (c[k] === undefined) return;
    if (!Array.isArray(c[k]) || !(c[k] as unknown[]).every((x) => typeof x === 'string'))
      throw new AmpError(`config key '${k}' must be a list of strings`, path);
  };
  ['allow', 'deny', 'keepFp32'].forEach(strList);
  if (c.target !== undefined && c.target !== 'fp16' && c.target !== 'bf16')
    throw new AmpError(`config key 'target' must be "fp16" or "bf16"`, path);
  if (c.keepIoTypes !== undefined && typeof c.keepIoTypes !== 'boolean') strList('keepIoTypes');
  // Every key has one type: a string where a boolean belongs ("clamp": "no") is an error, not truthy.
  if (c.clamp !== undefined && typeof c.clamp !== 'boolean')
    throw new AmpError(`config key 'clamp' must be true or false (got ${JSON.stringify(c.clamp)})`, path);
  for (const k of ['maxInit', 'minPositive', 'underflowMass']) positive(c[k], k, path);
  runtimeName(c.runtime, path);
  if (c.opset !== undefined && !Number.isInteger(c.opset))
    throw new AmpError(`config key 'opset' must be a whole number (got ${JSON.stringify(c.opset)})`, path);
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
