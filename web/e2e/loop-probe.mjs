#!/usr/bin/env node
/**
 * The browser's part of the living loop (tests/loop/test_living_loop.py): Debian's Chromium
 * (playwright-core, the browser suites' helpers) on a running web app, e.g. the one of `make up`.
 *
 *   node e2e/loop-probe.mjs save --url URL --pair PAIR --timeframe TF --label LABEL [--start T1 --end T2]
 *     Opens the partition's page, draws a span on the chart, picks the label in the annotation
 *     dialog and saves it. With --start/--end (candle times, epoch seconds) the chart is first
 *     dragged back (scroll-back loads the older candles) until both are in view, and the span is
 *     drawn from the candle T1 to the candle T2 (found under the crosshair, in the OHLCV
 *     readout); the saved span must be exactly T1..T2. Without them: a stretch of the newest
 *     candles in view. Prints one line of JSON:
 *     {id, start, end, label, modelVersion, savedAt}: the saved span (as POST
 *     /api/span-annotations answered), the version the chart's model panel showed, and when the
 *     dialog closed (epoch ms).
 *
 *   node e2e/loop-probe.mjs await-model --url URL --pair PAIR --timeframe TF --from VERSION [--timeout S]
 *     Opens the page (the panel must show VERSION), runs "Run on visible" so predictions of
 *     VERSION are drawn, then waits (at most S seconds, default 600) until the panel shows
 *     another version AND the overlay was predicted again by it (a /api/predict or
 *     /api/predict/batch answer whose model_info.version is the panel's new version, drawn: no
 *     shimmer left): the model poll saw the new version and the prediction cache let go of the
 *     old results. Prints one line of JSON: {from, version, waited, shownAt, markersBefore,
 *     markersAfter, rerun}. Exits 1 with the reason on stderr on a timeout or any failure.
 *
 * Progress goes to stderr; only the JSON goes to stdout. A failure leaves a screenshot in the
 * temporary folder (its path is in the message).
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chartBox, ensureChromium, launchBrowser, newPage, num, waitForCandles, waitForModel } from './harness.mjs';

const USAGE =
  'usage: loop-probe.mjs save --url URL --pair PAIR --timeframe TF --label LABEL [--start T1 --end T2]\n' +
  '       loop-probe.mjs await-model --url URL --pair PAIR --timeframe TF --from VERSION [--timeout SECONDS]';
const PREDICT_PATH = /\/api\/predict(\/batch)?$/;

const log = (message) => process.stderr.write(`# loop-probe: ${message}\n`);

function options(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      pair: { type: 'string' },
      timeframe: { type: 'string' },
      label: { type: 'string' },
      from: { type: 'string' },
      start: { type: 'string' },
      end: { type: 'string' },
      timeout: { type: 'string', default: '600' },
    },
  });
  const [mode] = positionals;
  const needed = { save: ['url', 'pair', 'timeframe', 'label'], 'await-model': ['url', 'pair', 'timeframe', 'from'] }[mode];
  if (!needed || positionals.length !== 1) throw new Error(`unknown mode ${JSON.stringify(positionals.join(' '))}\n${USAGE}`);
  const missing = needed.filter((name) => !values[name]);
  if (missing.length) throw new Error(`${mode}: missing ${missing.map((m) => `--${m}`).join(', ')}\n${USAGE}`);
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw new Error(`--timeout must be a positive number of seconds, got ${JSON.stringify(values.timeout)}`);
  const [start, end] = [values.start, values.end].map((v) => (v === undefined ? null : Number(v)));
  if ((start === null) !== (end === null) || (start !== null && !(Number.isInteger(start) && Number.isInteger(end) && start < end))) {
    throw new Error(`--start and --end go together, as candle times (epoch seconds) with start < end; got ${values.start} and ${values.end}`);
  }
  return { mode, ...values, url: values.url.replace(/\/+$/, ''), timeout, start, end };
}

/** The partition's page, its candles drawn and its model panel filled; the version the panel shows. */
async function openPartition(page, o) {
  const q = new URLSearchParams({ pair: o.pair, timeframe: o.timeframe });
  await page.goto(`${o.url}/?${q}`);
  await waitForCandles(page);
  await waitForModel(page);
  return page.textContent('[data-testid=model-version]');
}

