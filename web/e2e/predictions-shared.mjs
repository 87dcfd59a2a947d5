/**
 * What the parts of predictions.e2e.mjs share: the model poll interval, the panel's initial
 * threshold, the sample data's pattern labels (and telling the TA-Lib candlestick labels apart),
 * the candlestick layer switch, the saved annotations, and a reload without the kept prediction.
 */
import { getJson } from './harness.mjs';

export const POLL_MS = Number(process.env.E2E_MODEL_POLL_MS || 3000);
export const THRESHOLD = 0.5; // the panel's initial confidence threshold
/**
 * The sample data's planted patterns (labeling.labels). A model trained by the pipeline may
 * also predict TA-Lib candlestick labels (short, frequent spans the pipeline does not accept
 * from annotators): the disagreement checks hide those in the panel and work on these.
 */
export const PATTERN_LABELS = ['bull_flag', 'double_top', 'head_and_shoulders'];
/**
 * TA-Lib candlestick labels form a layer of their own, off by default and never compared with
 * the annotators' spans: this suite switches it on (and opens its labels) to see every
 * prediction drawn; the summary counts the chart patterns only.
 */
export const isCandlestick = (label) => /^(bullish|bearish)_[a-z0-9]+$/.test(label) && !PATTERN_LABELS.includes(label);
export const chartOnly = (spans) => spans.filter((x) => !isCandlestick(x.label));

export async function showCandlestickLayer(page) {
  if (!(await page.isChecked('[data-testid=candlestick-layer]'))) await page.check('[data-testid=candlestick-layer]');
  const details = page.locator('[data-testid=candlestick-labels]');
  if ((await details.count()) && !(await details.evaluate((d) => d.open))) await details.locator('summary').click();
}

export async function listAnnotations(api, q) {
  return getJson(api(`/api/span-annotations?${q}`));
}

/**
 * A reload without the shown prediction this browser keeps (lib/predictions/view-settings.ts),
 * so a run asks the service again instead of answering from the restored result.
 */
export async function reloadWithoutKeptPrediction(page) {
  await page.evaluate(() => {
    for (const key of Object.keys(localStorage)) if (key.startsWith('annotator.prediction.v1:')) localStorage.removeItem(key);
  });
  await page.reload();
}
