/**
 * Chart helpers for the browser suites: the chart's data-* attributes, waiting for candles,
 * markers and the model, colour scans of the chart's canvas, and moving the chart the way a
 * person does (wheel zoom, drag pan, range inputs). Part of harness.mjs (which re-exports it).
 */
// ------------------------------------------------------------------------------------------
// Chart helpers

export const chartSel = '[data-testid=candle-chart]';

export async function candleCount(page) {
  return Number(await page.getAttribute(chartSel, 'data-candles'));
}

export async function chartData(page, name) {
  return page.getAttribute(chartSel, `data-${name}`);
}

export async function waitForCandles(page) {
  await page.waitForFunction((sel) => Number(document.querySelector(sel)?.dataset.candles) > 0, chartSel, { timeout: 30_000 });
  await page.waitForTimeout(300); // a frame for the chart to paint
}

/**
 * Count pixels of the chart's main canvas of a colour kind; also their centroid in page
 * coordinates. Kinds: purple (head_and_shoulders #ab47bc blended over the dark background),
 * yellow (the missed_by_human fill), orange (the label_mismatch border), red (the dashed
 * missed_by_model border). Candles (teal, red #ef5350) and volume are not matched.
 */
export async function scanCanvas(page, kind, region = null) {
  return page.evaluate(
    ({ sel, kind, region }) => {
      const canvases = [...document.querySelectorAll(`${sel} canvas`)];
      const main = canvases.sort((a, b) => b.width * b.height - a.width * a.height)[0];
      const ctx = main.getContext('2d');
      const { data, width, height } = ctx.getImageData(0, 0, main.width, main.height);
      const rect = main.getBoundingClientRect();
      const ratio = main.width / rect.width;
      const inRegion = (x, y) =>
        !region || (x / ratio >= region.x1 && x / ratio <= region.x2 && y / ratio >= region.y1 && y / ratio <= region.y2);
      const tests = {
        purple: (r, g, b) => b - g > 18 && r - g > 10,
        yellow: (r, g, b) => r > 50 && g > 45 && r - b > 25 && g - b > 20 && Math.abs(r - g) < 30,
        orange: (r, g, b) => r > 200 && g > 110 && g < 180 && b < 60,
        red: (r, g, b) => r > 200 && g < 60 && b > 40 && b < 110,
      };
      const hit = tests[kind];
      let n = 0;
      let sx = 0;
      let sy = 0;
      for (let y = 0; y < height; y += 2) {
        for (let x = 0; x < width; x += 2) {
          if (!inRegion(x, y)) continue;
          const i = (y * width + x) * 4;
          if (hit(data[i], data[i + 1], data[i + 2])) {
            n++;
            sx += x;
            sy += y;
          }
        }
      }
      return n ? { n, x: rect.left + sx / n / ratio, y: rect.top + sy / n / ratio } : { n: 0 };
    },
    { sel: chartSel, kind, region },
  );
}

// Prediction overlay helpers (the data-* attributes of the chart, the panel's counts).

export const num = async (page, name) => Number(await page.getAttribute(chartSel, `data-${name}`));
export const summary = async (page, name) => Number(await page.textContent(`[data-testid=summary-${name}]`));

export async function waitForModel(page) {
  await page.waitForSelector('[data-testid=model-name]', { timeout: 30_000 });
}

/** Wait until the chart shows `count` markers (or a predicate on the count). */
export async function waitForMarkers(page, predicate, timeout = 30_000) {
  const fn = typeof predicate === 'number' ? (n) => n === predicate : predicate;
  const deadline = Date.now() + timeout;
  let n;
  while (Date.now() < deadline) {
    n = await num(page, 'prediction-markers');
    if (fn(n) && !(await page.isVisible('[data-testid=prediction-loading]'))) return n;
    await page.waitForTimeout(100);
  }
  throw new Error(`markers: ${n} after ${timeout} ms`);
}

/** Set a range input the way a person drags it (React sees the input event). */
export async function setRange(page, testId, value) {
  await page.locator(`[data-testid=${testId}]`).evaluate((el, v) => {
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
    setter.call(el, String(v));
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
  await page.waitForTimeout(100);
}

export async function chartBox(page) {
  return page.locator(chartSel).boundingBox();
}

/** Zoom with the wheel over the chart's middle: positive dy zooms out. */
export async function zoom(page, dy, times) {
  const box = await chartBox(page);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < times; i++) {
    await page.mouse.wheel(0, dy);
    await page.waitForTimeout(60);
  }
  await page.waitForTimeout(200);
}

export async function dragPan(page, fromFraction, toFraction, steps) {
  const box = await chartBox(page);
  const y = box.y + box.height * 0.5;
  await page.mouse.move(box.x + box.width * fromFraction, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * toFraction, y, { steps });
  await page.mouse.up();
}
