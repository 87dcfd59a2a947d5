/**
 * The prediction overlay's view settings, kept per browser (localStorage) so a reload keeps
 * them: the threshold, the labels shown, the layers, auto-predict, "show only disagreements"
 * and the master toggle. And the last shown prediction result of each partition, which comes
 * back after a reload when the same model version still serves the partition.
 *
 * Pure reading and writing with validation (tests/view-settings.test.ts); every storage
 * failure (private mode, quota) is swallowed: the settings are a convenience.
 */
import type { PredictionResult, PredictionState } from '@/types/predictions';

export const VIEW_SETTINGS_KEY = 'annotator.view-settings.v1';
const RESULT_KEY_PREFIX = 'annotator.prediction.v1:';

export type ViewSettings = Pick<
  PredictionState,
  'visible' | 'confidenceThreshold' | 'selectedLabels' | 'autoPredict' | 'showOnlyDisagreements' | 'showCandlestick'
>;

/** Storage as far as this module needs it (window.localStorage, or a stand-in in the tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function storage(): KeyValueStorage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null;
  }
}

export function serializeViewSettings(s: ViewSettings): string {
  return JSON.stringify({
    visible: s.visible,
    confidenceThreshold: s.confidenceThreshold,
    selectedLabels: s.selectedLabels === null ? null : [...s.selectedLabels].sort(),
    autoPredict: s.autoPredict,
    showOnlyDisagreements: s.showOnlyDisagreements,
    showCandlestick: s.showCandlestick,
  });
}

/** The settings stored, field by field: a missing or malformed field is left out. */
export function parseViewSettings(text: string | null): Partial<ViewSettings> {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {};
  }
  if (!raw || typeof raw !== 'object') return {};
  const r = raw as Record<string, unknown>;
  const out: Partial<ViewSettings> = {};
  for (const key of ['visible', 'autoPredict', 'showOnlyDisagreements', 'showCandlestick'] as const) {
    if (typeof r[key] === 'boolean') out[key] = r[key] as boolean;
  }
  const t = r.confidenceThreshold;
  if (typeof t === 'number' && Number.isFinite(t) && t >= 0 && t <= 1) out.confidenceThreshold = t;
  if (r.selectedLabels === null) out.selectedLabels = null;
  else if (Array.isArray(r.selectedLabels) && r.selectedLabels.every((l) => typeof l === 'string')) {
    out.selectedLabels = new Set(r.selectedLabels as string[]);
  }
  return out;
}

export function loadViewSettings(store: KeyValueStorage | null = storage()): Partial<ViewSettings> {
  try {
    return parseViewSettings(store?.getItem(VIEW_SETTINGS_KEY) ?? null);
  } catch {
    return {};
  }
}

export function saveViewSettings(s: ViewSettings, store: KeyValueStorage | null = storage()): void {
  try {
    store?.setItem(VIEW_SETTINGS_KEY, serializeViewSettings(s));
  } catch {
    /* private mode or full: the settings are a convenience */
  }
}

// --- The last shown result of each partition ---------------------------------------------

const resultKey = (pair: string, timeframe: string) => `${RESULT_KEY_PREFIX}${pair}|${timeframe}`;

export function saveShownResult(result: PredictionResult, store: KeyValueStorage | null = storage()): void {
  try {
    store?.setItem(resultKey(result.pair, result.timeframe), JSON.stringify(result));
  } catch {
    /* too large for the quota: not kept */
  }
}

/** The result kept for the partition, when it was made by `modelVersion`. */
export function loadShownResult(
  pair: string,
  timeframe: string,
  modelVersion: string,
  store: KeyValueStorage | null = storage(),
): PredictionResult | null {
  try {
    const text = store?.getItem(resultKey(pair, timeframe));
    if (!text) return null;
    const r = JSON.parse(text) as PredictionResult;
    const ok =
      r &&
      r.pair === pair &&
      r.timeframe === timeframe &&
      r.model_version === modelVersion &&
      Array.isArray(r.spans) &&
      Array.isArray(r.candles) &&
      typeof r.start === 'number' &&
      typeof r.end === 'number';
    return ok ? r : null;
  } catch {
    return null;
  }
}