/** The time (epoch seconds) of the candle under the crosshair at page x (the OHLCV readout follows it). */
async function timeAt(page, x) {
  const box = await chartBox(page);
  await page.mouse.move(x, box.y + box.height * 0.45);
  const read = () => page.textContent('[data-testid=ohlcv-readout] .readout__time');
  let [before, text] = [null, await read()];
  while (text !== before) {
    await page.waitForTimeout(40); // the readout settled: the same time twice
    [before, text] = [text, await read()];
  }
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d) UTC$/.exec(text ?? '');
  if (!m) throw new Error(`the OHLCV readout shows no time: ${JSON.stringify(text)}`);
  return Date.parse(`${m[1]}T${m[2]}:00Z`) / 1000;
}

/** The leftmost page x in [lo, hi] whose candle is at or after time t (times grow left to right). */
async function firstXAtOrAfter(page, t, lo, hi) {
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await timeAt(page, mid)) >= t) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Drag the chart (pan mode) until the candles `start`..`end` are in view, loading older candles as
 * the chart asks for them; the page x of the candle `start` and of the candle `end`.
 */
async function bringIntoView(page, start, end) {
  const box = await chartBox(page);
  const [left, right] = [Math.ceil(box.x + 8), Math.floor(box.x + box.width * 0.85)];
  const y = box.y + box.height * 0.45;
  for (let i = 0; i < 60; i++) {
    const [tLeft, tRight] = [await timeAt(page, left), await timeAt(page, right)];
    if (tLeft < start && tRight > end) {
      const x1 = await firstXAtOrAfter(page, start, left, right);
      const x2 = (await firstXAtOrAfter(page, end + 1, x1, right)) - 1;
      const [got1, got2] = [await timeAt(page, x1), await timeAt(page, x2)];
      if (got1 !== start || got2 !== end) throw new Error(`candles ${start} and ${end} not found under the crosshair (found ${got1} and ${got2})`);
      return [x1, x2];
    }
    // Towards older candles (a drag to the right) or newer ones; the middle of the target to the chart's middle.
    const secondsPerPx = (tRight - tLeft) / (right - left);
    const wanted = ((tLeft + tRight) / 2 - (start + end) / 2) / secondsPerPx;
    const dx = Math.sign(wanted) * Math.min(Math.abs(wanted), box.width * 0.7);
    const from = dx > 0 ? box.x + box.width * 0.1 : box.x + box.width * 0.8;
    await page.mouse.move(from, y);
    await page.mouse.down();
    await page.mouse.move(from + dx, y, { steps: 12 });
    await page.mouse.up();
    await page.waitForTimeout(300); // older candles may be loading
  }
  throw new Error(`the candles ${start}..${end} did not come into view (oldest loaded: ${await num(page, 'oldest')})`);
}

async function save(page, o) {
  const modelVersion = await openPartition(page, o);
  log(`${o.pair}|${o.timeframe}: ${await num(page, 'candles')} candles, panel shows model version ${modelVersion}`);
  // Drag across the bars in marking mode, as the annotate suite does.
  const box = await chartBox(page);
  const y = box.y + box.height * 0.45;
  let [x1, x2] = [box.x + box.width * 0.35, box.x + box.width * 0.5];
  if (o.start !== null) [x1, x2] = await bringIntoView(page, o.start, o.end);
  await page.click('[data-testid=mode-select]');
  await page.mouse.move(x1, y);
  await page.mouse.down();
  await page.mouse.move((x1 + x2) / 2, y, { steps: 6 });
  await page.mouse.move(x2, y, { steps: 6 });
  await page.mouse.up();
  await page.waitForSelector('[data-testid=annotation-dialog]');
  const option = page.locator(`[data-testid=label-option-${o.label}]`);
  if (!(await option.count())) {
    const offered = await page.$$eval('[data-testid^=label-option-]', (els) => els.map((el) => el.dataset.testid.slice('label-option-'.length)));
    throw new Error(`the annotation dialog offers no label ${JSON.stringify(o.label)} (it offers ${offered.join(', ')})`);
  }
  await option.click();
  await page.fill('[data-testid=note-input]', 'loop-probe: saved through the browser');
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/span-annotations' && r.request().method() === 'POST');
  await page.click('[data-testid=save-annotation]');
  const response = await answer;
  const saved = await response.json().catch(() => null);
  if (response.status() !== 201 || !saved?.id) throw new Error(`POST /api/span-annotations answered ${response.status()}: ${JSON.stringify(saved)}`);
  await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
  const savedAt = Date.now();
  if (o.start !== null && (saved.start_time !== o.start || saved.end_time !== o.end)) {
    throw new Error(`the span was saved as ${saved.start_time}..${saved.end_time}, drawn for ${o.start}..${o.end}`);
  }
  await page.click('[data-testid=mode-pan]');
  return { id: saved.id, start: saved.start_time, end: saved.end_time, label: saved.label, modelVersion, savedAt };
}

