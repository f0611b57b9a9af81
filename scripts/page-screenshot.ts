/**
 * `npm run docs:page`: the README's picture of the static page (npm run web) — the cnn fixture dropped in,
 * converted and verified in the page, run on WebGPU — in headless Chromium, to api/web-page.png.
 */
import { writeFileSync } from 'node:fs';
import { openWebPage } from '../test/helpers/web-page.js';

const web = await openWebPage();
try {
  await web.page.setViewportSize({ width: 1000, height: 900 });
  await web.page.setInputFiles('#file', 'fixtures/models/cnn.onnx');
  await web.page.waitForFunction(() => /verified|failed/.test(document.getElementById('status')!.textContent ?? ''));
  await web.page.click('#gpu');
  await web.page.waitForFunction(() => /cosine|WebGPU:/.test(document.getElementById('gpu-result')!.textContent ?? ''));
  if (web.errors.length) throw new Error(`the page has errors: ${web.errors.join('; ')}`);
  const png = await web.page.screenshot({ fullPage: false });
  writeFileSync('api/web-page.png', png);
  console.log(`api/web-page.png: ${png.length} bytes`);
} finally {
  await web.close();
}
