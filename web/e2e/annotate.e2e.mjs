#!/usr/bin/env node
/**
 * End-to-end test of the annotator in a real browser (Debian's Chromium driven by
 * playwright-core) against a production build (`next build`, `next start`) and the real
 * inference service on the test data: load candles, scroll back, drag a span and save it,
 * click-click a span, Esc, reload and see the rectangles, jump from the list, click the
 * rectangle and change its label, the edit dialog's fields inside its box at 1440x900, export
 * and find it, Delete it, then a (simulated) service outage: banner, annotations still editable
 * and exportable.
 *
 * Runs with NEXT_PUBLIC_PREDICTIONS_ENABLED=false, which also checks that the prediction
 * overlay disappears entirely; predictions.e2e.mjs tests the overlay.
 *
 * Part of `npm run test:e2e` (run.mjs, which shares the build and the service between the
 * suites); `node e2e/annotate.e2e.mjs` runs this suite alone. Environment: see run.mjs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { assert, candleCount, chartSel, getJson, scanCanvas, waitForCandles } from './harness.mjs';

export const env = { NEXT_PUBLIC_PREDICTIONS_ENABLED: 'false' };

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

/** The suite: `ctx` holds the page, the web server, the partition and the reporter (run.mjs). */
export async function run(ctx) {
  const { page, web, partition, shot, pageErrors } = ctx;
  const check = (name, fn) => ctx.reporter.check(name, fn, page);
  const api = (p) => `${web.url}${p}`;
  const q = new URLSearchParams({ pair: partition.pair, timeframe: partition.timeframe });
  const pageUrl = `${web.url}/?${q}`;
  const saved = {};

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

  await check('with NEXT_PUBLIC_PREDICTIONS_ENABLED=false the prediction overlay is hidden', async () => {
    assert(!(await page.isVisible('[data-testid=prediction-panel]')), 'the prediction panel is shown');
    assert((await page.getAttribute(chartSel, 'data-prediction-bars')) === '0', 'prediction bars drawn');
    assert(!(await page.isVisible('[data-testid=model-offline-banner]')), 'a model banner is shown');
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

  await check("at 1440x900 every field and button of the edit dialog lies inside the dialog's box", async () => {
    const viewport = page.viewportSize();
    await page.setViewportSize({ width: 1440, height: 900 });
    try {
      await page.click(`[data-testid=annotation-item][data-id="${saved.dragged.id}"] .list__jump`);
      await page.click('[data-testid=edit-selected]');
      await page.waitForSelector('[data-testid=annotation-dialog]');
      const outside = await page.$eval('[data-testid=annotation-dialog]', (dialog) => {
        const d = dialog.getBoundingClientRect();
        return [...dialog.querySelectorAll('input, textarea, select, button')]
          .map((el) => ({ el, r: el.getBoundingClientRect() }))
          .filter(({ r }) => r.left < d.left - 0.5 || r.right > d.right + 0.5 || r.top < d.top - 0.5 || r.bottom > d.bottom + 0.5)
          .map(({ el, r }) => `${el.dataset.testid ?? el.tagName.toLowerCase()} ${Math.round(r.left)}-${Math.round(r.right)} (dialog ${Math.round(d.left)}-${Math.round(d.right)})`);
      });
      assert(outside.length === 0, `outside the dialog: ${outside.join('; ')}`);
      await page.click('[data-testid=cancel-annotation]');
      await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
    } finally {
      if (viewport) await page.setViewportSize(viewport);
    }
  });

  await check('the export is the docs/DESIGN.md JSON and holds the edited span', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-link]')]);
    const file = path.join(web.dir, 'export.json');
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
    // A fresh page while the service is down: the candles this browser kept (IndexedDB), one banner.
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
}

// Alone: `node e2e/annotate.e2e.mjs` (not awaited here: run.mjs imports this module).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  void import('./run.mjs').then(({ main }) => main(['annotate']));
}