async function awaitModel(page, o) {
  const answers = []; // the prediction answers, in order: the model version that made each
  page.on('response', async (r) => {
    if (r.request().method() !== 'POST' || !PREDICT_PATH.test(new URL(r.url()).pathname)) return;
    const body = r.ok() ? await r.json().catch(() => null) : null;
    answers.push({ path: new URL(r.url()).pathname, status: r.status(), version: body ? String(body.model_info?.version ?? '') : null, at: Date.now() });
  });
  const shown = await openPartition(page, o);
  if (shown !== o.from) throw new Error(`the model panel shows version ${shown} before the retrain, expected ${o.from}`);
  // Predictions of the old version on the chart: what a new version has to replace.
  await page.click('[data-testid=predict-visible]');
  await page.waitForFunction(() => !document.querySelector('[data-testid=prediction-loading]'), null, { timeout: 60_000 });
  for (let i = 0; i < 40 && !answers.some((a) => a.version === o.from); i++) await page.waitForTimeout(250); // the body is read after the answer
  const first = answers.find((a) => a.version === o.from);
  if (!first) throw new Error(`"Run on visible" got no prediction of version ${o.from}: ${JSON.stringify(answers)}`);
  const markersBefore = await num(page, 'prediction-markers');
  log(`panel shows ${o.from}, ${markersBefore} prediction markers drawn by it; waiting up to ${o.timeout} s for another version`);

  const started = Date.now();
  const deadline = started + o.timeout * 1000;
  let version = shown;
  while (Date.now() < deadline) {
    version = await page.textContent('[data-testid=model-version]');
    if (version !== o.from) {
      const rerun = answers.find((a) => a.version === version && a.at > first.at);
      if (rerun && !(await page.isVisible('[data-testid=prediction-loading]'))) {
        const shownAt = Date.now();
        const markersAfter = await num(page, 'prediction-markers');
        const range = await page.textContent('[data-testid=prediction-range]');
        const waited = Math.round((shownAt - started) / 100) / 10;
        return { from: o.from, version, waited, shownAt, markersBefore, markersAfter, rerun: rerun.path, range };
      }
    }
    await page.waitForTimeout(250);
  }
  const since = answers.filter((a) => a.at > first.at);
  throw new Error(
    `timed out after ${o.timeout} s: the model panel shows version ${version} (waiting for one other than ${o.from}` +
      ` and the overlay predicted again by it); prediction answers since the first: ${JSON.stringify(since)}`,
  );
}

async function main() {
  const o = options(process.argv.slice(2));
  ensureChromium(); // a fresh machine has no Chromium until the first browser run installs it
  const browser = await launchBrowser();
  let page;
  try {
    const opened = await newPage(browser);
    page = opened.page;
    const { pageErrors } = opened;
    const result = o.mode === 'save' ? await save(page, o) : await awaitModel(page, o);
    if (pageErrors.length) throw new Error(`uncaught errors in the page:\n${pageErrors.join('\n')}`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (err) {
    const shot = path.join(os.tmpdir(), `loop-probe-${o.mode}-${process.pid}.png`);
    const taken = await page?.screenshot({ path: shot }).then(() => true, () => false);
    err.message = `${o.mode}: ${err.message}${taken ? `\n(screenshot: ${shot})` : ''}`;
    throw err;
  } finally {
    await browser.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`loop-probe: ${err.message}\n`);
    process.exit(1);
  },
);
