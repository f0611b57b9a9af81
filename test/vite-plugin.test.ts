/**
 * The Vite plugin (src/vite/index.ts) in a real `vite build` of a tiny app made at test time:
 * `import url from './net.onnx?fp16'` emits the converted model as an asset — byte-identical to what
 * convert() + saveModel make with the same options — the bundle references its URL, a second build takes the
 * conversion from the cache, and `bindings: true` writes typed bindings beside the model.
 */
import { describe, it, expect } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { build } from 'vite';
import ampConvert from '../src/vite/index.js';
import { convert, loadModel, saveModel } from '../src/index.js';
import { fixturePath } from './helpers/nodetests.js';

describe('Vite plugin', () => {
  it('converts at build time, emits the asset, caches, and writes bindings', async () => {
    const root = mkdtempSync(join(tmpdir(), 'amp-vite-'));
    copyFileSync(fixturePath('models', 'mlp.onnx'), join(root, 'net.onnx'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
    writeFileSync(join(root, 'main.js'), "import url from './net.onnx?fp16';\ndocument.body.dataset.model = url;\n");
    const cacheDir = join(root, 'cache');
    const go = () =>
      build({
        root,
        logLevel: 'silent',
        configFile: false,
        plugins: [ampConvert({ cacheDir, bindings: true, convert: { keepIoTypes: true } }) as never],
        build: { outDir: join(root, 'dist'), emptyOutDir: true },
      });
    await go();
    const assets = readdirSync(join(root, 'dist/assets'));
    const onnx = assets.find((f) => /^net\.fp16-[\w-]+\.onnx$/.test(f));
    expect(onnx, assets.join(', ')).toBeDefined();
    const js = assets
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(root, 'dist/assets', f), 'utf8'))
      .join('\n');
    expect(js).toContain(onnx!);
    // The asset is the converted model, as the API makes it with the same options.
    const want = join(root, 'want.onnx');
    saveModel((await convert(loadModel(join(root, 'net.onnx')), { target: 'fp16', keepIoTypes: true })).model, want, {
      inline: true,
    });
    expect(readFileSync(join(root, 'dist/assets', onnx!)).equals(readFileSync(want))).toBe(true);
    expect(
      loadModel(join(root, 'dist/assets', onnx!))
        .graph.initializers.values()
        .next().value!.dataType,
    ).toBe(10);
    expect(existsSync(join(root, 'net.onnx.fp16.ts'))).toBe(true);
    // Second build: served from the cache (the cached file is not rewritten).
    const [cached] = readdirSync(cacheDir);
    const mtime = statSync(join(cacheDir, cached)).mtimeMs;
    await go();
    expect(readdirSync(cacheDir)).toEqual([cached]);
    expect(statSync(join(cacheDir, cached)).mtimeMs).toBe(mtime);
  }, 120_000);
});
