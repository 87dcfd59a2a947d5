#!/usr/bin/env node
/**
 * Frame times of the prediction overlay: the whole history of a partition with 50,000 candles
 * loaded (the way an annotator does it: a jump to a span at its very beginning), "Predict all"
 * over it, then the chart dragged back and forth at two zoom levels, with the overlay drawn
 * and hidden. Writes frame-times.md and prediction-overlay-50k.png (into docs/ with E2E_DOCS=1,
 * `make docs-screenshots`; else a temporary folder); holds the main-thread CPU per frame to
 * E2E_MAX_FRAME_MS (default 50).
 *
 * run.mjs gives this suite a partition with at least 50,000 candles: the main test data's when
 * it has that many, else `scripts/e2e_fixture.py --mode perf`'s, served by a second service
 * started for it.
 * `node e2e/perf.e2e.mjs` runs it alone.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  assert,
  candleCount,
  chartSel,
  dragPan,
  getJson,
  num,
  postJson,
  screenshotDir,
  waitForCandles,
  waitForMarkers,
  waitForModel,
  zoom,
} from './harness.mjs';

const MAX_FRAME_MS = Number(process.env.E2E_MAX_FRAME_MS || 50);
/** Candles the measured partition must have. */
export const PERF_CANDLES = Number(process.env.E2E_PERF_CANDLES || 50_000);

export const env = { NEXT_PUBLIC_PREDICTIONS_ENABLED: 'true' };

// ------------------------------------------------------------------------------------------
// Frame times: requestAnimationFrame deltas (wall clock, what the eye sees) and, from a
// Chromium trace, the renderer main thread's CPU time per frame (the page's own work, which
// other processes on a shared machine do not inflate).

const TRACE_CATEGORIES = ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline.frame'];

async function recordFrames(page, action) {
  const browser = page.context().browser();
  await browser.startTracing(page, { categories: TRACE_CATEGORIES });
  await page.evaluate(() => {
    const w = window;
    w.__frames = [];
    w.__loafs = [];
    w.__recording = true;
    let last = 0;
    const tick = (now) => {
      if (last) w.__frames.push(now - last);
      last = now;
      if (w.__recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    if (PerformanceObserver.supportedEntryTypes?.includes('long-animation-frame')) {
      w.__observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__loafs.push(e.duration);
      });
      w.__observer.observe({ type: 'long-animation-frame' });
    }
  });
  await page.waitForTimeout(200);
  await action();
  await page.waitForTimeout(200);
  const { frames, loafs } = await page.evaluate(() => {
    const w = window;
    w.__recording = false;
    w.__observer?.disconnect();
    return { frames: w.__frames, loafs: w.__loafs };
  });
  const trace = JSON.parse((await browser.stopTracing()).toString());
  return { frames, loafs, cpu: mainThreadCpuPerFrame(trace.traceEvents ?? trace) };
}

/**
 * CPU milliseconds of the renderer main thread per frame: the thread CPU time (`tdur`) of its
 * top-level tasks, grouped by the BeginMainThreadFrame that precedes them.
 */
function mainThreadCpuPerFrame(events) {
  const threads = new Map();
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain') threads.set(`${e.pid}:${e.tid}`, 0);
  for (const e of events) {
    const k = `${e.pid}:${e.tid}`;
    if (e.name === 'BeginMainThreadFrame' && threads.has(k)) threads.set(k, threads.get(k) + 1);
  }
  const main = [...threads.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!main) return [];
  const mine = events.filter((e) => `${e.pid}:${e.tid}` === main);
  const begins = mine.filter((e) => e.name === 'BeginMainThreadFrame').map((e) => e.ts).sort((a, b) => a - b);
  const tasks = mine.filter((e) => e.ph === 'X' && e.name === 'ThreadControllerImpl::RunTask' && e.tdur !== undefined);
  const perFrame = new Array(Math.max(0, begins.length - 1)).fill(0);
  for (const t of tasks) {
    // The frame whose interval holds the task's start.
    let lo = 0;
    let hi = begins.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (begins[mid] <= t.ts) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i >= 0 && i < perFrame.length) perFrame[i] += t.tdur / 1000;
  }
  return perFrame;
}

function stats(frames) {
  const sorted = [...frames].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const mean = frames.reduce((a, b) => a + b, 0) / Math.max(1, frames.length);
  return {
    frames: frames.length,
    mean,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted.at(-1) ?? 0,
    overTarget: frames.filter((f) => f > MAX_FRAME_MS).length,
  };
}

