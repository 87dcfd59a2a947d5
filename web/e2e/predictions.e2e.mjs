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
 * Part of `npm run test:e2e` (run.mjs); `node e2e/predictions.e2e.mjs` runs it alone.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  assert,
  candleCount,
  chartBox,
  chartSel,
  dragPan,
  getJson,
  num,
  postJson,
  PYTHON,
  REPO,
  scanCanvas,
  setRange,
  summary,
  tempDir,
  waitForCandles,
  waitForMarkers,
  waitForModel,
  zoom,
} from './harness.mjs';

const POLL_MS = Number(process.env.E2E_MODEL_POLL_MS || 3000);
const THRESHOLD = 0.5; // the panel's initial confidence threshold
/**
 * The sample data's planted patterns (labeling.labels). A model trained by the pipeline may
 * also predict TA-Lib candlestick labels (short, frequent spans the pipeline does not accept
 * from annotators): the disagreement checks hide those in the panel and work on these.
 */
const PATTERN_LABELS = ['bull_flag', 'double_top', 'head_and_shoulders'];
/**
 * TA-Lib candlestick labels form a layer of their own, off by default and never compared with
 * the annotators' spans: this suite switches it on (and opens its labels) to see every
 * prediction drawn; the summary counts the chart patterns only.
 */
const isCandlestick = (label) => /^(bullish|bearish)_[a-z0-9]+$/.test(label) && !PATTERN_LABELS.includes(label);
const chartOnly = (spans) => spans.filter((x) => !isCandlestick(x.label));

async function showCandlestickLayer(page) {
  if (!(await page.isChecked('[data-testid=candlestick-layer]'))) await page.check('[data-testid=candlestick-layer]');
  const details = page.locator('[data-testid=candlestick-labels]');
  if ((await details.count()) && !(await details.evaluate((d) => d.open))) await details.locator('summary').click();
}

export const env = { NEXT_PUBLIC_PREDICTIONS_ENABLED: 'true', NEXT_PUBLIC_MODEL_POLL_MS: String(POLL_MS) };

// ------------------------------------------------------------------------------------------

async function listAnnotations(api, q) {
  return getJson(api(`/api/span-annotations?${q}`));
}


// ------------------------------------------------------------------------------------------

/**
 * A reload without the shown prediction this browser keeps (lib/predictions/view-settings.ts),
 * so a run asks the service again instead of answering from the restored result.
 */
