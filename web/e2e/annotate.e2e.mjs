#!/usr/bin/env node
/**
 * End-to-end test of the annotator in a real browser: Debian's Chromium driven by
 * playwright-core, against a production build of the app (`next build`, then `next start`)
 * and a running inference service.
 *
 * The service: INFERENCE_API_URL when given; otherwise this script starts the real one,
 * `.venv/bin/python -m serving --port PORT` from the repository root (ML_PLATFORM_CONFIG is
 * passed through), waits for it, and stops it at the end. It must have candles for at least
 * one partition (`make demo` creates them).
 *
 * The annotations go to a fresh PGlite folder in a temporary directory, or, with
 * E2E_DATABASE=postgres, to a throw-away database created on the PostgreSQL server of
 * TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) and dropped afterwards.
 * Every process started here is stopped before exit.
 *
 * Environment: INFERENCE_API_URL, E2E_PAIR + E2E_TIMEFRAME (which partition; default: the
 * first with enough candles), E2E_BUILD=never|always|auto (default auto: rebuild when sources
 * are newer than .next), E2E_HEADED=1, E2E_SCREENSHOTS=0 (do not write docs-screenshots/).
 *
 * Closes with "N passed, N failed".
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium } from 'playwright-core';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPO = path.dirname(WEB);
const SCREENSHOTS = path.join(WEB, 'docs-screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const MIN_CANDLES = 300;

// ------------------------------------------------------------------------------------------
// Processes: each started in its own process group, stopped by its id at the end.

const started = [];
let tmpDir = null;
let dropDatabase = null;

function start(name, command, args, options) {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { name, child, log: '', exited: false };
  const keep = (chunk) => {
    entry.log = (entry.log + chunk).slice(-20_000);
    if (process.env.E2E_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('exit', () => (entry.exited = true));
  started.push(entry);
  return entry;
}

async function stop(entry, { graceMs = 10_000 } = {}) {
  if (entry.exited) return;
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

async function stopAll() {
  for (const entry of started.reverse()) await stop(entry);
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  if (dropDatabase) await dropDatabase().catch((err) => console.log(`# could not drop the e2e database: ${err.message}`));
  dropDatabase = null;
}

/** A fresh PostgreSQL database for this run; dropped by stopAll(). */
async function throwAwayDatabase() {
  const adminUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const name = `web_e2e_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  dropDatabase = async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(`drop database if exists ${name} with (force)`);
    } finally {
      await c.end();
    }
  };
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  console.log(`# annotations: PostgreSQL database ${name} (dropped at the end)`);
  return url.toString();
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopAll().finally(() => process.exit(130));
  });
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(what, entry, probe, timeoutMs) {
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
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} not ready after ${timeoutMs / 1000} s (${last})${entry ? `:\n${entry.log.slice(-3000)}` : ''}`);
}

async function getJson(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

// ------------------------------------------------------------------------------------------
// Setup: Chromium, the inference service, the build, the web server.

function ensureChromium() {
  const r = spawnSync('bash', [path.join(WEB, 'scripts', 'ensure-chromium.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('Chromium is not available (scripts/ensure-chromium.sh failed).');
}

async function inferenceService() {
  if (process.env.INFERENCE_API_URL) {
    const url = process.env.INFERENCE_API_URL.replace(/\/+$/, '');
    console.log(`# inference service: ${url} (given)`);
    await waitFor(`inference service at ${url}`, null, () => getJson(`${url}/partitions`), 30_000);
    return url;
  }
  const python = path.join(REPO, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) throw new Error(`${python} not found: create the venv (make install) or set INFERENCE_API_URL.`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  console.log(`# inference service: starting ${python} -m serving --port ${port}`);
  const entry = start('serving', python, ['-m', 'serving', '--port', String(port)], { cwd: REPO, env: process.env });
  await waitFor('inference service', entry, () => getJson(`${url}/partitions`), 180_000);
  return url;
}

