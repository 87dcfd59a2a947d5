/**
 * What the browser tests share: the processes they start (each in its own process group,
 * stopped by its id), the test data (fixture), the inference service, one `next build`, a
 * `next start` per suite with a fresh database, Chromium, and the "ok - / not ok -" reporter
 * that ends with "N passed, N failed". Used by run.mjs (the `npm run test:e2e` entry point).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium } from 'playwright-core';

export const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = path.dirname(WEB);
/** The repository's docs/, linked from the READMEs: screenshots and frame-times.md go there with E2E_DOCS=1 only. */
export const DOCS = path.join(REPO, 'docs');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const PYTHON = path.join(REPO, '.venv', 'bin', 'python');
const NEXT_BIN = path.join(WEB, 'node_modules', 'next', 'dist', 'bin', 'next');

// ------------------------------------------------------------------------------------------
// Processes

const started = [];
const cleanups = [];

export function start(name, command, args, options) {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { name, child, log: '', exited: false };
  const keep = (chunk) => {
    entry.log = (entry.log + chunk).slice(-20_000);
    if (process.env.E2E_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('exit', (code, signal) => {
    entry.exited = true;
    entry.exit = { code, signal };
    if (!entry.stopping) console.log(`# ${name} (pid ${child.pid}) exited by itself: code ${code}, signal ${signal}`);
  });
  started.push(entry);
  return entry;
}

export async function stop(entry, { graceMs = 10_000 } = {}) {
  if (entry.exited) return;
  entry.stopping = true;
  const gone = new Promise((resolve) => entry.child.once('exit', resolve));
  try {
    process.kill(-entry.child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), graceMs));
  if ((await Promise.race([gone, timer])) === 'timeout') {
    try {
      process.kill(-entry.child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await gone;
  }
}

/** Run `fn` at the very end (after every process stopped): temp folders, throw-away databases. */
export function atExit(fn) {
  cleanups.push(fn);
}

export async function stopAll() {
  for (const entry of started.splice(0).reverse()) await stop(entry);
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      console.log(`# cleanup failed: ${err.message}`);
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopAll().finally(() => process.exit(130));
  });
}

export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitFor(what, entry, probe, timeoutMs, intervalMs = 500) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (entry?.exited) throw new Error(`${what} exited early:\n${entry.log.slice(-3000)}`);
    try {
      const result = await probe();
      if (result) return result;
    } catch (err) {
      last = err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what} not ready after ${timeoutMs / 1000} s (${last})${entry ? `:\n${entry.log.slice(-3000)}` : ''}`);
}

export async function getJson(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

export function postJson(url, body) {
  return getJson(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  atExit(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ------------------------------------------------------------------------------------------
// Chromium, test data, the inference service, the build, the web server

export function ensureChromium() {
  const r = spawnSync('bash', [path.join(WEB, 'scripts', 'ensure-chromium.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('Chromium is not available (scripts/ensure-chromium.sh failed).');
}

/**
 * The pipeline config of the test data, or null when a running service is given
 * (INFERENCE_API_URL) without ML_PLATFORM_CONFIG.
 *
 * E2E_CONFIG: use this config as is (data already written). Otherwise a fresh folder is
 * filled by the repository's `scripts/e2e_fixture.py` (the pipeline through Dagster; prints
 * the config path last), E2E_CANDLES passed on as `--candles`. When that leaves no model
 * bundle (trained_model not materialized), its `--mode perf` data is used instead.
 */
export function prepareFixture() {
  if (process.env.E2E_CONFIG) {
    console.log(`# test data: ${process.env.E2E_CONFIG} (E2E_CONFIG)`);
    return { configPath: path.resolve(process.env.E2E_CONFIG), source: 'E2E_CONFIG' };
  }
  if (process.env.INFERENCE_API_URL) {
    const configPath = process.env.ML_PLATFORM_CONFIG ? path.resolve(REPO, process.env.ML_PLATFORM_CONFIG) : null;
    return { configPath, source: 'given service' };
  }
  if (!fs.existsSync(PYTHON)) throw new Error(`${PYTHON} not found: create the venv (make install) or set INFERENCE_API_URL.`);
  const candles = process.env.E2E_CANDLES;
  const configPath = runFixture(tempDir('web-e2e-data-'), ['--mode', 'pipeline', ...(candles ? ['--candles', candles] : [])]);
  if (hasModelBundle(configPath)) return { configPath, source: 'scripts/e2e_fixture.py' };
  console.log('# scripts/e2e_fixture.py wrote no model bundle (trained_model not materialized): using its --mode perf data');
  return ownFixture(candles || 50_000);
}

