#!/usr/bin/env node
/**
 * End-to-end test of the prediction overlay in a real browser against the real inference
 * service and its trained model (the test data of run.mjs):
 *
 * the model info and per-label F1 in the panel; "Run on visible" (with the shimmer while it
 * loads, and the cache answering the same view again); "Predict all" over the loaded range,
 * compared with the service's own answer; the confidence threshold and a hidden label;
 * annotations that make every kind of disagreement, highlighted; "show only disagreements";
 * clicking a missed_by_human prediction on the chart and saving it; "Not a pattern"; the
 * export holding both, and the pipeline's labeled_windows tagging the negative span O; the
 * master toggle; a new model version (cache dropped, prediction run again); a prediction error
 * in the panel; auto-predict (debounced); then the model server stopped (offline banner,
 * controls disabled, annotating goes on) and started again (reconnects within the poll
 * interval). Frame times are perf.e2e.mjs's.
 *
 * The checks are in three parts, run in this order on one page: predictions-overlay.mjs,
 * predictions-labeling.mjs, predictions-model.mjs (what they share: predictions-shared.mjs).
 *
 * Part of `npm run test:e2e` (run.mjs); `node e2e/predictions.e2e.mjs` runs it alone.
 */
import { pathToFileURL } from 'node:url';
import { assert } from './harness.mjs';
import { labelingChecks } from './predictions-labeling.mjs';
import { modelChecks } from './predictions-model.mjs';
import { overlayChecks } from './predictions-overlay.mjs';
import { POLL_MS } from './predictions-shared.mjs';

export const env = { NEXT_PUBLIC_PREDICTIONS_ENABLED: 'true', NEXT_PUBLIC_MODEL_POLL_MS: String(POLL_MS) };

export async function run(ctx) {
  const { page, web, partition, service, fixture, shot, pageErrors } = ctx;
  const check = (name, fn) => ctx.reporter.check(name, fn, page);
  const api = (p) => `${web.url}${p}`;
  const q = new URLSearchParams({ pair: partition.pair, timeframe: partition.timeframe });
  const pageUrl = `${web.url}/?${q}`;
  const predictRequests = [];
  page.on('request', (r) => {
    if (/\/api\/predict(\/batch)?$/.test(new URL(r.url()).pathname)) predictRequests.push({ url: r.url(), at: Date.now() });
  });
  const s = {}; // what later checks need
  const suite = { ctx, page, web, partition, service, fixture, shot, check, api, q, pageUrl, predictRequests, s };

  await overlayChecks(suite); // predictions-overlay.mjs
  await labelingChecks(suite); // predictions-labeling.mjs
  await modelChecks(suite); // predictions-model.mjs

  await check('no uncaught errors in the page', async () => {
    assert(!pageErrors.length, pageErrors.join('\n'));
  });
}

// Alone: `node e2e/predictions.e2e.mjs` (not awaited here: run.mjs imports this module).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  void import('./run.mjs').then(({ main }) => main(['predictions']));
}
