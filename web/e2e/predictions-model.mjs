/**
 * Part of predictions.e2e.mjs: the overlay as the model and its server change. The master
 * toggle; a new model version (cache dropped, prediction run again); a prediction error in the
 * panel; auto-predict (debounced); then the model server stopped (offline banner, controls
 * disabled, annotating goes on) and started again (reconnects within the poll interval).
 */
import { spawnSync } from 'node:child_process';
import {
  assert,
  chartBox,
  chartSel,
  dragPan,
  num,
  postJson,
  PYTHON,
  REPO,
  waitForCandles,
  waitForMarkers,
  waitForModel,
  zoom,
} from './harness.mjs';
import { listAnnotations, PATTERN_LABELS, POLL_MS, reloadWithoutKeptPrediction } from './predictions-shared.mjs';

/** `suite`: as for labelingChecks (predictions-labeling.mjs), after them: `s.shown` holds the predictions shown. */
export async function modelChecks(suite) {
  const { ctx, page, service, shot, check, api, q, predictRequests, s } = suite;

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
}
