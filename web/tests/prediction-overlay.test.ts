import { describe, expect, it } from 'vitest';
import { initialPredictionState, planRequest, predictionReducer } from '@/hooks/usePredictions';
import { labelF1, modelFor, modelLabels, toPredictionResult } from '@/lib/predictions/model-info';
import { buildOverlay, candlesInSpans, filterCandles, filterSpans, percent } from '@/lib/predictions/overlay';
import { predictionSettings } from '@/lib/predictions/settings';
import type { Candle } from '@/types';
import type { HumanSpan, LoadedModelInfo, ModelInfoResponse, PredictResponse } from '@/types/predictions';

const H = 3600;
const T0 = 1_700_000_000 - (1_700_000_000 % H);
const t = (i: number) => T0 + i * H;
const modelInfo = (models: LoadedModelInfo[]): ModelInfoResponse => ({ source: 'bundle', models, failures: [], last_reload: '', reload_interval_seconds: 0 });
const colorOf = (label: string) => ({ bull_flag: '#26a69a', double_top: '#ef5350' })[label] ?? '#888888';

/** A service answer: bull_flag on candles 2-4 (0.9, 0.8, 0.7), double_top on 7-8 (0.6, 0.4). */
function response(): PredictResponse {
  const labels: [string, number][] = [
    ['O', 0.99], ['O', 0.98], ['bull_flag', 0.9], ['bull_flag', 0.8], ['bull_flag', 0.7],
    ['O', 0.95], ['O', 0.9], ['double_top', 0.6], ['double_top', 0.4], ['O', 0.97],
  ];
  return {
    predictions: labels.map(([label, confidence], i) => ({ time: t(i), label, confidence, tag: label, index: i })),
    spans: [
      { label: 'bull_flag', start_time: t(2), end_time: t(4), start_index: 2, end_index: 4, avg_confidence: 0.8 },
      { label: 'double_top', start_time: t(7), end_time: t(8), start_index: 7, end_index: 8, avg_confidence: 0.5 },
    ],
    model_info: { name: 'EURUSD_1h', version: 'v7', pair: 'EURUSD', timeframe: '1h', trained_at: '2026-11-20T09:00:00Z', model_type: 'xgboost', mode: 'bio', source: 'bundle', pooled_from: [] },
    candles: labels.length,
    unlabeled_leading: 0,
    unlabeled_trailing: 0,
    unpredictable_indices: [],
    reason: '',
  };
}
const result = () => toPredictionResult(response(), { pair: 'EURUSD', timeframe: '1h', start: t(0), end: t(9), kind: 'visible' });
const human = (label: string, from: number, to: number): HumanSpan => ({
  id: `h-${label}-${from}`,
  pair: 'EURUSD',
  timeframe: '1h',
  label,
  start_time: t(from),
  end_time: t(to),
});

describe('a prediction response as the overlay keeps it', () => {
  it('keeps pattern candles only, spans with their partition and the model version', () => {
    const r = result();
    expect(r.model_version).toBe('v7');
    expect(r.candles.map((c) => c.label)).toEqual(['bull_flag', 'bull_flag', 'bull_flag', 'double_top', 'double_top']);
    expect(r.spans[0]).toEqual({
      id: `EURUSD|1h|${t(2)}|bull_flag`,
      pair: 'EURUSD',
      timeframe: '1h',
      label: 'bull_flag',
      start_time: t(2),
      end_time: t(4),
      confidence: 0.8,
      model_version: 'v7',
    });
  });
});

