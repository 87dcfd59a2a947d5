import { describe, expect, it } from 'vitest';
import { isCandlestickLabel, labelLayer } from '@/lib/labels';
import {
  loadShownResult,
  loadViewSettings,
  parseViewSettings,
  saveShownResult,
  saveViewSettings,
  VIEW_SETTINGS_KEY,
  type KeyValueStorage,
} from '@/lib/predictions/view-settings';
import type { PredictionResult } from '@/types/predictions';

function memory(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

const settings = {
  visible: false,
  confidenceThreshold: 0.95,
  selectedLabels: new Set(['double_top', 'bull_flag']),
  autoPredict: true,
  showOnlyDisagreements: true,
  showCandlestick: true,
};

describe('view settings kept per browser', () => {
  it('survive a round trip (a reload)', () => {
    const store = memory();
    saveViewSettings(settings, store);
    const back = loadViewSettings(store);
    expect({ ...back, selectedLabels: [...(back.selectedLabels ?? [])].sort() }).toEqual({ ...settings, selectedLabels: ['bull_flag', 'double_top'] });
    saveViewSettings({ ...settings, selectedLabels: null }, store);
    expect(loadViewSettings(store).selectedLabels).toBeNull();
  });

  it('leave out what is missing or malformed', () => {
    expect(parseViewSettings(null)).toEqual({});
    expect(parseViewSettings('{not json')).toEqual({});
    expect(parseViewSettings('[1]')).toEqual({});
    expect(parseViewSettings(JSON.stringify({ confidenceThreshold: 7, autoPredict: 'yes', visible: true, selectedLabels: [1] }))).toEqual({ visible: true });
  });

  it('storage failures are swallowed', () => {
    const broken: KeyValueStorage = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('quota'); }, removeItem: () => {} };
    expect(() => saveViewSettings(settings, broken)).not.toThrow();
    expect(loadViewSettings(broken)).toEqual({});
    expect(loadViewSettings(null)).toEqual({});
    expect(VIEW_SETTINGS_KEY).toMatch(/view-settings/);
  });
});

describe('the shown prediction comes back for the same model version', () => {
  const result: PredictionResult = { pair: 'EURUSD', timeframe: '1h', start: 0, end: 3600, kind: 'all', model_version: 'v3', candles: [{ time: 0, label: 'bull_flag', confidence: 0.9 }], spans: [] };

  it('is restored for its partition and version only', () => {
    const store = memory();
    saveShownResult(result, store);
    expect(loadShownResult('EURUSD', '1h', 'v3', store)).toEqual(result);
    expect(loadShownResult('EURUSD', '1h', 'v4', store)).toBeNull(); // a new model: predict again
    expect(loadShownResult('EURUSD', '4h', 'v3', store)).toBeNull();
    store.data.set([...store.data.keys()][0], '{broken');
    expect(loadShownResult('EURUSD', '1h', 'v3', store)).toBeNull();
  });
});

describe('label layers', () => {
  it('TA-Lib CDL labels are candlestick patterns, the rest chart patterns', () => {
    for (const l of ['bullish_doji', 'bearish_harami', 'bearish_engulfing', 'bullish_hammer']) expect(labelLayer(l), l).toBe('candlestick');
    for (const l of ['bull_flag', 'double_top', 'head_and_shoulders', 'cup_and_handle', 'O']) expect(isCandlestickLabel(l), l).toBe(false);
  });
});
