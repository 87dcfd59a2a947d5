/**
 * The annotator suite's findings 4-10 (issue 16: undo, colours, keyboard and review list,
 * resizable spans, offline, the small things) and the helpers the whole suite shares; run by
 * annotator.e2e.mjs after findings 1-3, on its page. Each check fails on the behaviour the
 * finding describes.
 */
import { assert, chartSel, getJson, num, waitForCandles, waitForModel, zoom } from './harness.mjs';

export async function waitForPrediction(page) {
  await page.waitForSelector('[data-testid=prediction-range]', { timeout: 60_000 });
  await page.waitForFunction(() => !document.querySelector('[data-testid=prediction-loading]'), null, { timeout: 60_000 });
  await page.waitForTimeout(200);
}

export async function deleteAll(api, q) {
  for (const a of await getJson(api(`/api/span-annotations?${q}`))) await fetch(api(`/api/span-annotations/${a.id}`), { method: 'DELETE' });
}

/** Draw a span on the chart in marking mode, from and to fractions of its width; waits for the dialog. */
export async function drawSpan(page, from, to, beforeUp = async () => {}) {
  await page.click('[data-testid=mode-select]');
  const box = await page.locator(chartSel).boundingBox();
  const y = box.y + box.height * 0.45;
  await page.mouse.move(box.x + box.width * from, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * to, y, { steps: 8 });
  await beforeUp();
  await page.mouse.up();
  await page.waitForSelector('[data-testid=annotation-dialog]');
}