describe('threshold and label filtering', () => {
  it('the threshold is inclusive and applies to candles and spans', () => {
    const r = result();
    const f = { threshold: 0.6, selectedLabels: null };
    expect(filterCandles(r.candles, f).map((c) => c.confidence)).toEqual([0.9, 0.8, 0.7, 0.6]);
    expect(filterSpans(r.spans, f).map((s) => s.label)).toEqual(['bull_flag']);
    expect(filterSpans(r.spans, { threshold: 0.5, selectedLabels: null })).toHaveLength(2);
  });

  it('a hidden label leaves the bars and the markers', () => {
    const overlay = buildOverlay({
      result: result(),
      human: [],
      filter: { threshold: 0, selectedLabels: new Set(['double_top']) },
      showOnlyDisagreements: false,
      colorOf,
    });
    expect(overlay.bars.map((b) => b.label)).toEqual(['double_top', 'double_top']);
    expect(overlay.markers.map((m) => m.label)).toEqual(['double_top']);
    expect(overlay.barsByLabel).toEqual({ double_top: 2 });
  });

  it('draws one translucent bar per predicted candle and a marker "label (confidence%)" at each span start', () => {
    const overlay = buildOverlay({ result: result(), human: [], filter: { threshold: 0.5, selectedLabels: null }, showOnlyDisagreements: false, colorOf });
    expect(overlay.bars.map((b) => b.time)).toEqual([t(2), t(3), t(4), t(7)]);
    expect(overlay.bars[0].color).toBe('rgba(38, 166, 154, 0.15)');
    expect(overlay.markers).toEqual([
      { time: t(2), label: 'bull_flag', text: 'bull_flag (80%)', color: '#26a69a' },
      { time: t(7), label: 'double_top', text: 'double_top (50%)', color: '#ef5350' },
    ]);
    expect(percent(0.999)).toBe('99%');
  });

  it('a hidden label is left out of the comparison on both sides', () => {
    const humans = [human('double_top', 5, 6)];
    const shown = buildOverlay({ result: result(), human: humans, filter: { threshold: 0, selectedLabels: null }, showOnlyDisagreements: false, colorOf });
    expect(shown.report.summary.missed_by_model).toBe(1);
    const hidden = buildOverlay({
      result: result(),
      human: humans,
      filter: { threshold: 0, selectedLabels: new Set(['bull_flag']) },
      showOnlyDisagreements: false,
      colorOf,
    });
    expect(hidden.report.summary.missed_by_model).toBe(0);
  });

  it('"show only disagreements" keeps the bars and markers of disputed predictions', () => {
    // A human agrees with the bull_flag; the double_top is nobody's.
    const overlay = buildOverlay({
      result: result(),
      human: [human('bull_flag', 2, 4)],
      filter: { threshold: 0, selectedLabels: null },
      showOnlyDisagreements: true,
      colorOf,
    });
    expect(overlay.report.summary).toMatchObject({ agreements: 1, missed_by_human: 1 });
    expect(overlay.markers.map((m) => m.label)).toEqual(['double_top']);
    expect(overlay.bars.map((b) => b.time)).toEqual([t(7), t(8)]);
  });

  it('keeps only candles inside spans of their label', () => {
    const r = result();
    expect(candlesInSpans(r.candles, [r.spans[1]]).map((c) => c.time)).toEqual([t(7), t(8)]);
    expect(candlesInSpans(r.candles, [])).toEqual([]);
  });

  it('without a result there is nothing to draw', () => {
    const overlay = buildOverlay({ result: null, human: [human('bull_flag', 0, 3)], filter: { threshold: 0.5, selectedLabels: null }, showOnlyDisagreements: false, colorOf });
    expect(overlay.bars).toEqual([]);
    expect(overlay.report.disagreements).toEqual([]);
  });
});

describe('the prediction state reducer', () => {
  it('toggles labels starting from "all", and goes back to all', () => {
    const all = ['bull_flag', 'double_top', 'head_and_shoulders'];
    const off = predictionReducer(initialPredictionState, { type: 'labelToggled', label: 'double_top', allLabels: all });
    expect([...(off.selectedLabels ?? [])].sort()).toEqual(['bull_flag', 'head_and_shoulders']);
    const on = predictionReducer(off, { type: 'labelToggled', label: 'double_top', allLabels: all });
    expect(on.selectedLabels).toBeNull();
  });

  it('clamps the threshold to 0..1', () => {
    expect(predictionReducer(initialPredictionState, { type: 'thresholdSet', threshold: 1.7 }).confidenceThreshold).toBe(1);
    expect(predictionReducer(initialPredictionState, { type: 'thresholdSet', threshold: -1 }).confidenceThreshold).toBe(0);
    expect(predictionReducer(initialPredictionState, { type: 'thresholdSet', threshold: Number.NaN }).confidenceThreshold).toBe(0.5);
  });

  it('tracks the server: offline on an unreachable failure, online again with model info', () => {
    const failed = predictionReducer({ ...initialPredictionState, isLoading: true }, { type: 'predictFailed', message: 'Cannot reach', offline: true });
    expect(failed).toMatchObject({ server: 'offline', isLoading: false, error: 'Cannot reach' });
    const back = predictionReducer(failed, { type: 'modelInfoLoaded', info: modelInfo([]) });
    expect(back).toMatchObject({ server: 'online', error: null });
    // A 422 keeps the server online and shows the message.
    const bad = predictionReducer(back, { type: 'predictFailed', message: 'too few candles', offline: false });
    expect(bad).toMatchObject({ server: 'online', error: 'too few candles' });
  });

  it('keeps the result and its spans together', () => {
    const r = result();
    const s = predictionReducer(initialPredictionState, { type: 'predictSucceeded', result: r });
    expect(s.spans).toBe(r.spans);
    expect(predictionReducer(s, { type: 'resultCleared' })).toMatchObject({ result: null, spans: [] });
  });
});

