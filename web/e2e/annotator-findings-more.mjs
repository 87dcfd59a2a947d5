/**
 * The annotator suite's further checks of findings 2, 3, 9 and 10 (issue 16): the parts that
 * annotator.e2e.mjs and annotator-findings.mjs did not cover. Run by annotator.e2e.mjs after
 * findings 4-10, on its page. Each check sets up its own data, removes it at the end (also when
 * it fails) and fails on the behaviour the finding describes:
 *
 * - #3: a span whose times lie off the stored candles is refused and not stored; a pair the
 *   service does not list is refused and does not appear in the partition selector;
 * - #2: "Show only disagreements" hides the predictions that are not disputed (the candlestick
 *   layer and a prediction the annotator agrees with) and keeps the disputed ones;
 * - #5: the yellow "not annotated" fill is drawn behind the candles: it does not tint them;
 * - #9: a review list of more than 200 disagreements pages: the newest one is listed and the
 *   review steps past 200 items, each current one shown;
 * - #10: a span's label, drawn as high as the chart goes, does not overprint the OHLCV readout.
 */
import { assert, chartSel, getJson, num, postJson, summary, waitForCandles, waitForModel } from './harness.mjs';
import { deleteAll, waitForPrediction } from './annotator-findings.mjs';

const post = (url, body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const isCdl = (l) => /^(bullish|bearish)_/.test(l);

/** The loaded candles of the page (the chart's data-oldest..data-newest), from the API. */
async function loadedCandles(page, api, q) {
  const oldest = Number(await page.getAttribute(chartSel, 'data-oldest'));
  const newest = Number(await page.getAttribute(chartSel, 'data-newest'));
  const list = await getJson(api(`/api/candles?${q}&start=${oldest}&end=${newest}&limit=10000`));
  return list.filter((c) => c.time >= oldest && c.time <= newest);
}

const intersects = (a, b) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;

/** Checks of findings 2, 3, 9 and 10 on `env.page`; `env` is what annotator.e2e.mjs's run() set up. */
export async function moreFindings(env) {
  const { check, page, api, q, pageUrl, partition, candles, step } = env;
  const url = api('/api/span-annotations');
  const span = (label, start_time, end_time) => ({ pair: partition.pair, timeframe: partition.timeframe, label, start_time, end_time });

  // --- 3 -------------------------------------------------------------------------------------
  await check('#3 an unknown pair is refused (400) and does not appear in the partition selector', async () => {
    const zq = new URLSearchParams({ pair: 'ZZZUSD', timeframe: partition.timeframe });
    try {
      const res = await post(url, { ...span('bull_flag', candles[30].time, candles[35].time), pair: 'ZZZUSD' });
      await page.goto(pageUrl);
      await waitForCandles(page);
      const options = await page.$$eval('[data-testid=partition-select] option', (els) => els.map((o) => o.textContent));
      assert(options.some((t) => t.includes(partition.pair)), `the selector lacks ${partition.pair}: ${JSON.stringify(options)}`);
      assert(!options.some((t) => t.includes('ZZZUSD')), `ZZZUSD (answered ${res.status}) is in the partition selector: ${JSON.stringify(options)}`);
      assert(res.status === 400, `unknown pair answered ${res.status}`);
    } finally {
      await deleteAll(api, zq);
    }
  });

  await check('#3 a span whose times lie off the stored candles is refused (400, the field named) and not stored', async () => {
    await deleteAll(api, q);
    try {
      // Far before any stored candle, and past the newest (the page shows the newest candles).
      const first = candles[0].time - 100_000 * step;
      const before = await post(url, span('bull_flag', first, first + 10 * step));
      const body = await before.json();
      assert(before.status === 400, `a span 100,000 candles before the oldest one answered ${before.status}: ${JSON.stringify(body)}`);
      assert(/start_time/.test(body.detail) && /off the stored candles/.test(body.detail), `unclear error: ${body.detail}`);
      await page.goto(pageUrl);
      await waitForCandles(page);
      const newest = Number(await page.getAttribute(chartSel, 'data-newest'));
      const after = await post(url, span('bull_flag', newest - 5 * step, newest + 200 * step));
      assert(after.status === 400, `a span ending 200 candles after the newest one answered ${after.status}`);
      const stored = await getJson(api(`/api/span-annotations?${q}`));
      assert(stored.length === 0, `stored: ${JSON.stringify(stored.map((a) => [a.start_time, a.end_time]))}`);
    } finally {
      await deleteAll(api, q);
    }
  });

  // --- 2 -------------------------------------------------------------------------------------
  await check('#2 "Show only disagreements" hides the predictions not disputed (candlestick layer, an agreed one) and keeps the disputed ones', async () => {
    await deleteAll(api, q);
    try {
      await page.goto(pageUrl);
      await waitForCandles(page);
      await waitForModel(page);
      const loaded = await loadedCandles(page, api, q);
      const batch = await postJson(api('/api/predict/batch'), { pair: partition.pair, timeframe: partition.timeframe, start: loaded[0].time, end: loaded.at(-1).time });
      const spans = batch.spans.filter((x) => x.avg_confidence >= 0.5);
      const chart = spans.filter((x) => !isCdl(x.label));
      assert(chart.length >= 2 && spans.some((x) => isCdl(x.label)), `${chart.length} chart-pattern and ${spans.length - chart.length} candlestick spans: too few to test`);
      // The annotator agrees with one chart-pattern prediction: a human span with its label and times.
      const agreed = chart[Math.floor(chart.length / 2)];
      await postJson(url, span(agreed.label, agreed.start_time, agreed.end_time));
      await page.reload();
      await waitForCandles(page);
      await waitForModel(page);
      // The candlestick layer drawn too (on the old page there is no layer toggle: it is always drawn).
      if ((await page.$('[data-testid=candlestick-layer]')) && !(await page.isChecked('[data-testid=candlestick-layer]'))) await page.check('[data-testid=candlestick-layer]');
      await page.click('[data-testid=predict-all]');
      await page.waitForFunction(() => document.querySelector('[data-testid=prediction-range]')?.textContent.startsWith('All loaded'), null, { timeout: 60_000 });
      await waitForPrediction(page);
      const markersBefore = await num(page, 'prediction-markers');
      const barsBefore = await num(page, 'prediction-bars');
      const disputed = (await summary(page, 'missed_by_human')) + (await summary(page, 'label_mismatch'));
      assert(markersBefore === spans.length, `${markersBefore} markers drawn, ${spans.length} predicted spans`);
      assert(disputed > 0, 'no disputed prediction: nothing would be kept');
      await page.check('[data-testid=show-only-disagreements]');
      await page.waitForTimeout(500);
      const markersAfter = await num(page, 'prediction-markers');
      const labelsAfter = JSON.parse(await page.getAttribute(chartSel, 'data-prediction-labels'));
      assert(
        markersAfter <= markersBefore - (spans.length - chart.length) - 1,
        `"Show only disagreements" hid ${markersBefore - markersAfter} of ${markersBefore} predictions (${spans.length - chart.length} candlestick patterns and 1 agreed chart pattern are not disputed)`,
      );
      assert(markersAfter === disputed, `${markersAfter} predictions kept, ${disputed} disputed`);
      assert(!Object.keys(labelsAfter).some(isCdl), `candlestick bars kept: ${JSON.stringify(labelsAfter)}`);
      assert((await num(page, 'prediction-bars')) > 0 && (await num(page, 'prediction-bars')) < barsBefore, 'the bars of the disputed predictions');
      await page.uncheck('[data-testid=show-only-disagreements]');
      await page.waitForFunction((n) => Number(document.querySelector('[data-testid=candle-chart]').dataset.predictionMarkers) === n, markersBefore, { timeout: 5000 });
    } finally {
      if (await page.$('[data-testid=candlestick-layer]:checked')) await page.uncheck('[data-testid=candlestick-layer]');
      if (await page.$('[data-testid=show-only-disagreements]:checked')) await page.uncheck('[data-testid=show-only-disagreements]');
      await deleteAll(api, q);
    }
  });

  // --- 5 -------------------------------------------------------------------------------------
  await check('#5 the "not annotated" fill does not tint the candles in it: their pixels keep the candle colours', async () => {
    await deleteAll(api, q);
    await page.goto(pageUrl);
    await waitForCandles(page);
    await waitForModel(page);
    await page.click('[data-testid=predict-all]');
    await page.waitForFunction(() => document.querySelector('[data-testid=prediction-range]')?.textContent.startsWith('All loaded'), null, { timeout: 60_000 });
    await waitForPrediction(page);
    // To a prediction nobody annotated (all of them: there are no annotations).
    await page.locator('[data-testid=disagreement-item][data-kind=missed_by_human] .disagreement__jump').first().click();
    await page.mouse.move(5, 5);
    await page.waitForTimeout(500);
    const boxes = (await page.$eval(chartSel, (el) => el.highlightBoxes())).filter((b) => b.kind === 'missed_by_human');
    assert(boxes.length > 0, 'no "not annotated" highlight in view');
    const candleColors = (await page.getAttribute(chartSel, 'data-candle-colors')).split(' ');
    // Inside the fills: pixels of a candle colour, and pixels of a candle colour seen through the
    // fill (#ffd600 at 22 %, as drawn over a candle).
    const seen = await page.evaluate(
      ({ sel, boxes, colors }) => {
        const rgb = (hex) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
        const pure = colors.map(rgb);
        const tinted = pure.map((c) => c.map((v, k) => v * 0.78 + rgb('#ffd600')[k] * 0.22));
        const near = (d, i, c) => Math.abs(d[i] - c[0]) <= 6 && Math.abs(d[i + 1] - c[1]) <= 6 && Math.abs(d[i + 2] - c[2]) <= 6;
        const main = [...document.querySelectorAll(`${sel} canvas`)].sort((a, b) => b.width * b.height - a.width * a.height)[0];
        const ratio = main.width / main.getBoundingClientRect().width;
        const ctx = main.getContext('2d');
        let candle = 0;
        let tint = 0;
        for (const b of boxes) {
          const x = Math.max(0, Math.ceil((b.x1 + 2) * ratio));
          const y = Math.max(0, Math.ceil((b.y1 + 2) * ratio));
          const w = Math.min(main.width, Math.floor((b.x2 - 2) * ratio)) - x;
          const h = Math.min(main.height, Math.floor((b.y2 - 2) * ratio)) - y;
          if (w <= 0 || h <= 0) continue;
          const { data } = ctx.getImageData(x, y, w, h);
          for (let i = 0; i < data.length; i += 4) {
            if (pure.some((c) => near(data, i, c))) candle++;
            else if (tinted.some((c) => near(data, i, c))) tint++;
          }
        }
        return { candle, tint };
      },
      { sel: chartSel, boxes, colors: candleColors },
    );
    assert(seen.candle + seen.tint >= 30, `too few candle pixels in the fills: ${JSON.stringify(seen)}`);
    assert(seen.tint <= 0.02 * (seen.candle + seen.tint), `${seen.tint} candle pixels tinted by the fill, ${seen.candle} in the candle colours`);
  });

  // --- 9 -------------------------------------------------------------------------------------
  await check('#9 a review list of more than 200 disagreements pages: the newest is listed, the review steps past 200 items', async () => {
    await deleteAll(api, q);
    try {
      await page.goto(pageUrl);
      await waitForCandles(page);
      await waitForModel(page);
      // 320 one-candle human double_top spans over the loaded candles: each one the model does
      // not predict is "missed by the model".
      const loaded = await loadedCandles(page, api, q);
      const every = Math.max(2, Math.floor((loaded.length - 2) / 320));
      const times = loaded.filter((_, i) => i > 0 && i % every === 0).slice(-320).map((c) => c.time);
      for (let i = 0; i < times.length; i += 10)
        await Promise.all(times.slice(i, i + 10).map((t) => postJson(url, span('double_top', t, t))));
      await page.reload();
      await waitForCandles(page);
      await waitForModel(page);
      await page.click('[data-testid=predict-all]');
      await page.waitForFunction(() => document.querySelector('[data-testid=prediction-range]')?.textContent.startsWith('All loaded'), null, { timeout: 60_000 });
      await waitForPrediction(page);
      const kinds = ['missed_by_model', 'missed_by_human', 'label_mismatch'];
      let total = 0;
      for (const k of kinds) total += await summary(page, k);
      assert(total > 200, `${total} disagreements: too few to page`);
      // The newest human span is (in) a disagreement; one that late is listed (the old list ended at 200).
      const stored = await getJson(api(`/api/span-annotations?${q}`));
      const newest = Math.max(...stored.map((a) => a.start_time));
      const latestListed = () =>
        page.$$eval('[data-testid=disagreement-item] .disagreement__time', (els) =>
          Math.max(-1, ...els.map((el) => Date.parse(`${el.textContent.replace(' UTC', '').replace(' ', 'T')}:00Z`) / 1000)),
        );
      const position = async () => (await page.textContent('[data-testid=review-position]')).split('/').map((x) => Number(x.trim()));
      await page.mouse.move(5, 5);
      for (let i = 0; i < 400 && (await latestListed()) < newest; i++) await page.keyboard.press('n');
      const latest = await latestListed();
      assert(latest >= newest, `the newest disagreements are not listed: the list ends at ${new Date(latest * 1000).toISOString()}, the newest human span starts at ${new Date(newest * 1000).toISOString()} (${await page.$$eval('[data-testid=disagreement-item]', (l) => l.length)} listed of ${total})`);
      // Back through more than 200: each current one is in the list, and the position follows.
      const [start, of] = await position();
      assert(of >= total, `the list holds ${of} of ${total}`);
      for (let k = 1; k <= 205; k++) {
        await page.keyboard.press('p');
        if (k % 41 === 0 || k === 205) {
          const [at] = await position();
          assert(at === Math.max(1, start - k), `after ${k} steps back from ${start}: at ${at}`);
          assert(await page.$('[data-testid=disagreement-item][data-current=true]'), `the current disagreement (${at} / ${of}) is not in the list`);
        }
      }
    } finally {
      await deleteAll(api, q);
    }
  });

  // --- 10 ------------------------------------------------------------------------------------
  await check('#10 a span label drawn as high as the chart goes does not overprint the OHLCV readout', async () => {
    await deleteAll(api, q);
    try {
      await page.goto(pageUrl);
      await waitForCandles(page);
      // A span of 16 candles ending at the highest candle of the view the list jumps to (showSpan:
      // the span with 24 candles of room on each side): its box reaches the top of the pane,
      // its left edge under the readout at the top left.
      const loaded = await loadedCandles(page, api, q);
      let h = -1;
      for (let i = loaded.length - 30; i >= 45 && h < 0; i--) if (loaded.slice(i - 42, i + 27).every((c) => c.high <= loaded[i].high)) h = i;
      assert(h > 0, 'no candle higher than its neighbours');
      const a = await postJson(url, span('bull_flag', loaded[h - 15].time, loaded[h].time));
      await page.reload();
      await waitForCandles(page);
      await page.click(`[data-testid=annotation-item][data-id="${a.id}"]`);
      await page.mouse.move(5, 5);
      await page.waitForTimeout(600);
      await page.waitForFunction((id) => document.querySelector('[data-testid=candle-chart]').spanLabelBox(id), a.id, { timeout: 5000 });
      const box = await page.$eval(chartSel, (el, id) => el.spanBox(id), a.id);
      const label = await page.$eval(chartSel, (el, id) => el.spanLabelBox(id), a.id);
      const readout = await page.$eval(chartSel, (el) => {
        const r = document.querySelector('[data-testid=ohlcv-readout]').getBoundingClientRect();
        const c = el.getBoundingClientRect();
        return { x1: r.left - c.left, x2: r.right - c.left, y1: r.top - c.top, y2: r.bottom - c.top };
      });
      console.log(`# span ${JSON.stringify(box)}, its label ${JSON.stringify(label)}, the readout ${JSON.stringify(readout)}`);
      assert(box.y1 - 13 < readout.y2 && box.x1 + 3 < readout.x2, `the span (${JSON.stringify(box)}) is not under the readout (${JSON.stringify(readout)}): the scenario is not reached`);
      assert(!intersects(label, readout), `the label ${JSON.stringify(label)} overprints the readout ${JSON.stringify(readout)}`);
    } finally {
      await deleteAll(api, q);
    }
  });
}