/** The stored span annotations of the partition, polled until `fn` holds. */
export async function storedUntil(page, list, what, fn, timeout = 5000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await list();
    if (fn(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`${what}: stored ${JSON.stringify(last.map((a) => [a.id, a.label]))}`);
}

export const currentItem = (page) => page.getAttribute('[data-testid=disagreement-item][data-current=true]', 'data-id');

/** CIE76 ΔE*ab of two hex colours (as lib/colour.ts). */
export function deltaE(a, b) {
  const lab = (hex) => {
    const n = Number.parseInt(hex.slice(1, 7), 16);
    const lin = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
    const f = (t) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
    const x = f((lin[0] * 0.4124 + lin[1] * 0.3576 + lin[2] * 0.1805) / 0.95047);
    const y = f(lin[0] * 0.2126 + lin[1] * 0.7152 + lin[2] * 0.0722);
    const z = f((lin[0] * 0.0193 + lin[1] * 0.1192 + lin[2] * 0.9505) / 1.08883);
    return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
  };
  const [p, q] = [lab(a), lab(b)];
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

/** Findings 4-10 on `ctx.page`; `env` is what annotator.e2e.mjs's run() set up. */
export async function laterFindings(env) {
  const { check, page, web, api, q, pageUrl, shot, step } = env;
  // --- 4 -------------------------------------------------------------------------------------
  await check('#4 undo and redo (Ctrl+Z, Ctrl+Shift+Z) of create, edit, delete, accept and dismiss go through the API; a toast offers "Undo"', async () => {
    const stored = () => getJson(api(`/api/span-annotations?${q}`));
    const until = (what, fn) => storedUntil(page, stored, what, fn);
    const press = async (keys) => {
      await page.mouse.move(5, 5);
      await page.locator('body').press(keys);
    };
    await page.goto(pageUrl);
    await waitForCandles(page);
    await waitForModel(page);
    // create: drawn and saved, undone (deleted in the database), redone (stored again)
    await drawSpan(page, 0.35, 0.45);
    await page.click('[data-testid=label-option-bull_flag]');
    await page.click('[data-testid=save-annotation]');
    await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
    await page.click('[data-testid=mode-pan]');
    const [created] = await until('created', (l) => l.length === 1);
    await press('Control+z');
    await until('create undone', (l) => l.length === 0);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=annotation-item]').length === 0);
    await press('Control+Shift+z');
    const [again] = await until('create redone', (l) => l.length === 1);
    assert(again.label === 'bull_flag' && again.start_time === created.start_time && again.end_time === created.end_time, JSON.stringify(again));
    // edit: the label changed in the dialog, undone through PATCH
    await page.click(`[data-testid=annotation-item][data-id="${again.id}"]`);
    await page.click('[data-testid=edit-selected]');
    await page.click('[data-testid=label-option-double_top]');
    await page.click('[data-testid=save-annotation]');
    await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
    await until('edited', (l) => l[0]?.label === 'double_top');
    await press('Control+z');
    await until('edit undone', (l) => l.length === 1 && l[0].label === 'bull_flag');
    // delete: the toast offers "Undo"; the span comes back (a new id), redo deletes it again
    await page.click(`[data-testid=annotation-item][data-id="${again.id}"]`);
    await press('Delete');
    await until('deleted', (l) => l.length === 0);
    await page.waitForSelector('[data-testid=undo-button]');
    assert((await page.textContent('[data-testid=undo-toast-message]')).includes('bull_flag'), 'toast text');
    await page.click('[data-testid=undo-button]');
    const [back] = await until('delete undone', (l) => l.length === 1);
    assert(back.label === 'bull_flag' && back.start_time === again.start_time, JSON.stringify(back));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=annotation-item]').length === 1);
    await press('Control+Shift+z');
    await until('delete redone', (l) => l.length === 0);
    // accept and dismiss of predictions
    await page.click('[data-testid=predict-visible]');
    await waitForPrediction(page);
    const first = page.locator('[data-testid=disagreement-item][data-kind=missed_by_human]').first();
    await first.locator('[data-testid=review-prediction]').click();
    await page.waitForSelector('[data-testid=annotation-dialog]');
    await page.click('[data-testid=save-annotation]');
    await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
    const [accepted] = await until('accepted', (l) => l.length === 1);
    assert(accepted.model_prediction, 'not an accepted prediction');
    await press('Control+z');
    await until('accept undone', (l) => l.length === 0);
    await page.locator('[data-testid=disagreement-item][data-kind=missed_by_human]').first().locator('[data-testid=not-a-pattern]').click();
    await until('dismissed', (l) => l.length === 1 && l[0].label === 'O');
    await page.waitForSelector('[data-testid=undo-button]');
    await press('Control+z');
    await until('dismiss undone', (l) => l.length === 0);
    await deleteAll(api, q);
  });

  // --- 5 -------------------------------------------------------------------------------------
  await check('#5 label colours: distinct from the candles (ΔE76 >= 25) and from each other (>= 20), candlestick labels included', async () => {
    await page.goto(pageUrl);
    await waitForCandles(page);
    await waitForModel(page);
    const candleColors = (await page.getAttribute(chartSel, 'data-candle-colors')).split(' ');
    const toHex = (rgb) => `#${rgb.match(/\d+/g).slice(0, 3).map((v) => Number(v).toString(16).padStart(2, '0')).join('')}`;
    const labels = await page.$$eval('[data-testid^=label-toggle-] .swatch', (els) =>
      els.map((el) => ({ name: el.closest('[data-testid]').dataset.testid.replace('label-toggle-', ''), color: getComputedStyle(el).backgroundColor })),
    );
    assert(labels.length >= 3, `label swatches: ${JSON.stringify(labels)}`);
    const hex = labels.map((l) => ({ ...l, color: toHex(l.color) }));
    for (const l of hex) for (const c of candleColors) assert(deltaE(l.color, c) >= 25, `${l.name} ${l.color} looks like the candle colour ${c} (ΔE ${deltaE(l.color, c).toFixed(1)})`);
    for (let i = 0; i < hex.length; i++)
      for (let j = i + 1; j < hex.length; j++) {
        const d = deltaE(hex[i].color, hex[j].color);
        assert(d >= 20, `${hex[i].name} ${hex[i].color} and ${hex[j].name} ${hex[j].color} are ΔE ${d.toFixed(1)} apart`);
      }
  });

  // --- 6 and 9 -------------------------------------------------------------------------------
  await check('#6 keys: 1-9 pick a label (in the dialog and while drawing), Enter saves from a label chip, Tab stays in the dialog', async () => {
    const stored = () => getJson(api(`/api/span-annotations?${q}`));
    await page.goto(pageUrl);
    await waitForCandles(page);
    await waitForModel(page);
    const chips = async () => page.$$eval('[data-testid^=label-option-]', (b) => b.map((x) => x.dataset.testid.replace('label-option-', '')));
    // While drawing: "2" chooses the second label for the span being drawn.
    await drawSpan(page, 0.3, 0.36, () => page.keyboard.press('2'));
    const names = await chips();
    assert(names.length >= 3, `labels offered: ${names}`);
    assert((await page.getAttribute(`[data-testid=label-option-${names[1]}]`, 'aria-pressed')) === 'true', `"2" while drawing did not pick ${names[1]}`);
    // In the dialog: "3" picks the third; Tab goes round inside the dialog.
    await page.keyboard.press('3');
    assert((await page.getAttribute(`[data-testid=label-option-${names[2]}]`, 'aria-pressed')) === 'true', `"3" did not pick ${names[2]}`);
    for (let i = 0; i < 25; i++) {
      await page.keyboard.press(i % 5 === 4 ? 'Shift+Tab' : 'Tab');
      const inside = await page.evaluate(() => Boolean(document.activeElement?.closest('[data-testid=annotation-dialog]')));
      assert(inside, `the focus left the dialog after ${i + 1} Tab presses`);
    }
    // Enter on a label chip saves (it used to click the chip again).
    await page.click(`[data-testid=label-option-${names[0]}]`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached', timeout: 5000 });
    const [saved] = await storedUntil(page, stored, 'saved with Enter', (l) => l.length === 1);
    assert(saved.label === names[0], `saved ${saved.label}, chose ${names[0]}`);
    await page.click('[data-testid=mode-pan]');
    await deleteAll(api, q);
  });

  await check('#6 #9 review by keyboard: starts at the view, n/p step, a accepts and x dismisses and the list moves on; ? lists the keys', async () => {
    const stored = () => getJson(api(`/api/span-annotations?${q}`));
    await page.reload();
    await waitForCandles(page);
    await waitForModel(page);
    await page.click('[data-testid=predict-all]');
    await page.waitForFunction(() => document.querySelector('[data-testid=prediction-range]')?.textContent.startsWith('All loaded'), null, { timeout: 60_000 });
    await waitForPrediction(page);
    const items = async () => page.$$eval('[data-testid=disagreement-item]', (li) => li.map((x) => x.dataset.id));
    const timeOf = (id) => Number(id.split('|')[2]);
    const all = await items();
    assert(all.length >= 4, `${all.length} disagreements: too few to review`);
    // Starts at the view: the first disagreement at or after the first candle in view.
    const viewStart = Number(await page.getAttribute('[data-testid=review-list]', 'data-view-start'));
    const first = await currentItem(page);
    assert(first, 'no current disagreement');
    const expected = all.find((id) => timeOf(id) >= viewStart) ?? all.at(-1);
    assert(first === expected, `the review starts at ${first}, the view at ${viewStart} (expected ${expected})`);
    assert(timeOf(all[0]) < viewStart, 'the whole list is in view: the start proves nothing');
    // The annotation list stays above the fold.
    const top = await page.$eval('[data-testid=annotation-list]', (el) => el.getBoundingClientRect().top);
    assert(top < (page.viewportSize()?.height ?? 820) - 40, `the annotation list starts at ${top} px, below the fold`);
    // n / p step; the "Previous" / "Next" buttons do the same.
    await page.mouse.move(5, 5);
    await page.keyboard.press('p');
    const prev = await currentItem(page);
    assert(all.indexOf(prev) === all.indexOf(first) - 1, `p went from ${first} to ${prev}`);
    await page.click('[data-testid=review-next]');
    assert((await currentItem(page)) === first, 'Next did not come back');
    // a accepts the current prediction (a human span with what the model said); the list moves on.
    let target = first;
    while (!target.startsWith('missed_by_human:') && all.indexOf(target) < all.length - 1) {
      await page.keyboard.press('n');
      target = await currentItem(page);
    }
    assert(target.startsWith('missed_by_human:'), 'no unannotated prediction to accept');
    await page.keyboard.press('a');
    const [accepted] = await storedUntil(page, stored, 'accepted with a', (l) => l.length === 1);
    assert(accepted.start_time === timeOf(target) && accepted.model_prediction && accepted.label === target.split('|').at(-1), JSON.stringify(accepted));
    await page.waitForFunction((id) => !document.querySelector(`[data-testid=disagreement-item][data-id="${id}"]`), target);
    const after = await currentItem(page);
    // the next one at or after the accepted one's time; when it was the last, the list's new last one
    const wasLast = all.indexOf(target) === all.length - 1;
    const remaining = await page.$$eval('[data-testid=disagreement-item]', (els) => els.map((el) => el.getAttribute('data-id')));
    const expectedAfter = wasLast ? after === remaining.at(-1) || timeOf(after) >= timeOf(target) : timeOf(after) >= timeOf(target);
    assert(after && expectedAfter, `after accepting, the current one is ${after} (accepted ${target}, the last: ${wasLast})`);
    // x: "Not a pattern" for the current one (when it is a prediction).
    if (after.startsWith('missed_by_human:') || after.startsWith('label_mismatch:')) {
      await page.keyboard.press('x');
      await storedUntil(page, stored, 'dismissed with x', (l) => l.some((a) => a.label === 'O' && a.start_time === timeOf(after)));
      await page.waitForFunction((id) => !document.querySelector(`[data-testid=disagreement-item][data-id="${id}"]`) || document.querySelector(`[data-testid=disagreement-item][data-id="${id}"]`).dataset.current !== 'true', after);
    }
    // The review queue's keys belong to it while it has the focus.
    if (await page.$('[data-keyboard-scope=review-queue]')) {
      const before = await currentItem(page);
      await page.focus('[data-keyboard-scope=review-queue]');
      await page.keyboard.press('n');
      assert((await currentItem(page)) === before, 'n moved the review while the review queue had the focus');
      await page.mouse.click(5, 5);
    }
    // ? lists the keys, both sets.
    await page.keyboard.press('?');
    await page.waitForSelector('[data-testid=keyboard-help]');
    const help = await page.textContent('[data-testid=keyboard-help]');
    for (const want of ['n / p', 'Ctrl+Z', 'Review queue', 'skip']) assert(help.includes(want), `the overlay lacks "${want}"`);
    await shot('review-by-keyboard.png');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=keyboard-help]', { state: 'detached' });
    await deleteAll(api, q);
  });

  // --- 7 -------------------------------------------------------------------------------------
  await check('#7 a selected span moves and resizes with its drag handles, snapping to candles; the dialog edits its start and end', async () => {
    const stored = () => getJson(api(`/api/span-annotations?${q}`));
    await page.goto(pageUrl);
    await waitForCandles(page);
    await drawSpan(page, 0.4, 0.5);
    await page.click('[data-testid=label-option-bull_flag]');
    await page.click('[data-testid=save-annotation]');
    await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
    await page.click('[data-testid=mode-pan]');
    const [a] = await storedUntil(page, stored, 'saved', (l) => l.length === 1);
    const chartBoxPx = await page.locator(chartSel).boundingBox();
    const boxOf = () => page.$eval(chartSel, (el, id) => el.spanBox(id), a.id);
    const drag = async (fromX, toX, y) => {
      await page.mouse.move(chartBoxPx.x + fromX, chartBoxPx.y + y, { steps: 2 });
      await page.waitForTimeout(50);
      await page.mouse.down();
      await page.mouse.move(chartBoxPx.x + toX, chartBoxPx.y + y, { steps: 10 });
      await page.mouse.up();
    };
    // The right edge, dragged right: the end moves by whole candles, the start stays.
    let box = await boxOf();
    assert(box, 'the saved span is not drawn');
    await drag(box.x2, box.x2 + 80, (box.y1 + box.y2) / 2);
    const [resized] = await storedUntil(page, stored, 'resized', (l) => l[0]?.end_time > a.end_time);
    assert(resized.start_time === a.start_time, `the start moved: ${resized.start_time} vs ${a.start_time}`);
    assert((resized.end_time - a.end_time) % step === 0, `end not on a candle: ${resized.end_time}`);
    assert(!(await page.isVisible('[data-testid=annotation-dialog]')), 'the drag opened the dialog');
    // The body, dragged left: both ends move by the same whole number of candles.
    await page.waitForTimeout(200);
    box = await boxOf();
    await drag((box.x1 + box.x2) / 2, (box.x1 + box.x2) / 2 - 60, (box.y1 + box.y2) / 2);
    const [moved] = await storedUntil(page, stored, 'moved', (l) => l[0]?.start_time < resized.start_time);
    const shift = resized.start_time - moved.start_time;
    assert(shift % step === 0 && resized.end_time - moved.end_time === shift, `moved by ${shift}: ${JSON.stringify(moved)}`);
    await shot('resized-span.png');
    // The dialog shows the times and saves edited ones (snapped to the candles).
    await page.click('[data-testid=edit-selected]');
    const fmt = (t) => new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ');
    assert((await page.inputValue('[data-testid=dialog-start]')) === fmt(moved.start_time), 'start field');
    assert((await page.inputValue('[data-testid=dialog-end]')) === fmt(moved.end_time), 'end field');
    await page.fill('[data-testid=dialog-end]', fmt(moved.end_time - 2 * step));
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
    await storedUntil(page, stored, 'end edited in the dialog', (l) => l[0]?.end_time === moved.end_time - 2 * step);
    // Undo takes the dialog's edit back.
    await page.mouse.move(5, 5);
    await page.locator('body').press('Control+z');
    await storedUntil(page, stored, 'edit undone', (l) => l[0]?.end_time === moved.end_time);
    await deleteAll(api, q);
  });

  // --- 8 -------------------------------------------------------------------------------------
  await check('#8 offline: a reload while the service is down shows the kept candles and one plain banner (details behind a toggle), annotating goes on, back within 5 s', async () => {
    const stored = () => getJson(api(`/api/span-annotations?${q}`));
    await page.goto(pageUrl);
    await waitForCandles(page);
    await waitForModel(page);
    const before = await num(page, 'candles');
    const down = { status: 502, contentType: 'application/json', body: JSON.stringify({ detail: 'Cannot reach the inference service at INFERENCE_API_URL (e2e: ECONNREFUSED).' }) };
    for (const path of ['**/api/candles**', '**/api/partitions', '**/api/health', '**/api/model/**', '**/api/predict**']) await page.route(path, (r) => r.fulfill(down));
    await page.reload();
    await page.waitForSelector('[data-testid=service-banner]', { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=candle-chart]')?.dataset.candles) > 0, null, { timeout: 10_000 });
    assert((await num(page, 'candles')) === Math.min(before, 5000), `${await num(page, 'candles')} kept candles, ${before} loaded before`);
    await page.waitForTimeout(3000); // the model poll finds the model server gone too
    assert((await page.$$('.banners .banner--warn')).length === 1, `${(await page.$$('.banners .banner--warn')).length} banners`);
    const visible = await page.locator('[data-testid=service-banner]').innerText();
    assert(/unavailable/.test(visible) && /keep annotating/.test(visible), visible);
    assert(!/ECONNREFUSED|INFERENCE_API_URL/.test(visible), `developer words in the banner: ${visible}`);
    await page.click('[data-testid=banner-details] summary');
    assert((await page.locator('[data-testid=banner-details]').innerText()).includes('ECONNREFUSED'), 'no technical detail behind the toggle');
    await shot('offline-reload.png');
    await drawSpan(page, 0.4, 0.46);
    await page.click('[data-testid=label-option-bull_flag]');
    await page.click('[data-testid=save-annotation]');
    await page.waitForSelector('[data-testid=annotation-dialog]', { state: 'detached' });
    await page.click('[data-testid=mode-pan]');
    await storedUntil(page, stored, 'saved while offline', (l) => l.length === 1);
    // The service is back: the banner goes within 5 s.
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    const back = Date.now();
    await page.waitForSelector('[data-testid=service-banner]', { state: 'detached', timeout: 5000 });
    console.log(`# back ${((Date.now() - back) / 1000).toFixed(1)} s after the service answered`);
    await deleteAll(api, q);
  });

  // --- 10 ------------------------------------------------------------------------------------
  await check('#10 small things: no "make demo" flash, readable trained time, span-level vs per-tag F1, a long note answers with the limit, wheel zoom-out keeps the newest candle', async () => {
    // The empty-chart texts seen while the page loads without a partition in the address.
    await page.addInitScript(() => {
      window.__emptyTexts = [];
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid=chart-empty]')?.textContent;
        if (t && window.__emptyTexts.at(-1) !== t) window.__emptyTexts.push(t);
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    await page.goto(`${web.url}/`);
    await waitForCandles(page);
    const seen = await page.evaluate(() => window.__emptyTexts);
    assert(!seen.some((t) => t.includes('make demo')), `flashed: ${JSON.stringify(seen)}`);
    await waitForModel(page);
    await page.click('[data-testid=model-info] summary');
    const trained = await page.textContent('[data-testid=model-trained]');
    assert(/^trained \d{4}-\d\d-\d\d \d\d:\d\d UTC$/.test(trained), `trained time: ${trained}`);
    const info = await page.textContent('[data-testid=model-info]');
    assert(/Span-level F1 \d\.\d\d/.test(await page.textContent('[data-testid=span-f1]')), 'no span-level F1');
    assert(info.includes('per-tag F1'), 'the table does not say per-tag');
    const toggle = await page.textContent('[data-testid="label-toggle-bull_flag"]');
    assert(/tag F1 \d\.\d\d/.test(toggle), `label F1 not named per-tag: ${toggle}`);
    // Wheel zoom-out: the newest candle stays at the right edge, no empty right part.
    await zoom(page, 600, 25);
    await page.waitForTimeout(300);
    const to = Number(await page.getAttribute(chartSel, 'data-view-to'));
    const n = await num(page, 'candles');
    assert(to <= n - 1 + 6, `the view ends at ${to}, ${to - n + 1} bars past the newest candle`);
    // A note over the limit: not cut, refused with the limit named.
    await page.goto(pageUrl);
    await waitForCandles(page);
    await drawSpan(page, 0.4, 0.46);
    await page.fill('[data-testid=note-input]', 'x'.repeat(4100));
    assert((await page.inputValue('[data-testid=note-input]')).length === 4100, 'the note was cut');
    assert((await page.textContent('[data-testid=note-count]')).startsWith('4,100'), 'no count');
    await page.click('[data-testid=save-annotation]');
    await page.waitForSelector('[data-testid=dialog-error]');
    const error = await page.textContent('[data-testid=dialog-error]');
    assert(error.includes('4000'), `error without the limit: ${error}`);
    await page.click('[data-testid=cancel-annotation]');
    await page.click('[data-testid=mode-pan]');
    assert((await getJson(api(`/api/span-annotations?${q}`))).length === 0, 'stored anyway');
  });
}