describe('planning a request', () => {
  const candles: Candle[] = Array.from({ length: 1000 }, (_, i) => ({ time: t(i), open: 1, high: 1, low: 1, close: 1, volume: 1 }));
  const target = { pair: 'EURUSD', timeframe: '1h', candles };
  const model = { unlabeled_leading: 52, unlabeled_trailing: 2 } as LoadedModelInfo;

  it('"visible" sends the view plus the warm-up and look-ahead the model needs', () => {
    const plan = planRequest('visible', target, { from: 600.4, to: 749.6 }, model)!;
    expect(plan.url).toBe('/api/predict');
    expect([plan.start, plan.end]).toEqual([t(600), t(750)]);
    const sent = (plan.body as { candles: Candle[] }).candles;
    expect(sent[0].time).toBe(t(548));
    expect(sent.at(-1)!.time).toBe(t(752));
  });

  it('clamps the view to the loaded candles', () => {
    const plan = planRequest('visible', target, { from: -30, to: 1100 }, model)!;
    expect([plan.start, plan.end]).toEqual([t(0), t(999)]);
    expect((plan.body as { candles: Candle[] }).candles).toHaveLength(1000);
  });

  it('"all" asks the batch route for the loaded range', () => {
    const plan = planRequest('all', target, null, model)!;
    expect(plan).toMatchObject({ url: '/api/predict/batch', body: { pair: 'EURUSD', timeframe: '1h', start: t(0), end: t(999) } });
    expect(planRequest('all', { ...target, candles: [] }, null, model)).toBeNull();
  });
});

describe('model info', () => {
  const model: LoadedModelInfo = {
    name: 'EURUSD_1h',
    version: 'v7',
    pair: 'EURUSD',
    timeframe: '1h',
    trained_at: '2026-11-20T09:00:00Z',
    model_type: 'xgboost',
    mode: 'bio',
    source: 'bundle',
    pooled_from: [],
    runtime: 'xgboost',
    location: 'models/EURUSD_1h',
    loaded_at: '2026-11-20T09:05:00Z',
    labels: [],
    feature_count: 40,
    min_candles: 55,
    unlabeled_leading: 52,
    unlabeled_trailing: 2,
    dataset_version: 'test',
    mlflow_run_id: null,
    registered_model_name: null,
    registered_version: null,
    classes: ['B-bull_flag', 'I-bull_flag', 'B-double_top', 'I-double_top', 'O'],
    metrics: {
      per_class: {
        'B-bull_flag': { f1: 0.4, support: 10 },
        'I-bull_flag': { f1: 0.8, support: 30 },
        'B-double_top': { f1: 0.5 },
        'I-double_top': { f1: 0.7 },
        O: { f1: 0.99, support: 900 },
      },
    },
  };

  it('finds the model of a partition', () => {
    expect(modelFor(modelInfo([model]), 'EURUSD', '1h')).toBe(model);
    expect(modelFor(modelInfo([model]), 'EURUSD', '4h')).toBeNull();
    expect(modelFor(null, 'EURUSD', '1h')).toBeNull();
  });

  it('gives one F1 per label: B- and I- weighted by support, plain mean without support', () => {
    expect(labelF1(model, 'bull_flag')).toBeCloseTo(0.7);
    expect(labelF1(model, 'double_top')).toBeCloseTo(0.6);
    expect(labelF1(model, 'head_and_shoulders')).toBeNull();
    const windowed = { ...model, metrics: { per_class: { bull_flag: { f1: 0.66 } } } };
    expect(labelF1(windowed, 'bull_flag')).toBe(0.66);
    expect(modelLabels(model)).toEqual(['bull_flag', 'double_top']);
  });
});

describe('settings', () => {
  it('the feature is on unless NEXT_PUBLIC_PREDICTIONS_ENABLED says false', () => {
    expect(predictionSettings({})).toEqual({ enabled: true, pollMs: 30_000 });
    expect(predictionSettings({ NEXT_PUBLIC_PREDICTIONS_ENABLED: 'false' }).enabled).toBe(false);
    expect(predictionSettings({ NEXT_PUBLIC_PREDICTIONS_ENABLED: ' 0 ' }).enabled).toBe(false);
    expect(predictionSettings({ NEXT_PUBLIC_PREDICTIONS_ENABLED: 'true' }).enabled).toBe(true);
  });

  it('reads the poll interval, falling back on a bad value', () => {
    expect(predictionSettings({ NEXT_PUBLIC_MODEL_POLL_MS: '2000' }).pollMs).toBe(2000);
    expect(predictionSettings({ NEXT_PUBLIC_MODEL_POLL_MS: 'soon' }).pollMs).toBe(30_000);
  });
});

