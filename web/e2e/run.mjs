#!/usr/bin/env node
/**
 * `npm run test:e2e`: the browser suites in sequence, sharing one set-up.
 *
 * 1. Chromium (installed with apt-get when /usr/bin/chromium is missing);
 * 2. the test data: the repository's `scripts/e2e_fixture.py --out DIR` (the pipeline through
 *    Dagster; its `--mode perf` data when that leaves no model bundle);
 * 3. the inference service (`.venv/bin/python -m serving --port N` with that config), or the
 *    running one at INFERENCE_API_URL;
 * 4. one `next build` (skipped when .next is newer than the sources);
 * 5. per suite, `next start` with a fresh database and the suite's environment:
 *    annotate.e2e.mjs (predictions switched off), predictions.e2e.mjs (the overlay against the
 *    real model, the labeling round trip, the outage), review.e2e.mjs (the review queue panel by keyboard; it builds the queue
 *    file with `python -m ml_platform.review`), perf.e2e.mjs (frame times with predictions
 *    over 50k candles; when the test data has fewer, it gets `scripts/e2e_fixture.py --mode perf`'s
 *    and a second service of its own).
 *
 * Screenshots and frame-times.md go to a temporary folder (named at the end); E2E_DOCS=1
 * (`make docs-screenshots`) writes them into docs/ instead, the committed copies.
 *
 * Every process started is stopped at the end. Prints "ok - …" per check and closes with
 * "N passed, N failed"; exits 1 when a check failed.
 *
 * Environment: INFERENCE_API_URL (use a running service; the outage check is then skipped),
 * ML_PLATFORM_CONFIG (its config, for the labeling round trip), E2E_CONFIG (reuse test data
 * already written), E2E_CANDLES (passed to the fixture as --candles), E2E_PAIR + E2E_TIMEFRAME,
 * E2E_BUILD=never|always|auto, E2E_DATABASE=postgres (TEST_DATABASE_URL server),
 * E2E_MODEL_POLL_MS (default 3000), E2E_MAX_FRAME_MS (default 50), E2E_PERF_CANDLES (default
 * 50000), E2E_STRICT_FRAMES=1, E2E_HEADED=1, E2E_SCREENSHOTS=0 (none), E2E_DOCS=1 (into docs/),
 * E2E_VERBOSE=1.
 * `node e2e/run.mjs predictions perf` runs some suites.
 */
import { pathToFileURL } from 'node:url';
import * as annotate from './annotate.e2e.mjs';
import * as annotator from './annotator.e2e.mjs';
import * as perf from './perf.e2e.mjs';
import {
  buildIfNeeded,
  choosePartition,
  createReporter,
  ensureChromium,
  inferenceService,
  launchBrowser,
  newPage,
  ownFixture,
  prepareFixture,
  stopAll,
  stopWebServer,
  usedScreenshotDir,
  webServer,
} from './harness.mjs';
import * as predictions from './predictions.e2e.mjs';
import * as review from './review.e2e.mjs';

const SUITES = { annotate, predictions, annotator, review, perf };

export async function main(names = Object.keys(SUITES)) {
  const t0 = Date.now();
  const reporter = createReporter();
  let browser;
  try {
    const unknown = names.filter((n) => !SUITES[n]);
    if (unknown.length) throw new Error(`unknown suite(s) ${unknown.join(', ')}: choose from ${Object.keys(SUITES).join(', ')}`);
    ensureChromium();
    const fixture = prepareFixture();
    const service = await inferenceService(fixture.configPath);
    const partition = await choosePartition(service.url);
    console.log(`# partition: ${partition.pair} ${partition.timeframe} (${partition.candles} candles, model: ${partition.has_model})`);
    buildIfNeeded();
    browser = await launchBrowser();
    for (const name of names) {
      const suite = SUITES[name];
      const started = Date.now();
      console.log(`# suite ${name}`);
      let web = null;
      let context = null;
      let own = null; // a service of the suite's own, for test data the main one lacks
      try {
        let [suiteService, suitePartition, suiteFixture] = [service, partition, fixture];
        if (suite.PERF_CANDLES && partition.candles < suite.PERF_CANDLES) {
          console.log(`# ${partition.pair} ${partition.timeframe} has ${partition.candles} candles, ${name} needs ${suite.PERF_CANDLES}: test data of its own`);
          suiteFixture = ownFixture(suite.PERF_CANDLES);
          own = suiteService = await inferenceService(suiteFixture.configPath, { own: true });
          suitePartition = await choosePartition(own.url, suite.PERF_CANDLES);
        }
        web = await webServer(suiteService.url, suite.env);
        const p = await newPage(browser);
        context = p.context;
        await suite.run({
          ...p,
          web,
          service: suiteService,
          partition: suitePartition,
          fixture: suiteFixture,
          reporter,
        });
      } catch (err) {
        if (!err.reported) reporter.record(`${name}: set-up`, false, String(err.stack || err));
        for (const s of [service, own]) {
          if (s?.entry?.exited) console.log(`# the inference service had exited (${JSON.stringify(s.entry.exit)}); its last words:\n${s.entry.log.slice(-2000)}`);
        }
      } finally {
        await context?.close().catch(() => {});
        if (web) await stopWebServer(web, reporter);
        await own?.stop();
        console.log(`# suite ${name} took ${Math.round((Date.now() - started) / 1000)} s`);
      }
    }
  } catch (err) {
    reporter.record('set-up', false, String(err.stack || err).split('\n').join('\n  '));
  } finally {
    await browser?.close().catch(() => {});
    await stopAll();
  }
  if (usedScreenshotDir()) console.log(`# screenshots and frame times: ${usedScreenshotDir()}`);
  console.log(`# e2e took ${Math.round((Date.now() - t0) / 1000)} s`);
  console.log(`${reporter.passed} passed, ${reporter.failed} failed`);
  process.exit(reporter.failed ? 1 : 0);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.length > 2 ? process.argv.slice(2) : undefined);
}