async function choosePartition(serviceUrl) {
  const partitions = await getJson(`${serviceUrl}/partitions`);
  const wanted = process.env.E2E_PAIR && process.env.E2E_TIMEFRAME;
  const chosen = wanted
    ? partitions.find((p) => p.pair === process.env.E2E_PAIR && p.timeframe === process.env.E2E_TIMEFRAME)
    : partitions.find((p) => p.candles >= MIN_CANDLES);
  if (!chosen) {
    throw new Error(
      `The inference service lists no partition ${wanted ? `${process.env.E2E_PAIR}|${process.env.E2E_TIMEFRAME}` : `with ${MIN_CANDLES}+ candles`}` +
        ` (it has: ${JSON.stringify(partitions.map((p) => `${p.pair}|${p.timeframe}:${p.candles}`))}). Run make demo first.`,
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

function buildIfNeeded() {
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
  const r = spawnSync(process.execPath, [path.join(WEB, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], {
    cwd: WEB,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`next build failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
  console.log(`# next build done in ${Math.round((Date.now() - t0) / 1000)} s`);
}

async function webServer(serviceUrl) {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-e2e-'));
  const port = await freePort();
  const env = {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: '1',
    INFERENCE_API_URL: serviceUrl,
    PGLITE_DATA_DIR: path.join(tmpDir, 'pglite'),
  };
  delete env.DATABASE_URL;
  if (process.env.E2E_DATABASE === 'postgres') env.DATABASE_URL = await throwAwayDatabase();
  const entry = start(
    'next',
    process.execPath,
    [path.join(WEB, 'node_modules', 'next', 'dist', 'bin', 'next'), 'start', '-p', String(port), '-H', '127.0.0.1'],
    { cwd: WEB, env },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor('next start', entry, async () => (await fetch(`${url}/api/span-annotations`)).ok, 60_000);
  return { url, entry, lockFile: `${env.PGLITE_DATA_DIR}.lock` };
}

// ------------------------------------------------------------------------------------------
// Browser helpers.

const chartSel = '[data-testid=candle-chart]';

async function candleCount(page) {
  return Number(await page.getAttribute(chartSel, 'data-candles'));
}

async function waitForCandles(page) {
  await page.waitForFunction((sel) => Number(document.querySelector(sel)?.dataset.candles) > 0, chartSel, { timeout: 30_000 });
  await page.waitForTimeout(300); // a frame for the chart to paint
}

/** Count pixels of the chart's main canvas that a predicate accepts; also their centroid. */
async function scanCanvas(page, kind) {
  return page.evaluate(
    ({ sel, kind }) => {
      const canvases = [...document.querySelectorAll(`${sel} canvas`)];
      const main = canvases.sort((a, b) => b.width * b.height - a.width * a.height)[0];
      const ctx = main.getContext('2d');
      const { data, width, height } = ctx.getImageData(0, 0, main.width, main.height);
      const ratio = main.width / main.getBoundingClientRect().width;
      let n = 0;
      let sx = 0;
      let sy = 0;
      for (let y = 0; y < height; y += 2) {
        for (let x = 0; x < width; x += 2) {
          const i = (y * width + x) * 4;
          const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
          // head_and_shoulders (#ab47bc) blended over the dark background: purple, unlike candles and volume.
          const hit = kind === 'purple' ? b - g > 18 && r - g > 10 : false;
          if (hit) {
            n++;
            sx += x;
            sy += y;
          }
        }
      }
      const rect = main.getBoundingClientRect();
      return n ? { n, x: rect.left + sx / n / ratio, y: rect.top + sy / n / ratio } : { n: 0 };
    },
    { sel: chartSel, kind },
  );
}

async function listedAnnotations(page) {
  return page.$$eval('[data-testid=annotation-item]', (items) => items.map((li) => ({ id: li.dataset.id, label: li.dataset.label })));
}

async function chooseConfidence(page, value) {
  // A range input: keyboard steps of 0.05 from its current value.
  const input = page.locator('[data-testid=confidence-input]');
  const current = Number(await input.inputValue());
  await input.focus();
  const steps = Math.round((current - value) / 0.05);
  for (let i = 0; i < Math.abs(steps); i++) await page.keyboard.press(steps > 0 ? 'ArrowLeft' : 'ArrowRight');
}

// ------------------------------------------------------------------------------------------

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  const t0 = Date.now();
  const results = [];
  let browser;
  let web;
  try {
    ensureChromium();
    const serviceUrl = await inferenceService();
    const partition = await choosePartition(serviceUrl);
    console.log(`# partition: ${partition.pair} ${partition.timeframe} (${partition.candles} candles)`);
    buildIfNeeded();
    web = await webServer(serviceUrl);
    const api = (p) => `${web.url}${p}`;
    const q = new URLSearchParams({ pair: partition.pair, timeframe: partition.timeframe });
    const pageUrl = `${web.url}/?${q}`;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: !process.env.E2E_HEADED,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-gpu'],
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 820 }, acceptDownloads: true });
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const screenshots = process.env.E2E_SCREENSHOTS !== '0';
    if (screenshots) fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const shot = async (name) => screenshots && page.screenshot({ path: path.join(SCREENSHOTS, name) });

    const saved = {};
    const check = async (name, fn) => {
      const t = Date.now();
      try {
        await fn();
        results.push({ name, ok: true });
        console.log(`ok - ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      } catch (err) {
        results.push({ name, ok: false });
        console.log(`not ok - ${name}\n  ${String(err.stack || err).split('\n').join('\n  ')}`);
        await page.screenshot({ path: path.join(os.tmpdir(), `web-e2e-failure-${results.length}.png`) }).catch(() => {});
        throw err;
      }
    };

    await check('the page shows the candles of the partition with an OHLCV readout', async () => {
      await page.goto(pageUrl);
      await waitForCandles(page);
      const n = await candleCount(page);
      assert(n >= Math.min(partition.candles, 100), `only ${n} candles loaded`);
      const readout = await page.textContent('[data-testid=ohlcv-readout]');
      assert(/O .*H .*L .*C .*V /.test(readout), `readout: ${readout}`);
      const selected = await page.inputValue('[data-testid=partition-select]');
      assert(selected === `${partition.pair}|${partition.timeframe}`, `selector shows ${selected}`);
      // The readout shows the newest candle, then the one under the crosshair.
      const box = await page.locator(chartSel).boundingBox();
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.4);
      await page.waitForTimeout(150);
      const hovered = await page.textContent('[data-testid=ohlcv-readout] .readout__time');
      assert(!readout.startsWith(hovered), `readout did not follow the crosshair (${hovered})`);
    });

    await check('zooming out loads older history (scroll-back)', async () => {
      const before = await candleCount(page);
      if (before >= partition.candles) return; // everything fits in one page
      const oldest = Number(await page.getAttribute(chartSel, 'data-oldest'));
      const box = await page.locator(chartSel).boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      for (let i = 0; i < 40 && (await candleCount(page)) === before; i++) {
        await page.mouse.wheel(0, 600);
        await page.waitForTimeout(250);
      }
      await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.candles) > n, [chartSel, before], {
        timeout: 15_000,
      });
      const newOldest = Number(await page.getAttribute(chartSel, 'data-oldest'));
      assert(newOldest < oldest, `oldest candle did not move back (${oldest} -> ${newOldest})`);
      await page.reload();
      await waitForCandles(page);
    });

    await check('dragging across bars marks a span, saved with label, confidence and note', async () => {
      await page.click('[data-testid=mode-select]');
      const box = await page.locator(chartSel).boundingBox();
      const y = box.y + box.height * 0.45;
      await page.mouse.move(box.x + box.width * 0.35, y);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.42, y, { steps: 6 });
      await page.mouse.move(box.x + box.width * 0.5, y, { steps: 6 });
      await page.mouse.up();
      await page.waitForSelector('[data-testid=annotation-dialog]');
      const spanText = await page.textContent('[data-testid=dialog-span]');
      const count = Number(/\((\d+) candles?\)/.exec(spanText)?.[1]);
      assert(count > 3, `dialog shows ${spanText}`);
      await page.click('[data-testid=label-option-head_and_shoulders]');
      await chooseConfidence(page, 0.8);
      await page.fill('[data-testid=note-input]', 'e2e: dragged span');
      await page.click('[data-testid=save-annotation]');
      await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
      const list = await getJson(api(`/api/span-annotations?${q}`));
      assert(list.length === 1, `${list.length} annotations saved`);
      const [a] = list;
      assert(a.label === 'head_and_shoulders' && a.confidence === 0.8 && a.note === 'e2e: dragged span', JSON.stringify(a));
      // The span's ends are candle times, and it holds as many candles as the dialog said.
      const candles = await getJson(api(`/api/candles?${q}&start=${a.start_time}&end=${a.end_time}`));
      const inside = candles.filter((c) => c.time >= a.start_time && c.time <= a.end_time);
      assert(inside[0]?.time === a.start_time && inside.at(-1)?.time === a.end_time, 'span ends are not candle times');
      assert(inside.length === count, `span holds ${inside.length} candles, dialog said ${count}`);
      saved.dragged = a;
    });

    await check('clicking the first and the last candle marks a span; Esc cancels a selection', async () => {
      const box = await page.locator(chartSel).boundingBox();
      const y = box.y + box.height * 0.6;
      // Esc after a first click forgets it.
      await page.mouse.click(box.x + box.width * 0.15, y);
      await page.keyboard.press('Escape');
      await page.mouse.click(box.x + box.width * 0.62, y);
      assert(!(await page.isVisible('[data-testid=annotation-dialog]')), 'Esc did not cancel the first click');
      await page.mouse.click(box.x + box.width * 0.7, y);
      await page.waitForSelector('[data-testid=annotation-dialog]');
      await page.click('[data-testid=label-option-bull_flag]');
      await page.click('[data-testid=save-annotation]');
      await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
      const list = await getJson(api(`/api/span-annotations?${q}`));
      const b = list.find((x) => x.label === 'bull_flag');
      assert(b && b.end_time > b.start_time && b.start_time > saved.dragged.end_time, `second span: ${JSON.stringify(list)}`);
      saved.clicked = b;
      // Esc while the dialog is open closes it without saving.
      await page.mouse.click(box.x + box.width * 0.8, y);
      await page.mouse.click(box.x + box.width * 0.85, y);
      await page.waitForSelector('[data-testid=annotation-dialog]');
      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
      assert((await getJson(api(`/api/span-annotations?${q}`))).length === 2, 'Esc saved a span');
      await page.click('[data-testid=mode-pan]');
    });

    await check('after a reload the spans are listed and drawn as rectangles behind the candles', async () => {
      await page.reload();
      await waitForCandles(page);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=annotation-item]').length === 2, null, {
        timeout: 10_000,
      });
      const listed = await listedAnnotations(page);
      assert(listed.map((x) => x.label).join() === 'head_and_shoulders,bull_flag', JSON.stringify(listed));
      const purple = await scanCanvas(page, 'purple');
      assert(purple.n > 100, `the head_and_shoulders rectangle is not drawn (${purple.n} purple pixels)`);
      await page.mouse.move(5, 5);
      await shot('chart-with-annotations.png');
    });

    await check('the list jumps to a span; clicking it on the chart edits its label', async () => {
      await page.click(`[data-testid=annotation-item][data-id="${saved.dragged.id}"] .list__jump`);
      await page.waitForTimeout(400);
      const purple = await scanCanvas(page, 'purple');
      assert(purple.n > 100, 'span not in view after the jump');
      const box = await page.locator(chartSel).boundingBox();
      assert(purple.x > box.x + box.width * 0.25 && purple.x < box.x + box.width * 0.75, 'the span is not centred');
      await page.mouse.click(purple.x, purple.y);
      await page.waitForSelector('[data-testid=annotation-dialog]');
      assert((await page.textContent('[data-testid=annotation-dialog] h2')) === 'Edit span', 'not the edit dialog');
      await page.click('[data-testid=label-option-double_top]');
      await shot('annotation-dialog.png');
      await page.click('[data-testid=save-annotation]');
      await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
      const edited = await getJson(api(`/api/span-annotations/${saved.dragged.id}`));
      assert(edited.label === 'double_top', `label is ${edited.label}`);
      assert(edited.start_time === saved.dragged.start_time && edited.end_time === saved.dragged.end_time, 'times changed');
      saved.dragged = edited;
    });

    await check('the export is the DESIGN.md JSON and holds the edited span', async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-link]')]);
      const file = path.join(tmpDir, 'export.json');
      await download.saveAs(file);
      const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert(download.suggestedFilename() === `annotations_${partition.pair}_${partition.timeframe}.json`, download.suggestedFilename());
      assert(doc.version === 1 && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(doc.exported_at), JSON.stringify(doc).slice(0, 200));
      const a = doc.annotations.find((x) => x.id === saved.dragged.id);
      assert(a, 'the edited span is not in the export');
      const keys = 'id,pair,timeframe,label,start_time,end_time,confidence,source,model_prediction,note,created_at';
      assert(Object.keys(a).join() === keys, `keys: ${Object.keys(a)}`);
      assert(a.label === 'double_top' && a.source === 'human' && a.model_prediction === null, JSON.stringify(a));
      assert(a.start_time === saved.dragged.start_time && a.end_time === saved.dragged.end_time, 'times differ');
      assert(Number.isInteger(a.start_time) && Number.isInteger(a.end_time), 'times are not integers');
    });

    await check('Delete removes the selected span', async () => {
      await page.click(`[data-testid=annotation-item][data-id="${saved.dragged.id}"] .list__jump`);
      await page.locator(chartSel).hover();
      await page.keyboard.press('Delete');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=annotation-item]').length === 1);
      const list = await getJson(api(`/api/span-annotations?${q}`));
      assert(list.length === 1 && list[0].id === saved.clicked.id, JSON.stringify(list));
      const doc = await getJson(api(`/api/span-annotations/export?${q}`));
      assert(!doc.annotations.some((x) => x.id === saved.dragged.id), 'deleted span still exported');
    });

    await check('with the service down, a banner says so and annotations stay editable and exportable', async () => {
      const down = { status: 502, contentType: 'application/json', body: JSON.stringify({ detail: 'Cannot reach the inference service (e2e: simulated outage).', reason: 'refused' }) };
      // After the candles are loaded: the service goes away; loaded candles and spans stay.
      await page.route('**/api/candles**', (route) => route.fulfill(down));
      await page.route('**/api/health', (route) => route.fulfill(down));
      const loaded = await candleCount(page);
      const box = await page.locator(chartSel).boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      for (let i = 0; i < 40 && !(await page.isVisible('[data-testid=service-banner]')); i++) {
        await page.mouse.wheel(0, 800);
        await page.waitForTimeout(250);
      }
      if (loaded < partition.candles) {
        await page.waitForSelector('[data-testid=service-banner]', { timeout: 10_000 });
        assert((await candleCount(page)) === loaded, 'candles were dropped');
      }
      // A fresh page while the service is down: no candles at all.
      await page.route('**/api/partitions', (route) => route.fulfill(down));
      await page.route('**/api/model/labels', (route) => route.fulfill(down));
      await page.reload();
      await page.waitForSelector('[data-testid=service-banner]', { timeout: 15_000 });
      const banner = await page.textContent('[data-testid=service-banner]');
      assert(/unavailable/.test(banner) && /simulated outage/.test(banner), banner);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=annotation-item]').length === 1);
      await page.click('[data-testid=annotation-item] .list__jump');
      await page.click('[data-testid=edit-selected]');
      await page.waitForSelector('[data-testid=annotation-dialog]');
      await page.fill('[data-testid=note-input]', 'edited while the service was down');
      await shot('service-down.png');
      await page.click('[data-testid=save-annotation]');
      await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
      const doc = await getJson(api(`/api/span-annotations/export?${q}`));
      assert(doc.annotations[0]?.note === 'edited while the service was down', JSON.stringify(doc));
      await page.unrouteAll({ behavior: 'ignoreErrors' });
    });

    await check('no uncaught errors in the page', async () => {
      assert(!pageErrors.length, pageErrors.join('\n'));
    });
  } catch (err) {
    if (!results.some((r) => !r.ok)) {
      results.push({ name: 'setup', ok: false });
      console.log(`not ok - setup\n  ${String(err.stack || err).split('\n').join('\n  ')}`);
    }
  } finally {
    await browser?.close().catch(() => {});
    if (web) {
      await stop(web.entry);
      // A clean shutdown releases the PGlite folder.
      if (process.env.E2E_DATABASE !== 'postgres' && fs.existsSync(web.lockFile)) {
        results.push({ name: 'the web server closes its database on SIGTERM', ok: false });
        console.log('not ok - the web server closes its database on SIGTERM (lock file left behind)');
      } else {
        results.push({ name: 'the web server closes its database on SIGTERM', ok: true });
        console.log('ok - the web server closes its database on SIGTERM');
      }
    }
    await stopAll();
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`# e2e took ${Math.round((Date.now() - t0) / 1000)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

await main();
