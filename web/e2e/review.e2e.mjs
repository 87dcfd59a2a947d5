#!/usr/bin/env node
/**
 * The review queue panel (issue 17) in a real browser, against the real inference service and a
 * queue built from its real model: set-up runs `python -m ml_platform.review` on the test data's
 * config (what the review_queue asset writes), then
 *
 * 1. the panel shows the first stretch with the model's answer and the progress;
 * 2. keyboard: a accepts, x dismisses, s skips, each step moving to the next stretch;
 * 3. u undoes the skip, then an answer (its annotation and mark are deleted); e opens the
 *    stretch in the dialog and its save is marked reviewed too;
 * 4. Ctrl+Z after an answer takes back its annotation and its review mark (one undo step, shared
 *    with u), Ctrl+Shift+Z puts both back, and a reload shows the persisted state;
 * 5. with the service down the loaded queue stays and an answer is still saved (the proxy says 503);
 * 6. after a reload the reviewed stretches are gone and the progress counts them;
 * 7. the export holds the answers with model_prediction.
 *
 * Screenshot: review-queue.png. Part of `npm run test:e2e` (run.mjs); `node e2e/run.mjs review` runs it alone.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { PYTHON, REPO, assert, getJson, waitForCandles } from './harness.mjs';

export const env = { NEXT_PUBLIC_PREDICTIONS_ENABLED: 'false' };

const current = '[data-testid=review-current]';

/**
 * The queue file of the partition, built from the test data's model and annotations. Run
 * asynchronously: a blocked event loop would miss the web server closing idle keep-alive
 * sockets, and the next fetch would fail on a dead one.
 */
