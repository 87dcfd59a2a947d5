/**
 * Part of predictions.e2e.mjs: the labeling round trip. Annotations that make every kind of
 * disagreement, highlighted; "show only disagreements"; clicking a missed_by_human prediction
 * on the chart and saving it; "Not a pattern"; the export holding both, and the pipeline's
 * labeled_windows tagging the negative span O and the accepted one B/I.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  assert,
  chartSel,
  num,
  postJson,
  PYTHON,
  REPO,
  scanCanvas,
  summary,
  tempDir,
  waitForCandles,
  waitForMarkers,
  waitForModel,
  zoom,
} from './harness.mjs';
import { isCandlestick, listAnnotations, PATTERN_LABELS } from './predictions-shared.mjs';

/** `suite`: as for overlayChecks (predictions-overlay.mjs), after them: `s` holds the model and the batch answer. */
export async function labelingChecks(suite) {
  const { page, web, partition, fixture, shot, check, api, q, s } = suite;

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
    // The jump centres C in the pane (the chart's largest canvas) with 1.5 lengths (at least 20
    // candles) either side, so C fills at least the middle tenth for 5+ candles: look there, so a
    // neighbouring prediction's fill is not clicked instead. The band must be wider than a candle:
    // the fill counts as yellow where it lies over a light candle, and one candle can fill a narrow band.
    const pane = await page.$eval(chartSel, (el) => {
      const c = [...el.querySelectorAll('canvas')].sort((a, b) => b.width * b.height - a.width * a.height)[0].getBoundingClientRect();
      return { width: c.width, height: c.height };
    });
    const band = pane.width / 20;
    const yellow = await scanCanvas(page, 'yellow', { x1: pane.width / 2 - band, x2: pane.width / 2 + band, y1: 0, y2: pane.height });
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
}