async function reloadWithoutKeptPrediction(page) {
  await page.evaluate(() => {
    for (const key of Object.keys(localStorage)) if (key.startsWith('annotator.prediction.v1:')) localStorage.removeItem(key);
  });
  await page.reload();
}

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

  await check('the panel shows the serving model, per-class F1, and a checkbox per label with its colour and F1', async () => {
    await page.goto(pageUrl);
    await waitForCandles(page);
    await waitForModel(page);
    const info = await getJson(api('/api/model/info'));
    const model = info.models.find((m) => m.pair === partition.pair && m.timeframe === partition.timeframe);
    assert(model, `no model for the partition in ${JSON.stringify(info).slice(0, 300)}`);
    s.model = model;
    assert((await page.textContent('[data-testid=model-name]')) === model.name, 'model name');
    assert((await page.textContent('[data-testid=model-version]')) === model.version, 'model version');
    await page.click('[data-testid=model-info] summary');
    // The training time readable (minutes, UTC), the exact one in its title.
    const trained = await page.textContent('[data-testid=model-trained]');
    const when = new Date(Date.parse(/Z|[+-]\d\d:?\d\d$/i.test(model.trained_at) ? model.trained_at : `${model.trained_at}Z`));
    assert(trained === `trained ${when.toISOString().slice(0, 16).replace('T', ' ')} UTC`, `trained_at shown as "${trained}" (${model.trained_at})`);
    assert((await page.getAttribute('[data-testid=model-trained]', 'title')) === model.trained_at, 'the exact training time is not in the title');
    const rows = await page.$$eval('.model-info__f1 tbody tr', (trs) => trs.length);
    assert(rows === Object.keys(model.metrics.per_class).length, `${rows} F1 rows`);
    const classes = Object.keys(model.metrics.per_class ?? {});
    for (const { name, color } of model.labels) {
      const toggle = page.locator(`[data-testid="label-toggle-${name}"]`);
      const text = await toggle.textContent();
      const hasF1 = classes.some((c) => c === name || c.slice(2) === name);
      assert(text.includes(name) && (!hasF1 || /F1 \d\.\d\d/.test(text)), `label toggle: ${text}`);
      const swatch = await toggle.locator('.swatch').evaluate((el) => getComputedStyle(el).backgroundColor);
      const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(color.slice(i, i + 2), 16));
      // The chart patterns keep the model's colour; a candlestick label's colour may be moved
      // off one too close to another (lib/labels.ts distinctColors, annotator.e2e.mjs #5).
      if (!isCandlestick(name)) assert(swatch === `rgb(${r}, ${g}, ${b})`, `swatch ${swatch} for ${color}`);
      else assert(/^rgb\(\d+, \d+, \d+\)$/.test(swatch), `swatch ${swatch} for ${name}`);
    }
    assert(await page.isEnabled('[data-testid=predict-visible]'), 'Run on visible is disabled');
    await page.click('[data-testid=model-info] summary');
    await showCandlestickLayer(page);
  });

  await check('"Run on visible" sends the candles in view to /api/predict and draws bars and markers; a shimmer covers the chart meanwhile', async () => {
    await zoom(page, 600, 6); // a wider view: a few patterns in it
    let sent = null;
    await page.route('**/api/predict', async (route) => {
      sent = route.request().postDataJSON();
      await new Promise((resolve) => setTimeout(resolve, 1200));
      await route.continue();
    });
    await page.click('[data-testid=predict-visible]');
    await page.waitForSelector('[data-testid=prediction-loading]', { timeout: 5000 });
    await page.waitForSelector('[data-testid=prediction-loading]', { state: 'detached', timeout: 30_000 });
    await page.unroute('**/api/predict');
    const markers = await waitForMarkers(page, (n) => n > 0);
    const bars = await num(page, 'prediction-bars');
    assert(bars > markers, `${bars} bars, ${markers} markers`);
    // Markers are drawn (with their text unless the view is crowded with them).
    const detail = await page.getAttribute(chartSel, 'data-marker-detail');
    assert(detail === 'text' || detail === 'arrows', `marker detail ${detail}`);
    // The request: the candles in view plus the warm-up the model needs before them.
    const loaded = await candleCount(page);
    assert(sent && sent.pair === partition.pair && sent.candles.length > 100 && sent.candles.length < loaded, `sent ${sent?.candles.length}`);
    assert(sent.candles.length >= (s.model.unlabeled_leading ?? 0) + 100, 'no warm-up sent');
    // The same request straight to the service: the same spans are drawn.
    const direct = await postJson(api('/api/predict'), sent);
    const expected = direct.spans.filter((x) => x.avg_confidence >= THRESHOLD);
    const rangeText = await page.textContent('[data-testid=prediction-range]');
    assert(rangeText.startsWith('Visible candles'), rangeText);
    // Spans of the context candles (outside the view) are part of the answer too.
    assert(markers === expected.length, `${markers} markers, the service has ${expected.length} spans >= ${THRESHOLD}`);
    assert((await summary(page, 'predictions')) === chartOnly(expected).length, 'summary count');
    assert((await summary(page, 'missed_by_human')) === chartOnly(expected).length, 'with no annotations every chart-pattern prediction is missed_by_human');
  });

  await check('the same view again comes from the cache, without a request', async () => {
    const before = predictRequests.length;
    const markers = await num(page, 'prediction-markers');
    await page.click('[data-testid=predict-visible]');
    await page.waitForTimeout(600);
    assert(predictRequests.length === before, `${predictRequests.length - before} new requests`);
    assert((await num(page, 'prediction-markers')) === markers, 'markers changed');
  });

  await check('"Predict all" asks /api/predict/batch for the loaded range and draws every prediction', async () => {
    // What the service says for the loaded range, asked directly through the proxy.
    const oldest = Number(await page.getAttribute(chartSel, 'data-oldest'));
    const newest = Number(await page.getAttribute(chartSel, 'data-newest'));
    const batch = await postJson(api('/api/predict/batch'), { pair: partition.pair, timeframe: partition.timeframe, start: oldest, end: newest });
    s.batch = batch;
    s.spans = batch.spans.filter((x) => x.avg_confidence >= THRESHOLD);
    const bars = batch.predictions.filter((p) => p.label !== 'O' && p.confidence >= THRESHOLD).length;
    await page.click('[data-testid=predict-all]');
    await page.waitForFunction(() => document.querySelector('[data-testid=prediction-range]')?.textContent.startsWith('All loaded'), null, {
      timeout: 60_000,
    });
    await waitForMarkers(page, s.spans.length);
    assert(predictRequests.at(-1).url.endsWith('/api/predict/batch'), predictRequests.at(-1).url);
    assert((await num(page, 'prediction-bars')) === bars, `${await num(page, 'prediction-bars')} bars, service: ${bars}`);
    assert((await summary(page, 'predictions')) === chartOnly(s.spans).length, 'summary count');
    // The picture for the docs: the planted patterns only (a pipeline-trained model also
    // predicts many short TA-Lib candlestick spans: their layer off).
    await page.uncheck('[data-testid=candlestick-layer]');
    await page.mouse.move(5, 5);
    await page.waitForTimeout(300);
    await shot('prediction-overlay.png');
    await showCandlestickLayer(page);
    await waitForMarkers(page, s.spans.length, 5000);
  });

  await check('the confidence threshold filters bars and markers', async () => {
    const count = (t) => ({
      markers: s.batch.spans.filter((x) => x.avg_confidence >= t).length,
      bars: s.batch.predictions.filter((p) => p.label !== 'O' && p.confidence >= t).length,
    });
    for (const t of [0.99, 1, 0.9]) {
      await setRange(page, 'confidence-threshold', t);
      const want = count(t);
      await waitForMarkers(page, want.markers, 5000);
      const bars = await num(page, 'prediction-bars');
      assert(bars === want.bars, `threshold ${t}: ${bars} bars, expected ${want.bars}`);
      assert((await page.textContent('[data-testid=threshold-value]')) === `${Math.floor(t * 100)}%`, 'threshold shown');
      const chartSpans = chartOnly(s.batch.spans.filter((x) => x.avg_confidence >= t)).length;
      assert((await summary(page, 'predictions')) === chartSpans, 'summary follows the threshold');
    }
    assert(count(0.99).markers < count(0.5).markers || count(0.99).bars < count(0.5).bars, 'the threshold changed nothing');
    await setRange(page, 'confidence-threshold', THRESHOLD);
    await waitForMarkers(page, s.spans.length, 5000);
  });

  await check('hiding a label removes its bars and markers; showing it brings them back', async () => {
    const perLabel = {};
    for (const x of s.spans) perLabel[x.label] = (perLabel[x.label] ?? 0) + 1;
    const [label, n] = Object.entries(perLabel).sort((a, b) => b[1] - a[1])[0];
    await page.click(`[data-testid="label-toggle-${label}"] input`);
    await waitForMarkers(page, s.spans.length - n, 5000);
    const drawn = JSON.parse(await page.getAttribute(chartSel, 'data-prediction-labels'));
    assert(!(label in drawn) && Object.keys(drawn).length > 0, `bars by label: ${JSON.stringify(drawn)}`);
    await page.click(`[data-testid="label-toggle-${label}"] input`);
    await waitForMarkers(page, s.spans.length, 5000);
    assert(label in JSON.parse(await page.getAttribute(chartSel, 'data-prediction-labels')), 'label not back');
  });

  await check('annotations against the predictions give each kind of disagreement, highlighted on the chart', async () => {
    // Three consecutive predicted spans A, B, C with room between A and B: A annotated with
    // another label (label_mismatch), B with its own (agreement), C left alone (missed_by_human),
    // and a human span in the gap between A and B (missed_by_model).
    const times = s.batch.predictions.map((p) => p.time);
    const step = times[1] - times[0];
    const modelLabels = s.model.labels.map((l) => l.name);
    const labels = modelLabels.filter((l) => PATTERN_LABELS.includes(l));
    const hidden = modelLabels.filter((l) => !PATTERN_LABELS.includes(l));
    assert(labels.length >= 2, `the model predicts fewer than two of ${PATTERN_LABELS}: ${modelLabels}`);
    const spans = s.spans.filter((x) => labels.includes(x.label));
    // Room between A and B; spans of 5+ candles when there are such (a clearer picture).
    const fits = (j, minLength) =>
      spans[j + 1].start_index - spans[j].end_index > 16 &&
      [spans[j], spans[j + 1]].every((x) => x.end_index - x.start_index + 1 >= minLength);
    const pick = (minLength) => {
      for (let j = spans.length - 3; j >= 0; j--) if (fits(j, minLength)) return j;
      return -1;
    };
    const i = pick(5) >= 0 ? pick(5) : pick(1);
    assert(i >= 0, `no two predicted spans with a gap between them among ${spans.length}`);
    const [A, B, C] = [spans[i], spans[i + 1], spans[i + 2]];
    const other = labels.find((l) => l !== A.label);
    const gapStart = A.end_time + 4 * step;
    const gap = { start_time: gapStart, end_time: gapStart + 8 * step };
    const base = { pair: partition.pair, timeframe: partition.timeframe };
    await postJson(api('/api/span-annotations'), { ...base, label: other, start_time: A.start_time, end_time: A.end_time });
    await postJson(api('/api/span-annotations'), { ...base, label: B.label, start_time: B.start_time, end_time: B.end_time });
    await postJson(api('/api/span-annotations'), { ...base, label: labels[0], ...gap });
    Object.assign(s, { A, B, C });
    await page.reload();
    await waitForCandles(page);
    await waitForModel(page);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=annotation-item]').length === 3);
    assert(hidden.every(isCandlestick), `labels besides the candlestick ones: ${hidden}`);
    await page.uncheck('[data-testid=candlestick-layer]');
    await page.click('[data-testid=predict-all]');
    await waitForMarkers(page, spans.length);
    s.shown = spans;
    const got = {};
    for (const k of ['predictions', 'agreements', 'missed_by_model', 'missed_by_human', 'label_mismatch', 'dismissed']) got[k] = await summary(page, k);
    const want = {
      predictions: spans.length,
      agreements: 1,
      missed_by_model: 1,
      missed_by_human: spans.length - 2,
      label_mismatch: 1,
      dismissed: 0,
    };
    assert(JSON.stringify(got) === JSON.stringify(want), `summary ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    assert((await num(page, 'highlights')) === spans.length, `${await num(page, 'highlights')} highlights`);
    // Show A, the gap, B and C together: jump to the gap, let the jump settle, then zoom out
    // around it until the three kinds are in view.
    await page.click('[data-testid=disagreement-item][data-kind=missed_by_model] .disagreement__jump');
    await page.waitForTimeout(1000);
    let seen;
    for (let i = 0; i < 15; i++) {
      await page.mouse.move(5, 5);
      await page.waitForTimeout(150);
      seen = { orange: await scanCanvas(page, 'orange'), red: await scanCanvas(page, 'red'), yellow: await scanCanvas(page, 'yellow') };
      if (seen.orange.n > 20 && seen.red.n > 20 && seen.yellow.n > 50) break;
      await zoom(page, 600, 3); // a wheel notch zooms out by about a tenth
    }
    assert(seen.orange.n > 20, `label_mismatch border not drawn (${seen.orange.n} orange pixels)`);
    assert(seen.red.n > 20, `missed_by_model border not drawn (${seen.red.n} red pixels)`);
    assert(seen.yellow.n > 50, `missed_by_human fill not drawn (${seen.yellow.n} yellow pixels)`);
    await shot('disagreement-highlights.png');
  });

  await check('"Show only disagreements" keeps the bars and markers of the disputed predictions', async () => {
    const missed = await summary(page, 'missed_by_human');
    const mismatched = await summary(page, 'label_mismatch');
    const barsBefore = await num(page, 'prediction-bars');
    await page.check('[data-testid=show-only-disagreements]');
    await waitForMarkers(page, missed + mismatched, 5000);
    assert((await num(page, 'prediction-bars')) < barsBefore, 'the agreeing prediction kept its bars');
    await page.uncheck('[data-testid=show-only-disagreements]');
    await waitForMarkers(page, s.shown.length, 5000);
  });

  await check('clicking a missed_by_human prediction opens the dialog pre-filled; saved with source human and model_prediction', async () => {
    const { C } = s;
    const id = `missed_by_human:${partition.pair}|${partition.timeframe}|${C.start_time}|${C.label}`;
    const missedBefore = await summary(page, 'missed_by_human');
    await page.click(`[data-testid=disagreement-item][data-id="${id}"] .disagreement__jump`);
    await page.waitForTimeout(400);
    await page.mouse.move(5, 5);
    // The jump centres C in the pane (the chart's largest canvas): look in a narrow band there,
    // so a neighbouring prediction's fill is not clicked instead.
    const pane = await page.$eval(chartSel, (el) => {
      const c = [...el.querySelectorAll('canvas')].sort((a, b) => b.width * b.height - a.width * a.height)[0].getBoundingClientRect();
      return { width: c.width, height: c.height };
    });
    const yellow = await scanCanvas(page, 'yellow', { x1: pane.width / 2 - 4, x2: pane.width / 2 + 4, y1: 0, y2: pane.height });
    assert(yellow.n > 5, `the missed_by_human fill is not drawn (${yellow.n} yellow pixels)`);
    await page.mouse.click(yellow.x, yellow.y);
    await page.waitForSelector('[data-testid=annotation-dialog]');
    assert((await page.textContent('[data-testid=annotation-dialog] h2')) === 'Review prediction', 'not the review dialog');
    assert((await page.getAttribute(`[data-testid=label-option-${C.label}]`, 'aria-pressed')) === 'true', 'label not pre-selected');
    assert((await page.getAttribute(chartSel, 'data-marker-detail')) === 'text', 'no marker text at this zoom');
    const model = await page.textContent('[data-testid=dialog-prediction]');
    assert(model.includes(C.label) && model.includes(s.model.version), model);
    await shot('prediction-review-dialog.png');
    await page.click('[data-testid=save-annotation]');
    await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
    const saved = (await listAnnotations(api, q)).find((a) => a.start_time === C.start_time && a.end_time === C.end_time);
    assert(saved, 'not saved with the prediction\'s times');
    assert(saved.label === C.label && saved.source === 'human', JSON.stringify(saved));
    const mp = saved.model_prediction;
    assert(
      mp && mp.label === C.label && Math.abs(mp.confidence - C.avg_confidence) < 1e-9 && mp.model_version === s.model.version,
      `model_prediction ${JSON.stringify(mp)}`,
    );
    s.accepted = saved;
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid=summary-missed_by_human]').textContent) === n,
      missedBefore - 1,
    );
    assert((await summary(page, 'agreements')) === 2, 'the accepted prediction does not agree now');
  });

  await check('"Not a pattern" on a prediction saves a negative annotation with what the model said', async () => {
    const item = page.locator('[data-testid=disagreement-item][data-kind=missed_by_human]').first();
    const id = await item.getAttribute('data-id');
    const [, pair_tf, start, label] = /^missed_by_human:([^|]+\|[^|]+)\|(\d+)\|(.+)$/.exec(id) ?? [];
    assert(pair_tf === `${partition.pair}|${partition.timeframe}`, id);
    const D = s.shown.find((x) => x.start_time === Number(start) && x.label === label);
    const missedBefore = await summary(page, 'missed_by_human');
    await item.locator('[data-testid=not-a-pattern]').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=summary-dismissed]').textContent) === 1);
    const negative = (await listAnnotations(api, q)).find((a) => a.label === 'O');
    assert(negative && negative.start_time === D.start_time && negative.end_time === D.end_time, JSON.stringify(negative));
    assert(negative.source === 'human_correction', negative.source);
    const mp = negative.model_prediction;
    assert(
      mp && mp.label === D.label && Math.abs(mp.confidence - D.avg_confidence) < 1e-9 && mp.model_version === s.model.version,
      `model_prediction ${JSON.stringify(mp)}`,
    );
    assert((await summary(page, 'missed_by_human')) === missedBefore - 1, 'still counted as missed');
    s.negative = negative;
    s.D = D;
  });

  await check('the export holds the accepted prediction and the negative annotation', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-link]')]);
    const file = path.join(web.dir, 'export.json');
    await download.saveAs(file);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const keys = 'id,pair,timeframe,label,start_time,end_time,confidence,source,model_prediction,note,created_at';
    const accepted = doc.annotations.find((a) => a.id === s.accepted.id);
    const negative = doc.annotations.find((a) => a.id === s.negative.id);
    assert(accepted && negative, 'missing from the export');
    for (const a of [accepted, negative]) assert(Object.keys(a).join() === keys, `keys ${Object.keys(a)}`);
    assert(accepted.source === 'human' && accepted.model_prediction.label === s.C.label, JSON.stringify(accepted));
    assert(
      negative.label === 'O' && negative.source === 'human_correction' && negative.model_prediction.model_version === s.model.version,
      JSON.stringify(negative),
    );
    s.exportFile = file;
  });

  await check('the pipeline reads the export: labeled_windows tags the negative span O and the accepted one B/I', async () => {
    if (!fixture.configPath) throw new Error('no pipeline config for the round trip: set ML_PLATFORM_CONFIG with INFERENCE_API_URL');
    const dir = tempDir('web-e2e-roundtrip-');
    const annotations = path.join(dir, 'annotations');
    const labeled = path.join(dir, 'labeled');
    fs.mkdirSync(annotations);
    fs.mkdirSync(path.join(dir, 'dagster'));
    fs.copyFileSync(s.exportFile, path.join(annotations, 'annotations_export.json'));
    // The test data's config, with the annotations and the labeled output in this folder.
    const config = path.join(dir, 'pipeline.yaml');
    const py = (code, args, env = {}) => {
      const r = spawnSync(PYTHON, ['-c', code, ...args], { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO, ...env }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`python failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
      return r.stdout;
    };
    py(
      'import sys, yaml\nc = yaml.safe_load(open(sys.argv[1]))\nc["data"]["annotations_path"] = sys.argv[2]\nc["data"]["labeled_path"] = sys.argv[3]\nopen(sys.argv[4], "w").write(yaml.safe_dump(c, sort_keys=False))',
      [fixture.configPath, annotations, labeled, config],
    );
    const key = `${partition.pair}|${partition.timeframe}`;
    const t0 = Date.now();
    const r = spawnSync(
      path.join(REPO, '.venv', 'bin', 'dagster'),
      ['asset', 'materialize', '-m', 'assets.definitions', '--select', 'labeled_windows', '--partition', key],
      { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO, DAGSTER_HOME: path.join(dir, 'dagster'), ML_PLATFORM_CONFIG: config }, encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`dagster asset materialize failed (exit ${r.status}):\n${(r.stdout + r.stderr).slice(-4000)}`);
    console.log(`# labeled_windows materialized in ${Math.round((Date.now() - t0) / 1000)} s`);
    const out = py(
      [
        'import json, sys, pandas as pd',
        'f = pd.read_parquet(sys.argv[1])',
        'def tags(a, b): return f.loc[(f["time"] >= int(a)) & (f["time"] <= int(b)), "tag"].tolist()',
        'print(json.dumps({"negative": tags(sys.argv[2], sys.argv[3]), "accepted": tags(sys.argv[4], sys.argv[5])}))',
      ].join('\n'),
      [
        path.join(labeled, `${partition.pair}_${partition.timeframe}.parquet`),
        ...[s.negative.start_time, s.negative.end_time, s.accepted.start_time, s.accepted.end_time].map(String),
      ],
    );
    const { negative, accepted } = JSON.parse(out.trim().split('\n').at(-1));
    const candlesIn = (a) => Math.round((a.end_time - a.start_time) / (s.batch.predictions[1].time - s.batch.predictions[0].time)) + 1;
    assert(negative.length === candlesIn(s.negative), `${negative.length} labeled rows in the negative span`);
    assert(negative.every((t) => t === 'O'), `negative span tags: ${negative.join(' ')}`);
    const label = s.accepted.label;
    assert(accepted.length === candlesIn(s.accepted), `${accepted.length} labeled rows in the accepted span`);
    assert(accepted[0] === `B-${label}` && accepted.slice(1).every((t) => t === `I-${label}`), `accepted span tags: ${accepted.join(' ')}`);
  });

  await check('the master toggle hides bars, markers and highlights, and shows them again', async () => {
    const before = [await num(page, 'prediction-bars'), await num(page, 'prediction-markers'), await num(page, 'highlights')];
    assert(before.every((n) => n > 0), `nothing drawn: ${before}`);
    await page.uncheck('[data-testid=predictions-visible]');
    await page.waitForFunction((sel) => document.querySelector(sel).dataset.predictionMarkers === '0', chartSel);
    const hidden = [await num(page, 'prediction-bars'), await num(page, 'prediction-markers'), await num(page, 'highlights')];
    assert(hidden.every((n) => n === 0), `still drawn: ${hidden}`);
    await page.check('[data-testid=predictions-visible]');
    await waitForMarkers(page, before[1], 5000);
    assert((await num(page, 'highlights')) === before[2], 'highlights not back');
  });

  await check('a new model version seen through /api/model/info drops the cached results and runs the shown prediction again', async () => {
    if (!service.managed) {
      ctx.reporter.skip('new model version', 'the service at INFERENCE_API_URL is not ours to change');
      return;
    }
    // "Retrain": the same model saved again under a new version, then the service reloads it.
    const version = `${s.model.version}-r2`;
    // A partition folder with a champion pointer (ml_platform.bundle_store) gets a new version
    // folder and the pointer moved to it; a flat bundle (the layout before versions) is rewritten.
    const code = [
      'import sys, msgspec',
      'from pathlib import Path',
      'from ml_platform.bundle import load_bundle, save_bundle',
      'loc, version = Path(sys.argv[1]), sys.argv[2]',
      'b = load_bundle(loc)',
      'meta = msgspec.structs.replace(b.meta, model_version=version)',
      'part = loc.parent.parent if loc.parent.name == "versions" else loc',
      'if (part / "champion.json").exists():',
      '    from ml_platform import bundle_store',
      '    bundle_store.write_version(part, meta, b.model)',
      '    bundle_store.promote(part, version, reason="e2e: retrained")',
      'else:',
      '    save_bundle(loc, meta, b.model)',
    ].join('\n');
    // Counted before the new version exists: the service's own reload poll may pick it up (and
    // the page rerun) before the explicit reload below answers.
    const before = predictRequests.length;
    const r = spawnSync(PYTHON, ['-c', code, s.model.location, version], { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`re-saving the bundle failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
    // The rerun asks for the range that was shown, not for all that is loaded by now (the
    // jumps and zooms above loaded older candles).
    const shownRange = await page.textContent('[data-testid=prediction-range]');
    await postJson(`${service.url}/model/reload`, {});
    await page.waitForFunction((v) => document.querySelector('[data-testid=model-version]')?.textContent === v, version, {
      timeout: POLL_MS + 5000,
    });
    await page.waitForFunction(() => !document.querySelector('[data-testid=prediction-loading]'));
    await waitForMarkers(page, s.shown.length, 10_000);
    const rerun = predictRequests.slice(before);
    assert((await page.textContent('[data-testid=prediction-range]')) === shownRange, `range ${await page.textContent('[data-testid=prediction-range]')}, shown before: ${shownRange}`);
    assert(rerun.length === 1 && rerun[0].url.endsWith('/api/predict/batch'), `requests after the new version: ${JSON.stringify(rerun)}`);
    s.model = { ...s.model, version };
  });

  await check('a prediction error shows in the panel and leaves the controls and annotating alone', async () => {
    await reloadWithoutKeptPrediction(page);
    await waitForCandles(page);
    await waitForModel(page);
    const detail = 'e2e: 40 candles are fewer than the 55 the model needs (min_candles)';
    await page.route('**/api/predict', (route) =>
      route.fulfill({ status: 422, contentType: 'application/json', body: JSON.stringify({ status_code: 422, error: 'unprocessable', detail }) }),
    );
    await page.click('[data-testid=predict-visible]');
    await page.waitForSelector('[data-testid=prediction-error]');
    assert((await page.textContent('[data-testid=prediction-error]')).includes(detail), 'the message is not shown');
    await page.unroute('**/api/predict');
    assert((await page.getAttribute('[data-testid=prediction-panel]', 'data-server')) === 'online', 'a 422 marked the server offline');
    assert(await page.isEnabled('[data-testid=predict-visible]'), 'controls disabled after a 422');
    assert(!(await page.isVisible('[data-testid=model-offline-banner]')), 'offline banner after a 422');
    await page.click('[data-testid=mode-select]');
    assert((await page.getAttribute('[data-testid=mode-select]', 'aria-pressed')) === 'true', 'cannot switch to marking');
    await page.click('[data-testid=mode-pan]');
  });

  await check('auto-predict predicts the view, once more after panning stops (debounced)', async () => {
    await reloadWithoutKeptPrediction(page);
    await waitForCandles(page);
    await waitForModel(page);
    await zoom(page, 300, 3);
    const first = predictRequests.length;
    await page.check('[data-testid=auto-predict]');
    await waitForMarkers(page, (n) => n > 0);
    assert(predictRequests.length === first + 1, `${predictRequests.length - first} requests on switching it on`);
    const range = await page.textContent('[data-testid=prediction-range]');
    // A pan of many small moves: one request after it ends, not one per move.
    await dragPan(page, 0.1, 0.95, 40);
    await page.waitForTimeout(1500);
    await waitForMarkers(page, (n) => n >= 0);
    assert(predictRequests.length === first + 2, `${predictRequests.length - first - 1} requests after panning`);
    assert((await page.textContent('[data-testid=prediction-range]')) !== range, 'the predicted range did not follow the view');
    await page.uncheck('[data-testid=auto-predict]');
  });

  await check('with the model server stopped: offline banner, prediction controls disabled, annotating goes on', async () => {
    if (!service.managed) {
      ctx.reporter.skip('outage', 'the service at INFERENCE_API_URL is not ours to stop');
      return;
    }
    await service.stop();
    const stopped = Date.now();
    await page.waitForSelector('[data-testid=model-offline-banner]', { timeout: POLL_MS + 10_000 });
    console.log(`# offline banner after ${((Date.now() - stopped) / 1000).toFixed(1)} s`);
    for (const id of ['predict-visible', 'predict-all', 'confidence-threshold', 'show-only-disagreements', 'auto-predict']) {
      assert(await page.isDisabled(`[data-testid=${id}]`), `${id} is enabled while the model server is offline`);
    }
    // Annotating: mark a span on the loaded candles and save it.
    const before = (await listAnnotations(api, q)).length;
    await page.click('[data-testid=mode-select]');
    const box = await chartBox(page);
    const y = box.y + box.height * 0.5;
    await page.mouse.move(box.x + box.width * 0.4, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 8 });
    await page.mouse.up();
    await page.waitForSelector('[data-testid=annotation-dialog]');
    await page.click(`[data-testid=label-option-${PATTERN_LABELS[0]}]`);
    await page.fill('[data-testid=note-input]', 'saved while the model server was down');
    await shot('model-offline.png');
    await page.click('[data-testid=save-annotation]');
    await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
    await page.click('[data-testid=mode-pan]');
    const after = await listAnnotations(api, q);
    assert(after.length === before + 1 && after.some((a) => a.note === 'saved while the model server was down'), 'not saved');
  });

  await check(`after the model server restarts the page reconnects by itself within the poll interval (${POLL_MS} ms)`, async () => {
    if (!service.managed) {
      ctx.reporter.skip('reconnect', 'the service at INFERENCE_API_URL is not ours to restart');
      return;
    }
    await service.start();
    const up = Date.now();
    await page.waitForSelector('[data-testid=model-offline-banner]', { state: 'detached', timeout: POLL_MS + 10_000 });
    const took = Date.now() - up;
    console.log(`# reconnected ${(took / 1000).toFixed(1)} s after the service answered`);
    assert(took <= POLL_MS + 1500, `reconnected after ${took} ms`);
    assert(await page.isEnabled('[data-testid=predict-all]'), 'controls still disabled');
    assert((await page.getAttribute('[data-testid=prediction-panel]', 'data-server')) === 'online', 'panel not online');
  });

  await check('no uncaught errors in the page', async () => {
    assert(!pageErrors.length, pageErrors.join('\n'));
  });
}


// Alone: `node e2e/predictions.e2e.mjs` (not awaited here: run.mjs imports this module).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  void import('./run.mjs').then(({ main }) => main(['predictions']));
}
