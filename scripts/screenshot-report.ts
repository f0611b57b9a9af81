/** Usage: tsx scripts/screenshot-report.ts report.html [out.png] — render a report in headless Chromium. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { screenshotReport } from '../src/tools/report/screenshot.js';

const [html, png = html.replace(/\.html?$/, '') + '.png'] = process.argv.slice(2);
if (!html) {
  console.error('usage: tsx scripts/screenshot-report.ts report.html [out.png]');
  process.exit(2);
}
const r = await screenshotReport(resolve(html));
writeFileSync(png, r.png);
console.log(
  `${png}: ${r.plotPoints} plotted nodes, ${r.rankedRows} ranked rows, page height ${r.height}px, ${r.errors.length} console errors`,
);
for (const e of r.errors) console.log(`  ${e}`);
