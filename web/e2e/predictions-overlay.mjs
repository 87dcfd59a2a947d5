/**
 * Part of predictions.e2e.mjs: the prediction overlay itself. The model info and per-label F1
 * in the panel; "Run on visible" (with the shimmer while it loads, and the cache answering the
 * same view again); "Predict all" over the loaded range, compared with the service's own
 * answer; the confidence threshold and a hidden label.
 */
import {
  assert,
  candleCount,
  chartSel,
  getJson,
  num,
  postJson,
  setRange,
  summary,
  waitForCandles,
  waitForMarkers,
  waitForModel,
  zoom,
} from './harness.mjs';
import { chartOnly, isCandlestick, showCandlestickLayer, THRESHOLD } from './predictions-shared.mjs';

/** `suite`: the suite's page and context, its `check`, `api`, `pageUrl`, `predictRequests` and `s` (what later checks need). */
export async function overlayChecks(suite) {
  const { page, partition, shot, check, api, pageUrl, predictRequests, s } = suite;

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
}
