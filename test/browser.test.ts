/**
 * The browser entry and the static page in real Chromium (headless, WebGPU on SwiftShader: no shader-f16, the
 * emulated-f16 path browsers without it take). Each fixture is converted in the page — the same bytes as the
 * Node API gives for the same options — and its converted model runs on the page's WebGPU, matching the CPU
 * reference; the page's upload → convert → download gives the CLI's output byte for byte.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { convert } from '../src/tools/convert.js';
import { encodeModel, loadModel } from '../src/onnx/io.js';
import { readInputSets } from '../src/tools/inputs.js';
import { readCsv } from '../runtime/train/data.js';
import { fixtureModelPath } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';
import { chromiumPresent, openWebPage, type WebPage } from './helpers/web-page.js';
import { repoRoot } from './helpers/nodetests.js';

if (!chromiumPresent) console.log('browser tests skipped: no chromium (scripts/setup-system.sh installs it)');
const FIXTURES = readdirSync(join(repoRoot, 'fixtures/models'))
  .filter((f) => f.endsWith('.onnx'))
  .map((f) => f.replace(/\.onnx$/, ''));

describe.skipIf(!chromiumPresent)('amp-convert in the browser (Chromium, WebGPU on SwiftShader)', () => {
  let web: WebPage;
  beforeAll(async () => {
    web = await openWebPage();
  }, 120_000);
  afterAll(async () => {
    await web?.close();
  });

  it('the page loads from 127.0.0.1 cross-origin isolated, with WebGPU and without a network request', async () => {
    const env = await web.page.evaluate(() => ({
      isolated: globalThis.crossOriginIsolated,
      gpu: 'gpu' in navigator,
      api: typeof (globalThis as { amp?: object }).amp,
    }));
    expect(env).toEqual({ isolated: true, gpu: true, api: 'object' });
    expect(web.errors).toEqual([]);
  });

  it.each(FIXTURES)(
    '%s: converted and verified in the page on its input sets (the Node API’s bytes), run on WebGPU matching the CPU reference',
    async (name) => {
      const bytes = readFileSync(fixtureModelPath(name));
      const sets = readInputSets(loadModel(fixtureModelPath(name)), join(repoRoot, 'fixtures/inputs', name));
      const node = await convert(new Uint8Array(bytes), { inputs: sets });
      const json = sets.map((s) =>
        Object.fromEntries(
          Object.entries(s).map(([k, t]) => [
            k,
            { dtype: t.dtype, dims: t.dims, data: Array.from(t.data as ArrayLike<number | bigint>, Number) },
          ]),
        ),
      );
      const r = await web.page.evaluate(
        async ([b, n, js]) => {
          const amp = (globalThis as unknown as { amp: typeof import('../src/browser/index.js') }).amp;
          const inputs = js.map((s) => amp.tensorsFromJson(s));
          const c = await amp.convertModel(new Uint8Array(b), { name: n, inputs });
          const g = await amp.checkOnWebGpu(c.bytes, inputs[0]);
          return { bytes: [...c.bytes], status: c.result.verification.status, text: c.text, g };
        },
        [[...bytes], `${name}.onnx`, json] as const,
      );
      expect(node.verification.status).toBe('verified');
      expect(r.status).toBe(node.verification.status);
      expect(Buffer.from(r.bytes).equals(Buffer.from(encodeModel(node.model)))).toBe(true);
      expect(r.text).toMatch(new RegExp(`^${name}\\.onnx → ${name}\\.fp16\\.onnx \\(fp16\\)`));
      expect(r.g.shaderF16).toBe(false);
      expect(r.g.gpuNodes).toBeGreaterThan(0);
      for (const o of r.g.outputs) {
        // The same fp16 storage semantics as the CPU oracle (emulated: every store rounds to fp16), f32 arithmetic in
        // another order: agreement to a few fp16 ulps of the output's scale.
        expect(o.scaled, `${name} ${o.name}`).toBeLessThan(1e-2);
        expect(o.cosine, `${name} ${o.name}`).toBeGreaterThan(0.9999);
      }
      expect(web.errors).toEqual([]);
    },
    120_000,
  );

  it('the page: upload a model, convert, download — the bytes of `amp-convert model.onnx` — with the summary and report shown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amp-web-e2e-'));
    const src = fixtureModelPath('cnn');
    const out = join(dir, 'cnn.fp16.onnx');
    expect(cli([src, '-o', out]).code).toBe(0);
    await web.page.setInputFiles('#file', src);
    await web.page.waitForFunction(
      () => /converted and verified|failed/.test(document.getElementById('status')!.textContent ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    expect(await web.page.textContent('#status')).toBe('cnn.onnx: converted and verified');
    const summary = (await web.page.textContent('#summary')) ?? '';
    expect(summary).toMatch(/^cnn\.onnx → cnn\.fp16\.onnx \(fp16\)\nnodes: /);
    expect(summary).toMatch(/\nverified on 2 synthesized input set\(s\)/);
    const report = web.page.frameLocator('#report-frame');
    expect(await report.locator('h1').textContent()).toBe('cnn.onnx → cnn.fp16.onnx');
    const [download] = await Promise.all([web.page.waitForEvent('download'), web.page.click('#download')]);
    expect(download.suggestedFilename()).toBe('cnn.fp16.onnx');
    const got = readFileSync((await download.path())!);
    expect(got.equals(readFileSync(out))).toBe(true);
    await web.page.click('#gpu');
    await web.page.waitForFunction(
      () => /cosine|WebGPU:/.test(document.getElementById('gpu-result')!.textContent ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    expect(await web.page.textContent('#gpu-result')).toMatch(
      /^WebGPU adapter: .*no shader-f16.*\n\d+ nodes on the GPU/,
    );
    expect(web.errors).toEqual([]);
  }, 180_000);

  it('the training check in the page: fp32, AMP with loss scaling, without, bf16 — the step on WebGPU, no crossing', async () => {
    const d = readCsv(join(repoRoot, 'fixtures/data/digits.csv.gz'), -1);
    const data = { ...d, xTrain: [...d.xTrain], yTrain: [...d.yTrain], xTest: [...d.xTest], yTest: [...d.yTest] };
    const r = await web.page.evaluate(async (json) => {
      const amp = (globalThis as unknown as { amp: typeof import('../src/browser/index.js') }).amp;
      const rep = await amp.trainCheckInPage(json, { epochs: 2, seeds: [1] });
      return {
        backend: rep.backend,
        modes: rep.modes.map((m) => ({ mode: m.mode, acc: m.accMean, crossings: m.crossings })),
      };
    }, data);
    expect(r.backend).toBe('webgpu');
    expect(r.modes.map((m) => m.mode)).toEqual(['fp32', 'amp', 'amp-noscale', 'amp-bf16']);
    for (const m of r.modes) expect(m.crossings, m.mode).toBe(0);
    const acc = Object.fromEntries(r.modes.map((m) => [m.mode, m.acc]));
    expect(acc.fp32).toBeGreaterThan(0.9);
    expect(Math.abs(acc.amp - acc.fp32)).toBeLessThan(0.03);
    expect(web.errors).toEqual([]);
  }, 180_000);
});
