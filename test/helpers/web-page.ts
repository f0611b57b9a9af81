/**
 * The static page in real Chromium: builds it (scripts/web.config.ts) into a temp folder, serves it from
 * 127.0.0.1 (a secure context, with the cross-origin isolation headers) and opens it in Debian's headless
 * Chromium with WebGPU on (SwiftShader: no shader-f16), driven by playwright-core.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { tmpdir } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../src/tools/report/screenshot.js';

export const chromiumPresent = existsSync(CHROMIUM);
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
};

export interface WebPage {
  page: Page;
  url: string;
  errors: string[];
  close(): Promise<void>;
}

/** `files`: served beside the page (models for the bench); `path`: the page to open (default index.html). */
export async function openWebPage(opts: { files?: Record<string, Uint8Array>; path?: string } = {}): Promise<WebPage> {
  const { build } = await import('vite');
  const { default: config, ISOLATION_HEADERS } = await import('../../scripts/web.config.js');
  const outDir = mkdtempSync(join(tmpdir(), 'amp-web-'));
  await build({ ...config, configFile: false, logLevel: 'error', build: { ...config.build, outDir } });
  for (const [name, bytes] of Object.entries(opts.files ?? {})) writeFileSync(join(outDir, name), bytes);
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
      /^(\.\.[/\\])+/,
      '',
    );
    const file = join(outDir, path === '/' ? 'index.html' : path);
    if (!file.startsWith(outDir) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...ISOLATION_HEADERS });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const { chromium } = await import('playwright-core');
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS.filter((a) => a !== '--disable-gpu'), '--enable-unsafe-webgpu', '--enable-features=Vulkan'],
  });
  const page = await browser.newPage({ acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(url) && !/^(data|blob|about):/.test(r.url())) errors.push(`network request: ${r.url()}`);
  });
  await page.goto(url + (opts.path ?? ''));
  return {
    page,
    url,
    errors,
    close: async () => {
      await browser.close();
      await new Promise((r) => server.close(r));
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