describe('the overlay compares only inside the predicted range', () => {
  it('a human span before the result range is not missed by the model', () => {
    // result() covers candles 0-9; a bull_flag at 40-45 lies outside it.
    const overlay = buildOverlay({ result: result(), human: [human('bull_flag', 40, 45), human('double_top', 7, 8)], filter: { threshold: 0, selectedLabels: null }, showOnlyDisagreements: false, colorOf });
    expect(overlay.report.summary.missed_by_model).toBe(0);
    const inside = buildOverlay({ result: result(), human: [human('double_top', 5, 6)], filter: { threshold: 0, selectedLabels: null }, showOnlyDisagreements: false, colorOf });
    expect(inside.report.summary.missed_by_model).toBe(1);
  });
});

describe('two layers: chart patterns and candlestick patterns', () => {
  /** result() plus one-candle TA-Lib patterns: a doji at 3 (inside the bull_flag), an engulfing at 6. */
  function withCandles() {
    const r = result();
    const cdl = (label: string, i: number) => ({ id: `EURUSD|1h|${t(i)}|${label}`, pair: 'EURUSD', timeframe: '1h', label, start_time: t(i), end_time: t(i), confidence: 0.97, model_version: 'v7' });
    return {
      ...r,
      spans: [...r.spans, cdl('bullish_doji', 3), cdl('bearish_engulfing', 6)].sort((a, b) => a.start_time - b.start_time),
      candles: [...r.candles, { time: t(3), label: 'bullish_doji', confidence: 0.97 }, { time: t(6), label: 'bearish_engulfing', confidence: 0.97 }].sort((a, b) => a.time - b.time),
    };
  }
  const filter = { threshold: 0, selectedLabels: null };

  it('the candlestick layer is off by default: not drawn, not compared, but counted', () => {
    const overlay = buildOverlay({ result: withCandles(), human: [], filter, showOnlyDisagreements: false, colorOf });
    expect(overlay.markers.map((m) => m.label)).toEqual(['bull_flag', 'double_top']);
    expect(Object.keys(overlay.barsByLabel).sort()).toEqual(['bull_flag', 'double_top']);
    expect(overlay.report.summary.predictions).toBe(2);
    expect(overlay.report.summary.missed_by_human).toBe(2);
    expect(overlay.candlestickSpans).toBe(2);
  });

  it('switched on, it is drawn but never a disagreement', () => {
    const overlay = buildOverlay({ result: withCandles(), human: [], filter: { ...filter, showCandlestick: true }, showOnlyDisagreements: false, colorOf });
    expect(overlay.markers.map((m) => m.label)).toEqual(['bull_flag', 'bullish_doji', 'bearish_engulfing', 'double_top']);
    expect(overlay.report.disagreements.map((d) => d.prediction?.label)).toEqual(['bull_flag', 'double_top']);
  });

  it('a candle pattern inside a human flag is not a label mismatch', () => {
    const overlay = buildOverlay({ result: withCandles(), human: [human('bull_flag', 2, 4)], filter: { ...filter, showCandlestick: true }, showOnlyDisagreements: false, colorOf });
    expect(overlay.report.summary.label_mismatch).toBe(0);
    expect(overlay.report.summary.agreements).toBe(1);
  });

  it('"show only disagreements" keeps the disputed chart patterns only', () => {
    const overlay = buildOverlay({ result: withCandles(), human: [human('bull_flag', 2, 4)], filter: { ...filter, showCandlestick: true }, showOnlyDisagreements: true, colorOf });
    expect(overlay.markers.map((m) => m.label)).toEqual(['double_top']);
  });

  it('the reducer switches the layer and restores kept settings', () => {
    expect(initialPredictionState.showCandlestick).toBe(false);
    const on = predictionReducer(initialPredictionState, { type: 'candlestickSet', showCandlestick: true });
    expect(on.showCandlestick).toBe(true);
    const restored = predictionReducer(initialPredictionState, { type: 'settingsRestored', settings: { confidenceThreshold: 0.9, autoPredict: true } });
    expect([restored.confidenceThreshold, restored.autoPredict, restored.showCandlestick]).toEqual([0.9, true, false]);
  });
});
