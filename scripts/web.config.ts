/**
 * The static page (src/browser/page): `npm run web` serves it, `npm run build:web` writes it to out/web. The page
 * imports the browser entry, which imports the public API; Node's built-ins and the Node-only packages in that
 * graph are mapped to stubs that throw if called — the browser paths never call them (files, worker threads,
 * onnxruntime-node, Dawn). The server sends the cross-origin isolation headers the CPU executor's shared
 * WebAssembly memory needs.
 */
import { defineConfig, type Plugin } from 'vite';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Packages only Node runs (optional backends, bindings, the report screenshot): stubbed in the page. */
const NODE_ONLY = ['onnxruntime-node', 'ts-morph', 'webgpu', 'playwright-core'];
/** Stubs that answer instead of throwing: module-level defaults the page then overrides or never needs. */
const ANSWERS: Record<string, string> = {
  totalmem: '() => 4 * 2 ** 30',
  availableParallelism: '() => 1',
  cpus: '() => [{}]',
  tmpdir: "() => '/tmp'",
};
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The names the sources import from each stubbed module (static and `await import(...)` destructuring). */
function importedNames(): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  const add = (mod: string, list: string) => {
    const set = names.get(mod) ?? new Set<string>();
    for (const part of list.split(',')) {
      const n = part
        .replace(/^\s*type\s+/, '')
        .split(/\s+as\s+/)[0]
        .trim();
      if (n) set.add(n);
    }
    names.set(mod, set);
  };
  for (const f of ['src', 'passes', 'runtime'].flatMap((d) => sources(join(ROOT, d)))) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g)) add(m[2], m[1]);
    for (const m of text.matchAll(/\{([^}]*)\}\s*=\s*await\s+import\('([^']+)'\)/g)) add(m[2], m[1]);
  }
  return names;
}

function nodeStubs(): Plugin {
  const names = importedNames();
  const stubbed = (id: string) => id.startsWith('node:') || NODE_ONLY.includes(id);
  return {
    name: 'amp-node-stubs',
    enforce: 'pre',
    resolveId: (id) => (stubbed(id) ? `\0stub:${id}` : undefined),
    load(id) {
      if (!id.startsWith('\0stub:')) return undefined;
      const mod = id.slice('\0stub:'.length);
      const fail = (n: string) =>
        `function () { throw new Error(${JSON.stringify(`${mod} (${n}) is not available in the browser`)}); }`;
      const exports = [...(names.get(mod) ?? [])].map((n) => `export const ${n} = ${ANSWERS[n] ?? fail(n)};`);
      return `${exports.join('\n')}\nexport default new Proxy({}, { get: (_, k) => ${fail('default')} });\n`;
    },
  };
}

export default defineConfig({
  root: join(ROOT, 'src/browser/page'),
  base: './',
  plugins: [nodeStubs()],
  // Node's globals the sources read where they run in Node; undefined in the page.
  define: { 'process.env.AMP_CHROMIUM': 'undefined' },
  build: {
    outDir: join(ROOT, 'out/web'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    // The page, and the in-page bench (bench/webgpu-page.ts), which alone bundles onnxruntime-web.
    rollupOptions: {
      input: { index: join(ROOT, 'src/browser/page/index.html'), bench: join(ROOT, 'src/browser/page/bench.html') },
    },
  },
  server: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  optimizeDeps: { exclude: NODE_ONLY },
});