async function buildQueue(configPath, partition) {
  const args = ['-m', 'ml_platform.review', '--config', configPath, '--pair', partition.pair, '--timeframe', partition.timeframe];
  const child = spawn(PYTHON, args, { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`python -m ml_platform.review failed (exit ${code}):\n${out.slice(-3000)}`);
  console.log(`# ${out.trim()}`);
}

async function shown(page) {
  const el = page.locator(current);
  return { start: Number(await el.getAttribute('data-start')), end: Number(await el.getAttribute('data-end')), rank: Number(await el.getAttribute('data-rank')) };
}

/** Press a key in the focused panel, then wait until another stretch is shown. */
async function pressAndWaitForNext(page, key, before) {
  await page.focus('[data-testid=review-queue]');
  await page.keyboard.press(key);
  await waitForNext(page, before);
}

/** Wait until another stretch than `before` is shown and no dialog is open. */
async function waitForNext(page, before) {
  await page.waitForFunction(
    ([sel, start]) => {
      const el = document.querySelector(sel);
      return !el || Number(el.dataset.start) !== start;
    },
    [current, before.start],
    { timeout: 20_000 },
  );
  await page.waitForFunction(() => !document.querySelector('[data-testid=annotation-dialog]'), null, { timeout: 10_000 });
}

/** Wait until `fn(arg)` holds in the page; on a timeout fail with `message` (what was expected). */
async function waitUntil(page, fn, arg, message, timeout = 20_000) {
  try {
    await page.waitForFunction(fn, arg, { timeout });
  } catch (err) {
    if (err?.name !== 'TimeoutError') throw err;
    assert(false, `${message} (waited ${timeout / 1000} s)`);
  }
}

/** The stretch shown in the panel is (or, with `is` false, is not) the one starting at `start`. */
const showing = (page, start, is, message) =>
  waitUntil(
    page,
    ([sel, s, want]) => (Number(document.querySelector(sel)?.dataset.start) === s) === want,
    [current, start, is],
    message,
  );

/** The progress reads `reviewed / …`. */
const reviewedReads = (page, reviewed, message) =>
  waitUntil(page, (n) => new RegExp(`^${n} /`).test(document.querySelector('[data-testid=review-progress]')?.textContent ?? ''), reviewed, message);

/** Whether the annotation list shows an annotation with this id. */
const listed = (page, id) => page.locator(`[data-testid=annotation-item][data-id="${id}"]`).count().then((n) => n > 0);

async function progress(page) {
  const text = await page.textContent('[data-testid=review-progress]');
  const m = /(\d+) \/ (\d+) reviewed/.exec(text ?? '');
  assert(m, `progress reads ${text}`);
  return { reviewed: Number(m[1]), total: Number(m[2]) };
}

export async function run(ctx) {
  const { page, web, partition, fixture, shot, pageErrors } = ctx;
  const check = (name, fn) => ctx.reporter.check(name, fn, page);
  const api = (p) => `${web.url}${p}`;
  const q = new URLSearchParams({ pair: partition.pair, timeframe: partition.timeframe });
  if (!fixture?.configPath) {
    ctx.reporter.record('review: set-up', false, 'the review suite needs the test data config (ML_PLATFORM_CONFIG) to build the queue');
    return;
  }
  await buildQueue(fixture.configPath, partition);
  const queue = await getJson(api(`/api/review-queue?${q}&limit=50`));
  const seen = [];

  await check('the review panel shows the first stretch, the model answer and the progress', async () => {
    assert(queue.items.length >= 4, `the built queue has ${queue.items.length} stretches; the suite needs 4`);
    await page.goto(`${web.url}/?${q}`);
    await waitForCandles(page);
    // Older candle pages come slowly, as on a busy service: an answer given while the chart is
    // still jumping to the stretch must wait for its candles, not fail (the next check presses a
    // at once).
    await page.route('**/api/candles?*end=*', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await route.continue().catch(() => {});
    });
    await page.click('[data-testid=review-queue-toggle]');
    await page.waitForSelector(current);
    const first = await shown(page);
    assert(first.start === queue.items[0].start_time && first.rank === 1, `first shown ${JSON.stringify(first)}`);
    const text = await page.textContent('[data-testid=review-prediction]');
    const top = queue.items[0];
    assert(text.includes(top.prediction === 'O' ? 'no pattern' : top.prediction) && /\d+%/.test(text), `prediction reads ${text}`);
    const p = await progress(page);
    assert(p.reviewed === 0 && p.total === queue.items.length, `progress ${JSON.stringify(p)}`);
    const marked = await page.getAttribute('[data-testid=review-queue]', 'data-keyboard-scope');
    assert(marked === 'review-queue', `data-keyboard-scope=${marked}`);
  });

  await check('keyboard: a accepts, x dismisses, s skips, each moving on to the next stretch', async () => {
    for (const key of ['a', 'x', 's']) {
      const before = await shown(page);
      seen.push(before);
      if (key === 'a') {
        await page.focus('[data-testid=review-queue]');
        await page.keyboard.press('a');
        const deferred = await page.evaluate(() => Boolean(document.querySelector('[data-testid=review-waiting]')));
        console.log(`# a pressed ${deferred ? 'before' : 'after'} the stretch's candles were on the chart`);
        await waitForNext(page, before);
      } else await pressAndWaitForNext(page, key, before);
    }
    await page.unroute('**/api/candles?*end=*');
    const after = await shown(page);
    assert(after.rank === 4, `after three steps the fourth stretch shows, not ${JSON.stringify(after)}`);
    const p = await progress(page);
    assert(p.reviewed === 2, `progress ${JSON.stringify(p)}`);
    const saved = await getJson(api(`/api/span-annotations?${q}`));
    const accepted = saved.find((a) => a.start_time === seen[0].start);
    const dismissed = saved.find((a) => a.start_time === seen[1].start);
    assert(saved.length === 2 && accepted && dismissed, `saved ${JSON.stringify(saved)}`);
    const [i0] = queue.items;
    assert(accepted.label === i0.prediction && accepted.source === (i0.prediction === 'O' ? 'human_correction' : 'human'), JSON.stringify(accepted));
    assert(dismissed.label === 'O' && dismissed.source === 'human_correction', JSON.stringify(dismissed));
    const marks = await getJson(api(`/api/review-marks?${q}`));
    assert(marks.length === 2 && marks.every((m) => m.model_version === queue.model_version), `marks ${JSON.stringify(marks)}`);
    await shot('review-queue.png');
  });

  await check('u undoes the skip, then an answer (annotation and mark deleted)', async () => {
    await page.focus('[data-testid=review-queue]');
    await page.keyboard.press('u');
    await page.waitForFunction(([sel, start]) => Number(document.querySelector(sel)?.dataset.start) === start, [current, seen[2].start]);
    const third = seen[2];
    await pressAndWaitForNext(page, 'x', third);
    assert((await progress(page)).reviewed === 3, 'the third answer was not counted');
    await page.focus('[data-testid=review-queue]');
    await page.keyboard.press('u');
    await page.waitForFunction(([sel, start]) => Number(document.querySelector(sel)?.dataset.start) === start, [current, third.start]);
    await page.waitForFunction(() => /^2 \//.test(document.querySelector('[data-testid=review-progress]')?.textContent ?? ''));
    const saved = await getJson(api(`/api/span-annotations?${q}`));
    assert(saved.length === 2 && !saved.some((a) => a.start_time === third.start), `after undo: ${JSON.stringify(saved)}`);
    assert((await getJson(api(`/api/review-marks?${q}`))).length === 2, 'the mark was not undone');
  });

  await check('e opens the stretch in the dialog; its save is marked reviewed (edit) and u takes it back', async () => {
    const third = seen[2];
    const item = queue.items.find((i) => i.start_time === third.start);
    await page.focus('[data-testid=review-queue]');
    await page.keyboard.press('e');
    await page.waitForSelector('[data-testid=annotation-dialog]');
    const other = ['bull_flag', 'double_top', 'head_and_shoulders'].find((l) => l !== item.prediction);
    await page.click(`[data-testid=label-option-${other}]`);
    await page.click('[data-testid=save-annotation]');
    await page.waitForFunction(([sel, start]) => Number(document.querySelector(sel)?.dataset.start) !== start, [current, third.start]);
    const edited = (await getJson(api(`/api/span-annotations?${q}`))).find((a) => a.start_time === third.start);
    assert(edited?.label === other && edited.model_prediction?.label === item.prediction, `edited: ${JSON.stringify(edited)}`);
    const marks = await getJson(api(`/api/review-marks?${q}`));
    assert(marks.some((m) => m.action === 'edit' && m.start_time === third.start), `marks ${JSON.stringify(marks)}`);
    await page.focus('[data-testid=review-queue]');
    await page.keyboard.press('u');
    await page.waitForFunction(([sel, start]) => Number(document.querySelector(sel)?.dataset.start) === start, [current, third.start]);
    await page.waitForFunction(() => /^2 \//.test(document.querySelector('[data-testid=review-progress]')?.textContent ?? ''));
  });

  await check('Ctrl+Z takes back a queue answer whole (annotation and review mark), Ctrl+Shift+Z puts both back', async () => {
    const third = seen[2];
    const coversThird = (m) => m.start_time === third.start && m.end_time === third.end;
    const state = async () => ({
      annotation: (await getJson(api(`/api/span-annotations?${q}`))).find((a) => a.start_time === third.start) ?? null,
      mark: (await getJson(api(`/api/review-marks?${q}`))).find(coversThird) ?? null,
    });
    await page.focus('[data-testid=review-queue]');
    await page.keyboard.press('a');
    await showing(page, third.start, false, 'a did not move on from the third stretch');
    await reviewedReads(page, 3, 'a was not counted as reviewed');
    const answered = await state();
    assert(answered.annotation && answered.mark?.annotation_id === answered.annotation.id, `after a: ${JSON.stringify(answered)}`);
    assert(await listed(page, answered.annotation.id), 'the accepted annotation is not in the list');

    // Ctrl+Z where the panel keeps the focus (the global shortcut, not the panel's u).
    await page.keyboard.press('Control+z');
    await waitUntil(page, (id) => !document.querySelector(`[data-testid=annotation-item][data-id="${id}"]`), answered.annotation.id, 'Ctrl+Z left the annotation in the list');
    await showing(page, third.start, true, 'after Ctrl+Z the annotation is gone but the stretch is not back in the queue');
    await reviewedReads(page, 2, 'after Ctrl+Z the progress still counts the stretch as reviewed');
    const undone = await state();
    assert(!undone.annotation, `Ctrl+Z left the annotation in the database: ${JSON.stringify(undone.annotation)}`);
    assert(!undone.mark, `Ctrl+Z left the review mark in the database: ${JSON.stringify(undone.mark)}`);

    await page.keyboard.press('Control+Shift+z');
    await showing(page, third.start, false, 'after Ctrl+Shift+Z the stretch is still in the queue');
    await reviewedReads(page, 3, 'after Ctrl+Shift+Z the progress does not count the stretch');
    const redone = await state();
    assert(redone.annotation?.label === answered.annotation.label, `Ctrl+Shift+Z did not create the annotation again: ${JSON.stringify(redone)}`);
    assert(redone.mark?.annotation_id === redone.annotation.id && redone.mark.action === 'accept', `the redone mark: ${JSON.stringify(redone.mark)}`);
    assert(await listed(page, redone.annotation.id), 'the redone annotation is not in the list');

    // u and Ctrl+Z share one history: u takes back the redone answer, Ctrl+Shift+Z redoes it.
    await page.focus('[data-testid=review-queue]');
    await page.keyboard.press('u');
    await showing(page, third.start, true, 'u after the redo did not bring the stretch back');
    await reviewedReads(page, 2, 'u after the redo: progress');
    const byU = await state();
    assert(!byU.annotation && !byU.mark, `u after the redo left ${JSON.stringify(byU)}`);
    await page.keyboard.press('Control+Shift+z');
    await showing(page, third.start, false, 'Ctrl+Shift+Z after u did not answer the stretch again');
    await reviewedReads(page, 3, 'Ctrl+Shift+Z after u: progress');
    const again = await state();
    assert(again.annotation && again.mark?.annotation_id === again.annotation.id, `Ctrl+Shift+Z after u: ${JSON.stringify(again)}`);

    // Persisted: after a reload the stretch is reviewed and its annotation there.
    await page.reload();
    await waitForCandles(page);
    await page.click('[data-testid=review-queue-toggle]');
    await page.waitForSelector(current);
    await reviewedReads(page, 3, 'after the reload the redone answer is not counted');
    assert((await shown(page)).start !== third.start, 'after the reload the redone stretch is in the queue again');
    assert(await listed(page, again.annotation.id), 'after the reload the redone annotation is not in the list');

    // Leave the suite's state as it was: the third stretch unanswered (through the API).
    await fetch(api(`/api/span-annotations/${again.annotation.id}`), { method: 'DELETE' });
    await fetch(api(`/api/review-marks?${new URLSearchParams({ id: again.mark.id })}`), { method: 'DELETE' });
    await page.reload();
    await waitForCandles(page);
    await page.click('[data-testid=review-queue-toggle]');
    await showing(page, third.start, true, 'after the clean-up the third stretch is not shown');
    await reviewedReads(page, 2, 'after the clean-up: progress');
  });

  await check('with the service down the loaded queue stays and an answer is still saved', async () => {
    const { service } = ctx;
    if (!service.managed) {
      ctx.reporter.skip('review outage', 'the service at INFERENCE_API_URL is not ours to stop');
      return;
    }
    await service.stop();
    try {
      const down = await fetch(api(`/api/review-queue?${q}`));
      const body = await down.json();
      assert(down.status === 503 && /not reachable/.test(body.detail), `proxy while down: ${down.status} ${JSON.stringify(body)}`);
      const third = await shown(page);
      assert(third.start === seen[2].start, `shown ${JSON.stringify(third)}`);
      await pressAndWaitForNext(page, 'x', third);
      await page.waitForFunction(() => /^3 \//.test(document.querySelector('[data-testid=review-progress]')?.textContent ?? ''));
      const saved = (await getJson(api(`/api/span-annotations?${q}`))).find((a) => a.start_time === third.start);
      assert(saved?.label === 'O' && saved.model_prediction, `saved while down: ${JSON.stringify(saved)}`);
      await page.focus('[data-testid=review-queue]');
      await page.keyboard.press('u');
      await page.waitForFunction(([sel, start]) => Number(document.querySelector(sel)?.dataset.start) === start, [current, third.start]);
      await page.waitForFunction(() => /^2 \//.test(document.querySelector('[data-testid=review-progress]')?.textContent ?? ''));
    } finally {
      await service.start();
    }
  });

  await check('after a reload the reviewed stretches are gone and counted', async () => {
    await page.reload();
    await waitForCandles(page);
    await page.click('[data-testid=review-queue-toggle]');
    await page.waitForSelector(current);
    const first = await shown(page);
    assert(first.start === seen[2].start, `after reload the first stretch is ${JSON.stringify(first)}, expected the skipped one ${JSON.stringify(seen[2])}`);
    const p = await progress(page);
    assert(p.reviewed === 2 && p.total === queue.items.length, `progress ${JSON.stringify(p)}`);
  });

  await check('the export holds the answers with model_prediction', async () => {
    const doc = await getJson(api(`/api/span-annotations/export?${q}`));
    const answers = doc.annotations.filter((a) => a.start_time === seen[0].start || a.start_time === seen[1].start);
    assert(answers.length === 2, `export: ${JSON.stringify(doc.annotations)}`);
    for (const a of answers) {
      const item = queue.items.find((i) => i.start_time === a.start_time);
      const mp = a.model_prediction;
      assert(mp && mp.label === item.prediction && mp.model_version === queue.model_version, `model_prediction ${JSON.stringify(a)}`);
      assert(Math.abs(mp.confidence - item.confidence) < 1e-9, `confidence ${mp.confidence} vs ${item.confidence}`);
    }
    assert(pageErrors.length === 0, `page errors: ${pageErrors.join('; ')}`);
  });
}

// Alone: `node e2e/review.e2e.mjs` (not awaited here: run.mjs imports this module).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  void import('./run.mjs').then(({ main }) => main(['review']));
}
