/**
 * `npm run docs:screenshot`: the README's picture of the precision-diff report — bad_variance converted
 * without verification, diffed on its bundled inputs, rendered in headless Chromium — to api/diff-report.png.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { convert, loadModel, diff, renderHtml, readInputs } from '../src/index.js';
import { screenshotReport } from '../src/tools/report/screenshot.js';

const original = loadModel('fixtures/models/bad_variance.onnx');
const { model } = await convert(loadModel('fixtures/models/bad_variance.onnx'), { verify: false });
const r = await diff(original, model, readInputs(original, 'fixtures/inputs/bad_variance'));
const dir = mkdtempSync(join(tmpdir(), 'amp-docs-'));
writeFileSync(join(dir, 'r.html'), renderHtml(r, 'bad_variance.onnx vs bad_variance.fp16.onnx', 5));
const page = await screenshotReport(join(dir, 'r.html'));
if (page.errors.length) throw new Error(`the page has errors: ${page.errors.join('; ')}`);
writeFileSync('api/diff-report.png', page.png);
console.log(`api/diff-report.png: ${page.png.length} bytes, page height ${page.height} px`);