/** Test data of `scripts/e2e_fixture.py --mode perf`: one partition of `candles` candles and a quickly trained model. */
export function ownFixture(candles) {
  const configPath = runFixture(tempDir('web-e2e-data-'), ['--mode', 'perf', '--candles', String(candles)]);
  return { configPath, source: 'scripts/e2e_fixture.py --mode perf' };
}

/** Run `python -m scripts.e2e_fixture --out dir ...options`; the config path it printed last. */
function runFixture(dir, options) {
  const args = ['-m', 'scripts.e2e_fixture', '--out', dir, ...options];
  console.log(`# test data: scripts/e2e_fixture.py ${options.join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(PYTHON, args, { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`scripts/e2e_fixture.py failed (exit ${r.status}):\n${(r.stdout + r.stderr).slice(-4000)}`);
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  const configPath = path.resolve(REPO, lines.at(-1) ?? '');
  if (!fs.existsSync(configPath)) throw new Error(`scripts/e2e_fixture.py did not print a config path (last line: ${lines.at(-1)})`);
  console.log(`# test data ready in ${Math.round((Date.now() - t0) / 1000)} s: ML_PLATFORM_CONFIG=${configPath}`);
  return configPath;
}

/** True when the fixture's models folder (models/ beside its pipeline.yaml) holds at least one bundle. */
/** A partition folder serves a model once it has a champion pointer (versioned bundles) or a legacy flat bundle.json. */
function hasModelBundle(configPath) {
  const models = path.join(path.dirname(configPath), 'models');
  const serves = (name) => ['champion.json', 'bundle.json'].some((file) => fs.existsSync(path.join(models, name, file)));
  return fs.existsSync(models) && fs.readdirSync(models).some(serves);
}

/**
 * The inference service: the given INFERENCE_API_URL, or `python -m serving` started here with
 * ML_PLATFORM_CONFIG=configPath on a free port. A started one can be stopped and started again
 * on the same port (the outage test).
 */
export async function inferenceService(configPath, { own = false } = {}) {
  if (process.env.INFERENCE_API_URL && !own) {
    const url = process.env.INFERENCE_API_URL.replace(/\/+$/, '');
    console.log(`# inference service: ${url} (given)`);
    await waitFor(`inference service at ${url}`, null, () => getJson(`${url}/partitions`), 30_000);
    return { url, managed: false };
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, PYTHONPATH: REPO };
  if (configPath) env.ML_PLATFORM_CONFIG = configPath;
  const service = {
    url,
    managed: true,
    entry: null,
    async start() {
      console.log(`# inference service: starting ${PYTHON} -m serving --port ${port}`);
      this.entry = start('serving', PYTHON, ['-m', 'serving', '--port', String(port)], { cwd: REPO, env });
      await waitFor('inference service', this.entry, () => getJson(`${url}/partitions`), 180_000, 200);
    },
    async stop() {
      if (this.entry) await stop(this.entry);
    },
  };
  await service.start();
  return service;
}

export async function choosePartition(serviceUrl, minCandles = 300) {
  const partitions = await getJson(`${serviceUrl}/partitions`);
  const wanted = process.env.E2E_PAIR && process.env.E2E_TIMEFRAME;
  const chosen = wanted
    ? partitions.find((p) => p.pair === process.env.E2E_PAIR && p.timeframe === process.env.E2E_TIMEFRAME)
    : (partitions.find((p) => p.candles >= minCandles && p.has_model) ?? partitions.find((p) => p.candles >= minCandles));
  if (!chosen) {
    throw new Error(
      `The inference service lists no partition ${wanted ? `${process.env.E2E_PAIR}|${process.env.E2E_TIMEFRAME}` : `with ${minCandles}+ candles`}` +
        ` (it has: ${JSON.stringify(partitions.map((p) => `${p.pair}|${p.timeframe}:${p.candles}`))}).`,
    );
  }
  return chosen;
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** `next build` unless .next is newer than the sources (E2E_BUILD=always|never|auto). */
export function buildIfNeeded() {
  const mode = process.env.E2E_BUILD || 'auto';
  const buildId = path.join(WEB, '.next', 'BUILD_ID');
  if (mode === 'never') return;
  if (mode === 'auto' && fs.existsSync(buildId)) {
    const sources = Math.max(
      newestMtime(path.join(WEB, 'src')),
      ...['package-lock.json', 'next.config.ts', 'tsconfig.json'].map((f) => fs.statSync(path.join(WEB, f)).mtimeMs),
    );
    if (fs.statSync(buildId).mtimeMs > sources) {
      console.log('# next build: .next is newer than the sources, reused');
      return;
    }
  }
  console.log('# next build ...');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [NEXT_BIN, 'build'], {
    cwd: WEB,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`next build failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
  console.log(`# next build done in ${Math.round((Date.now() - t0) / 1000)} s`);
}

/** A fresh PostgreSQL database; dropped at exit. */
async function throwAwayDatabase() {
  const adminUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const name = `web_e2e_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  atExit(async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(`drop database if exists ${name} with (force)`);
    } finally {
      await c.end();
    }
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  console.log(`# annotations: PostgreSQL database ${name} (dropped at the end)`);
  return url.toString();
}

/**
 * `next start` on a free port against `serviceUrl`, with a fresh PGlite folder (or, with
 * E2E_DATABASE=postgres, a throw-away PostgreSQL database) and the extra environment `env`.
 */
export async function webServer(serviceUrl, env = {}) {
  const dir = tempDir('web-e2e-');
  const port = await freePort();
  const full = {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: '1',
    INFERENCE_API_URL: serviceUrl,
    PGLITE_DATA_DIR: path.join(dir, 'pglite'),
    ...env,
  };
  delete full.ANNOTATIONS_DATABASE_URL;
  if (process.env.E2E_DATABASE === 'postgres') full.ANNOTATIONS_DATABASE_URL = await throwAwayDatabase();
  const entry = start('next', process.execPath, [NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], { cwd: WEB, env: full });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('next start', entry, async () => (await fetch(`${url}/api/span-annotations`)).ok, 60_000, 250);
  return { url, entry, dir, lockFile: `${full.PGLITE_DATA_DIR}.lock` };
}

/** Stop the web server; a clean shutdown releases the PGlite folder (checked). */
export async function stopWebServer(web, reporter) {
  await stop(web.entry);
  if (process.env.E2E_DATABASE === 'postgres') return;
  reporter.record('the web server closes its database on SIGTERM', !fs.existsSync(web.lockFile), 'lock file left behind');
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: !process.env.E2E_HEADED,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-gpu'],
  });
}

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

// ------------------------------------------------------------------------------------------
// Chart helpers

export const chartSel = '[data-testid=candle-chart]';

export async function candleCount(page) {
  return Number(await page.getAttribute(chartSel, 'data-candles'));
}

export async function chartData(page, name) {
  return page.getAttribute(chartSel, `data-${name}`);
}

export async function waitForCandles(page) {
  await page.waitForFunction((sel) => Number(document.querySelector(sel)?.dataset.candles) > 0, chartSel, { timeout: 30_000 });
  await page.waitForTimeout(300); // a frame for the chart to paint
}

/**
 * Count pixels of the chart's main canvas of a colour kind; also their centroid in page
 * coordinates. Kinds: purple (head_and_shoulders #ab47bc blended over the dark background),
 * yellow (the missed_by_human fill), orange (the label_mismatch border), red (the dashed
 * missed_by_model border). Candles (teal, red #ef5350) and volume are not matched.
 */
export async function scanCanvas(page, kind, region = null) {
  return page.evaluate(
    ({ sel, kind, region }) => {
      const canvases = [...document.querySelectorAll(`${sel} canvas`)];
      const main = canvases.sort((a, b) => b.width * b.height - a.width * a.height)[0];
      const ctx = main.getContext('2d');
      const { data, width, height } = ctx.getImageData(0, 0, main.width, main.height);
      const rect = main.getBoundingClientRect();
      const ratio = main.width / rect.width;
      const inRegion = (x, y) =>
        !region || (x / ratio >= region.x1 && x / ratio <= region.x2 && y / ratio >= region.y1 && y / ratio <= region.y2);
      const tests = {
        purple: (r, g, b) => b - g > 18 && r - g > 10,
        yellow: (r, g, b) => r > 50 && g > 45 && r - b > 25 && g - b > 20 && Math.abs(r - g) < 30,
        orange: (r, g, b) => r > 200 && g > 110 && g < 180 && b < 60,
        red: (r, g, b) => r > 200 && g < 60 && b > 40 && b < 110,
      };
      const hit = tests[kind];
      let n = 0;
      let sx = 0;
      let sy = 0;
      for (let y = 0; y < height; y += 2) {
        for (let x = 0; x < width; x += 2) {
          if (!inRegion(x, y)) continue;
          const i = (y * width + x) * 4;
          if (hit(data[i], data[i + 1], data[i + 2])) {
            n++;
            sx += x;
            sy += y;
          }
        }
      }
      return n ? { n, x: rect.left + sx / n / ratio, y: rect.top + sy / n / ratio } : { n: 0 };
    },
    { sel: chartSel, kind, region },
  );
}

// Prediction overlay helpers (the data-* attributes of the chart, the panel's counts).

export const num = async (page, name) => Number(await page.getAttribute(chartSel, `data-${name}`));
export const summary = async (page, name) => Number(await page.textContent(`[data-testid=summary-${name}]`));

export async function waitForModel(page) {
  await page.waitForSelector('[data-testid=model-name]', { timeout: 30_000 });
}

/** Wait until the chart shows `count` markers (or a predicate on the count). */
export async function waitForMarkers(page, predicate, timeout = 30_000) {
  const fn = typeof predicate === 'number' ? (n) => n === predicate : predicate;
  const deadline = Date.now() + timeout;
  let n;
  while (Date.now() < deadline) {
    n = await num(page, 'prediction-markers');
    if (fn(n) && !(await page.isVisible('[data-testid=prediction-loading]'))) return n;
    await page.waitForTimeout(100);
  }
  throw new Error(`markers: ${n} after ${timeout} ms`);
}

/** Set a range input the way a person drags it (React sees the input event). */
export async function setRange(page, testId, value) {
  await page.locator(`[data-testid=${testId}]`).evaluate((el, v) => {
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
    setter.call(el, String(v));
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
  await page.waitForTimeout(100);
}

export async function chartBox(page) {
  return page.locator(chartSel).boundingBox();
}

/** Zoom with the wheel over the chart's middle: positive dy zooms out. */
export async function zoom(page, dy, times) {
  const box = await chartBox(page);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < times; i++) {
    await page.mouse.wheel(0, dy);
    await page.waitForTimeout(60);
  }
  await page.waitForTimeout(200);
}

export async function dragPan(page, fromFraction, toFraction, steps) {
  const box = await chartBox(page);
  const y = box.y + box.height * 0.5;
  await page.mouse.move(box.x + box.width * fromFraction, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * toFraction, y, { steps });
  await page.mouse.up();
}
