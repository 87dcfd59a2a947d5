/**
 * Reporting: the "ok - / not ok -" reporter whose counts end a run ("N passed, N failed"),
 * where screenshots and frame-times.md go, and a fresh page per suite with its screenshot and
 * page-error helpers. Part of harness.mjs (which re-exports it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DOCS } from './harness-process.mjs';

// ------------------------------------------------------------------------------------------
// Reporting

export function createReporter() {
  const results = [];
  return {
    results,
    record(name, ok, why = '') {
      results.push({ name, ok });
      console.log(ok ? `ok - ${name}` : `not ok - ${name}${why ? `\n  ${why}` : ''}`);
    },
    skip(name, reason) {
      console.log(`ok - ${name} # SKIP ${reason}`);
    },
    /** Run one check; a failure is reported (with a screenshot in /tmp) and rethrown to end the suite. */
    async check(name, fn, page) {
      const t = Date.now();
      try {
        await fn();
        results.push({ name, ok: true });
        console.log(`ok - ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      } catch (err) {
        results.push({ name, ok: false });
        console.log(`not ok - ${name}\n  ${String(err.stack || err).split('\n').join('\n  ')}`);
        await page?.screenshot({ path: path.join(os.tmpdir(), `web-e2e-failure-${results.length}.png`) }).catch(() => {});
        err.reported = true;
        throw err;
      }
    },
    get passed() {
      return results.filter((r) => r.ok).length;
    },
    get failed() {
      return results.filter((r) => !r.ok).length;
    },
  };
}

let screenshots = null;

/**
 * Where the screenshots and frame-times.md go: docs/ with E2E_DOCS=1 (`make docs-screenshots`),
 * else a temporary folder (kept; run.mjs names it at the end), so a test run leaves the
 * checkout as it found it. Created on first use.
 */
export function screenshotDir() {
  if (!screenshots) {
    screenshots = process.env.E2E_DOCS === '1' ? DOCS : fs.mkdtempSync(path.join(os.tmpdir(), 'web-e2e-screenshots-'));
    fs.mkdirSync(screenshots, { recursive: true });
  }
  return screenshots;
}

/** The folder screenshotDir() chose, or null when nothing was written. */
export function usedScreenshotDir() {
  return screenshots;
}

/** A page of its own (browser context) with screenshot and page-error helpers. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 820 }, acceptDownloads: true });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  const enabled = process.env.E2E_SCREENSHOTS !== '0';
  const shot = async (name) => enabled && page.screenshot({ path: path.join(screenshotDir(), name) });
  return { context, page, pageErrors, shot };
}
