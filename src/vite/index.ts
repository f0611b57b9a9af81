/**
 * A Vite plugin (Rollup-compatible hooks): `import modelUrl from './net.onnx?fp16'` (or `?bf16`) converts the
 * model at build time — verified, as `amp-convert net.onnx` would — and emits the converted model as an asset;
 * the import is its URL. Conversions are cached by the input's bytes, the options and this package's version,
 * so a rebuild does not convert again. `bindings: true` also writes typed bindings beside the source model
 * (`net.onnx.fp16.ts`, see emitBindings). Like the CLI, it uses only the public API.
 *
 *   // vite.config.ts
 *   import ampConvert from 'amp-convert/vite';
 *   export default { plugins: [ampConvert({ convert: { keepIoTypes: true } })] };
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  convert,
  loadModel,
  saveModel,
  emitBindings,
  writeFileAtomic,
  formatVerification,
  type ConvertRunOptions,
} from '../index.js';

export interface AmpConvertPluginOptions {
  /** Options of the conversion (target comes from the import's query). */
  convert?: Omit<ConvertRunOptions, 'target' | 'inputs'>;
  /** Where converted models are cached (default: Vite's cache directory + /amp-convert). */
  cacheDir?: string;
  /** Also write typed bindings beside each source model (`<model>.<target>.ts`). */
  bindings?: boolean;
}

/** The structural subset of Vite's/Rollup's plugin context and config this plugin uses. */
interface Ctx {
  resolve(id: string, importer?: string, o?: { skipSelf?: boolean }): Promise<{ id: string } | null>;
  emitFile(f: { type: 'asset'; name: string; source: Uint8Array }): string;
  addWatchFile(id: string): void;
  error(msg: string): never;
  warn(msg: string): void;
}
/** The plugin object (Vite's Plugin shape; typed structurally so this package does not depend on Vite). */
export interface AmpConvertPlugin {
  name: string;
  enforce: 'pre';
  configResolved(c: { root: string; command: 'build' | 'serve'; cacheDir?: string }): void;
  resolveId(this: Ctx, id: string, importer?: string): Promise<string | null>;
  load(this: Ctx, id: string): Promise<string | null>;
}

const QUERY = /\?(fp16|bf16)$/;
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const f = join(dir, 'package.json');
    if (existsSync(f)) return (JSON.parse(readFileSync(f, 'utf8')) as { version: string }).version;
  }
  return '0';
}

/** The amp-convert Vite plugin (see the module comment). */
export default function ampConvert(opts: AmpConvertPluginOptions = {}): AmpConvertPlugin {
  let command: 'build' | 'serve' = 'build';
  let cacheDir = opts.cacheDir ?? resolve('node_modules/.vite/amp-convert');
  const version = packageVersion();
  return {
    name: 'amp-convert',
    enforce: 'pre',
    configResolved(c) {
      command = c.command;
      cacheDir = opts.cacheDir ?? join(c.cacheDir ?? join(c.root, 'node_modules/.vite'), 'amp-convert');
    },
    async resolveId(id, importer) {
      const m = QUERY.exec(id);
      if (!m) return null;
      const r = await this.resolve(id.slice(0, -m[0].length), importer, { skipSelf: true });
      return r ? `${r.id}?${m[1]}` : null;
    },
    async load(id) {
      const m = QUERY.exec(id);
      if (!m) return null;
      const file = id.slice(0, -m[0].length),
        target = m[1] as 'fp16' | 'bf16';
      this.addWatchFile(file);
      const key = createHash('sha256')
        .update(readFileSync(file))
        .update(JSON.stringify({ target, ...opts.convert, version }))
        .digest('hex')
        .slice(0, 24);
      const cached = join(cacheDir, `${key}.onnx`);
      if (!existsSync(cached)) {
        const r = await convert(loadModel(file), { ...opts.convert, target });
        if (r.verification.status === 'failed')
          this.error(
            `amp-convert: ${file}: the ${target} model does not meet the tolerance:\n${formatVerification(r.verification).join('\n')}`,
          );
        if (r.verification.status === 'unverified')
          this.warn(`amp-convert: ${file}: ${r.verification.note ?? 'not verified'}`);
        mkdirSync(cacheDir, { recursive: true });
        // One self-contained file: the asset is served alone, so external data comes inline.
        const saved = saveModel(r.model, cached, { inline: true, force: true });
        if (saved.externalFile)
          this.error(`amp-convert: ${file}: the ${target} model is larger than 2 GB and cannot be one asset`);
        if (opts.bindings)
          writeFileAtomic(`${file}.${target}.ts`, await emitBindings(r.model, `${basename(file)}?${target}`), {
            force: true,
            protect: [file],
          });
      }
      if (command === 'serve') return `export default ${JSON.stringify(`/@fs${cached}`)};`;
      const ref = this.emitFile({
        type: 'asset',
        name: `${basename(file).replace(/\.onnx$/i, '')}.${target}.onnx`,
        source: readFileSync(cached),
      });
      return `export default import.meta.ROLLUP_FILE_URL_${ref};`;
    },
  };
}
