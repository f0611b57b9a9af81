/**
 * Renders an HTML report in Debian's headless Chromium (driven by playwright-core) and returns a PNG plus
 * what the page shows, so scripts and tests can check the report looks right in a real browser.
 */
import { existsSync } from 'node:fs';

export interface PageCheck {
  png: Buffer;
  errors: string[];
  plotPoints: number;
  rankedRows: number;
  height: number;
  title: string;
}

export const CHROMIUM = process.env.AMP_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function screenshotReport(htmlPath: string): Promise<PageCheck> {
  if (!existsSync(CHROMIUM))
    throw new Error(`chromium not found at ${CHROMIUM} (apt-get install chromium, or set AMP_CHROMIUM)`);
  // playwright-core is a devDependency: reports are checked in development and CI, not at run time.
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) errors.push(`network request: ${r.url()}`);
    });
    await page.goto(`file://${htmlPath}`);
    const info = await page.evaluate(() => ({
      plotPoints: document.querySelectorAll('#error-plot circle').length,
      rankedRows: document.querySelectorAll('#ranked tr').length - 1,
      height: document.body.scrollHeight,
      title: document.title,
    }));
    // Headless Chromium under heavy load occasionally fails a capture ("Unable to capture screenshot"): retry.
    let png: Buffer | undefined;
    for (let attempt = 0; !png; attempt++) {
      try {
        png = await page.screenshot({ fullPage: true });
      } catch (e) {
        if (attempt >= 2) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    return { png, errors, ...info };
  } finally {
    await browser.close();
  }
}