/** Pan back and forth over the chart: four drags of `steps` pointer moves each. */
async function panAround(page, steps = 40) {
  for (const [a, b] of [
    [0.75, 0.25],
    [0.25, 0.75],
    [0.7, 0.3],
    [0.3, 0.7],
  ]) {
    await dragPan(page, a, b, steps);
  }
}

export async function run(ctx) {
  const { page, web, partition, shot } = ctx;
  const check = (name, fn) => ctx.reporter.check(name, fn, page);
  const api = (p) => `${web.url}${p}`;
  const q = new URLSearchParams({ pair: partition.pair, timeframe: partition.timeframe });
  const pageUrl = `${web.url}/?${q}`;

  await check(`predictions over ${partition.candles} candles: frame times while panning (frame-times.md)`, async () => {
    // Load the whole history the way an annotator does: jump to a span at its very beginning.
    const oldest = await getJson(api(`/api/candles?${q}&start=${partition.first_time}&limit=40`));
    await page.goto(pageUrl);
    await waitForCandles(page);
    await waitForModel(page);
    const info = await getJson(api('/api/model/info'));
    const model = info.models.find((m) => m.pair === partition.pair && m.timeframe === partition.timeframe);
    await postJson(api('/api/span-annotations'), {
      pair: partition.pair,
      timeframe: partition.timeframe,
      label: model.labels[0].name,
      start_time: oldest[20].time, // a jump loads until 20 candles before the span: all of them
      end_time: oldest[30].time,
      note: 'e2e: oldest span',
    });
    await page.reload();
    await waitForCandles(page);
    await waitForModel(page);
    let t = Date.now();
    await page.click('[data-testid=annotation-item][data-label] .list__jump >> nth=0');
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.candles) >= n, [chartSel, partition.candles], {
      timeout: 180_000,
    });
    const loadMs = Date.now() - t;
    const loaded = await candleCount(page);
    t = Date.now();
    await page.click('[data-testid=predict-all]');
    await page.waitForFunction(() => document.querySelector('[data-testid=prediction-range]')?.textContent.startsWith('All loaded'), null, {
      timeout: 120_000,
    });
    const markers = await waitForMarkers(page, (n) => n > 0, 60_000);
    const predictMs = Date.now() - t;
    const bars = await num(page, 'prediction-bars');
    const highlights = await num(page, 'highlights');
    await page.waitForTimeout(1000); // the overlay is drawn
    const scenarios = [];
    const measure = async (name, overlay) => {
      if (!overlay) await page.uncheck('[data-testid=predictions-visible]');
      await page.waitForTimeout(300);
      const r = await recordFrames(page, () => panAround(page));
      if (!overlay) await page.check('[data-testid=predictions-visible]');
      scenarios.push({ name, overlay, wall: stats(r.frames), cpu: stats(r.cpu), loafs: r.loafs });
    };
    await zoom(page, 300, 4);
    await measure('a few hundred bars in view', true);
    await measure('a few hundred bars in view, overlay hidden', false);
    await zoom(page, 600, 25); // far out: about 1,000 bars in view (the 50k screenshot)
    await measure('zoomed out (about 1,000 bars in view)', true);
    await measure('zoomed out, overlay hidden', false);
    await page.mouse.move(5, 5);
    await shot('prediction-overlay-50k.png');

    const f = (x) => x.toFixed(1);
    const row = (x, k) =>
      `| ${x.name} | ${x[k].frames} | ${f(x[k].mean)} | ${f(x[k].p50)} | ${f(x[k].p95)} | ${f(x[k].p99)} | ${f(x[k].max)} | ${x[k].overTarget} |`;
    const head = [`| scenario | frames | mean ms | p50 | p95 | p99 | max | > ${MAX_FRAME_MS} ms |`, '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
    const wallOver = scenarios.filter((x) => x.overlay && x.wall.max > MAX_FRAME_MS);
    const lines = [
      '# Prediction overlay: frame times while panning',
      '',
      `Measured by \`web/e2e/perf.e2e.mjs\` (\`make docs-screenshots\`) on ${new Date().toISOString().slice(0, 10)}:`,
      `headless ${chromiumVersion()} (software rendering, \`--disable-gpu\`), viewport 1440×820, on a machine with`,
      `${os.cpus().length} cores shared with other work (load average ${os.loadavg()[0].toFixed(1)} when measured).`,
      `${loaded} candles of ${partition.pair} ${partition.timeframe} loaded; "Predict all" over them drew ${bars} prediction bars,`,
      `${markers} markers and ${highlights} disagreement highlights (${(predictMs / 1000).toFixed(1)} s from the click to the drawn`,
      `overlay, the service's batch prediction of ${loaded} candles included; loading the history page by page took ${(loadMs / 1000).toFixed(1)} s).`,
      '',
      'Each scenario drags the chart back and forth (four drags of 40 pointer moves) and is measured twice:',
      '',
      '- **main-thread CPU per frame**: from a Chromium trace, the thread CPU time of the renderer main',
      '  thread\'s tasks between two frames: the work the page does for a frame (input handling, React,',
      '  lightweight-charts drawing the candles, the bars, the markers and the highlights). This is the',
      `  measure the test holds to the ${MAX_FRAME_MS} ms target;`,
      '- **wall clock**: requestAnimationFrame deltas, what the eye sees. On a loaded shared machine these',
      '  include time the renderer waited for a core, so compare each scenario with its "overlay hidden" twin.',
      '',
      '## Main-thread CPU per frame',
      '',
      ...head,
      ...scenarios.map((x) => row(x, 'cpu')),
      '',
      '## Wall clock (requestAnimationFrame deltas)',
      '',
      `${head[0]} long animation frames |`,
      `${head[1]} ---: |`,
      ...scenarios.map((x) => `${row(x, 'wall')} ${x.loafs.length ? `${x.loafs.length} (max ${f(Math.max(...x.loafs))} ms)` : '0'} |`),
      '',
      `Target: no frame over ${MAX_FRAME_MS} ms of main-thread CPU while panning after the overlay is drawn; the test allows one outlier per scenario (single 50-65 ms frames occur with the overlay hidden too on this shared machine).`,
      `Main-thread CPU per frame stayed at or below ${f(Math.max(...scenarios.filter((x) => x.overlay).map((x) => x.cpu.max)))} ms with the overlay drawn.`,
      wallOver.length
        ? `Wall clock: ${wallOver
            .map((x) => {
              const twin = scenarios.find((y) => !y.overlay && y.name.startsWith(x.name.split(' (')[0]));
              return `${x.name}: ${x.wall.overTarget} frame(s) over ${MAX_FRAME_MS} ms, max ${f(x.wall.max)} ms (overlay hidden: max ${f(twin?.wall.max ?? 0)} ms)`;
            })
            .join('; ')}. The main thread's own work per frame stayed far below that (table above): the rest is time outside it (waiting for a core on this shared machine, raster and compositing threads).`
        : `No wall-clock frame went over ${MAX_FRAME_MS} ms either.`,
      '',
    ];
    if (process.env.E2E_SCREENSHOTS !== '0') fs.writeFileSync(path.join(screenshotDir(), 'frame-times.md'), lines.join('\n'));
    for (const x of scenarios) {
      console.log(`# ${x.name}: ${x.wall.frames} frames; CPU per frame p95 ${f(x.cpu.p95)} ms, max ${f(x.cpu.max)} ms; wall p95 ${f(x.wall.p95)} ms, max ${f(x.wall.max)} ms`);
    }
    assert(loaded >= partition.candles, `${loaded} candles loaded`);
    for (const x of scenarios.filter((x) => x.overlay)) {
      assert(x.wall.frames > 20 && x.cpu.frames > 20, `${x.name}: only ${x.wall.frames} frames recorded`);
      // One frame over the target is tolerated: single 50-65 ms frames show up with the overlay
      // hidden too (the shared machine: garbage collection, a descheduled renderer), so one is not
      // the overlay's cost; two or more, or a 99th percentile over the target, are.
      assert(
        x.cpu.overTarget <= 1 && x.cpu.p99 <= MAX_FRAME_MS,
        `${x.name}: ${x.cpu.overTarget} frames over ${MAX_FRAME_MS} ms of main-thread CPU (max ${f(x.cpu.max)} ms, p99 ${f(x.cpu.p99)} ms; at most 1 allowed)`,
      );
    }
    if (process.env.E2E_STRICT_FRAMES === '1') {
      for (const x of wallOver) assert(false, `${x.name}: a frame took ${f(x.wall.max)} ms of wall clock (E2E_STRICT_FRAMES=1)`);
    }
  });
}

function chromiumVersion() {
  const r = spawnSync(process.env.CHROMIUM_PATH || '/usr/bin/chromium', ['--version'], { encoding: 'utf8' });
  return r.stdout?.trim() || 'Chromium';
}

// Alone: `node e2e/perf.e2e.mjs` (not awaited here: run.mjs imports this module).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  void import('./run.mjs').then(({ main }) => main(['perf']));
}
