'use client';

/**
 * The prediction overlay's state and its talk with the model server, in one container: a
 * reducer (pure, exported for the tests) and the hook that runs the requests.
 *
 * - GET /api/model/info is polled every `pollMs` (30 s by default): it tells which model
 *   version serves the partition (a new one invalidates the cached results and re-runs the
 *   shown prediction) and whether the server is reachable at all. While it is not, the
 *   prediction controls are disabled and the poll reconnects by itself.
 * - "Run on visible" sends the candles in view, plus the warm-up and look-ahead the model needs
 *   around them, to POST /api/predict; "Predict all" asks POST /api/predict/batch for the
 *   loaded range. Results are cached by pair, timeframe, range and model version.
 * - With auto-predict on, a change of the view runs "visible" after a pause (debounced), unless
 *   the shown result already covers the view.
 *
 * Failures end up in `state.error` for the panel; nothing here ever blocks annotating.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef } from 'react';
import { ApiRequestError, apiFetch } from '@/lib/api-client';
import { PredictionCache } from '@/lib/predictions/cache';
import { modelFor, toPredictionResult } from '@/lib/predictions/model-info';
import {
  loadShownResult,
  loadViewSettings,
  saveShownResult,
  saveViewSettings,
  type ViewSettings,
} from '@/lib/predictions/view-settings';
import { covers, planRequest, type RunKind } from '@/lib/predictions/plan';
import type { IndexRange } from '@/lib/spans';
import type { Candle } from '@/types';
import { useLatest } from './useLatest';
import type {
  LoadedModelInfo,
  ModelInfoResponse,
  PredictResponse,
  PredictionResult,
  PredictionState,
} from '@/types/predictions';

export const DEFAULT_MODEL_POLL_MS = 30_000;
export const AUTO_PREDICT_DEBOUNCE_MS = 600;
/** While the model server is offline, it is asked this often (reconnect within seconds of its return). */
export const OFFLINE_POLL_MS = 2000;
// ------------------------------------------------------------------------------------------
// The reducer

export const initialPredictionState: PredictionState = {
  spans: [],
  result: null,
  isLoading: false,
  error: null,
  modelInfo: null,
  server: 'unknown',
  visible: true,
  confidenceThreshold: 0.5,
  selectedLabels: null,
  autoPredict: false,
  showOnlyDisagreements: false,
  showCandlestick: false,
};

export type PredictionAction =
  | { type: 'modelInfoLoaded'; info: ModelInfoResponse }
  | { type: 'serverOffline'; message: string }
  | { type: 'predictStarted' }
  | { type: 'predictSucceeded'; result: PredictionResult }
  | { type: 'predictFailed'; message: string; offline: boolean }
  | { type: 'predictCancelled' }
  | { type: 'resultCleared' }
  | { type: 'visibleSet'; visible: boolean }
  | { type: 'thresholdSet'; threshold: number }
  | { type: 'labelToggled'; label: string; allLabels: readonly string[] }
  | { type: 'autoPredictSet'; autoPredict: boolean }
  | { type: 'showOnlyDisagreementsSet'; showOnlyDisagreements: boolean }
  | { type: 'candlestickSet'; showCandlestick: boolean }
  /** The view settings kept in the browser (lib/predictions/view-settings.ts), after a reload. */
  | { type: 'settingsRestored'; settings: Partial<ViewSettings> };

export function predictionReducer(state: PredictionState, action: PredictionAction): PredictionState {
  switch (action.type) {
    case 'modelInfoLoaded':
      // Reachable again: an error that only said "offline" is stale.
      return { ...state, modelInfo: action.info, server: 'online', error: state.server === 'offline' ? null : state.error };
    case 'serverOffline':
      return { ...state, server: 'offline', isLoading: false, error: action.message };
    case 'predictStarted':
      return { ...state, isLoading: true, error: null };
    case 'predictSucceeded':
      return { ...state, isLoading: false, error: null, server: 'online', result: action.result, spans: action.result.spans };
    case 'predictFailed':
      return { ...state, isLoading: false, error: action.message, server: action.offline ? 'offline' : state.server };
    case 'predictCancelled':
      return { ...state, isLoading: false };
    case 'resultCleared':
      return { ...state, result: null, spans: [], isLoading: false, error: null };
    case 'visibleSet':
      return { ...state, visible: action.visible };
    case 'thresholdSet': {
      const t = Number.isFinite(action.threshold) ? Math.min(1, Math.max(0, action.threshold)) : state.confidenceThreshold;
      return { ...state, confidenceThreshold: t };
    }
    case 'labelToggled': {
      const selected = new Set(state.selectedLabels ?? action.allLabels);
      if (selected.has(action.label)) selected.delete(action.label);
      else selected.add(action.label);
      // Every label on again: back to "all", so labels of a later model show too.
      const all = action.allLabels.every((l) => selected.has(l));
      return { ...state, selectedLabels: all ? null : selected };
    }
    case 'autoPredictSet':
      return { ...state, autoPredict: action.autoPredict };
    case 'showOnlyDisagreementsSet':
      return { ...state, showOnlyDisagreements: action.showOnlyDisagreements };
    case 'candlestickSet':
      return { ...state, showCandlestick: action.showCandlestick };
    case 'settingsRestored':
      return { ...state, ...action.settings };
  }
}

// ------------------------------------------------------------------------------------------
// The hook

export interface PredictionController {
  state: PredictionState;
  /** The model serving the shown partition, from /api/model/info. */
  model: LoadedModelInfo | null;
  /** Predictions can be asked for: server reachable, a model for the partition, candles loaded. */
  canPredict: boolean;
  pollMs: number;
  runVisible: () => void;
  predictAll: () => void;
  /** The chart's view changed (indexes into the loaded candles). */
  viewChanged: (range: IndexRange | null) => void;
  checkServer: () => void;
  setVisible: (visible: boolean) => void;
  setThreshold: (threshold: number) => void;
  toggleLabel: (label: string, allLabels: readonly string[]) => void;
  setAutoPredict: (on: boolean) => void;
  setShowOnlyDisagreements: (on: boolean) => void;
  setShowCandlestick: (on: boolean) => void;
}

export interface UsePredictionsOptions {
  enabled: boolean;
  pair: string | null;
  timeframe: string | null;
  /** The loaded candles, ascending. */
  candles: readonly Candle[];
  pollMs?: number;
}

export { planRequest } from '@/lib/predictions/plan';

export function usePredictions(options: UsePredictionsOptions): PredictionController {
  const { enabled, pair, timeframe } = options;
  const pollMs = options.pollMs && options.pollMs > 0 ? options.pollMs : DEFAULT_MODEL_POLL_MS;
  const [state, dispatch] = useReducer(predictionReducer, initialPredictionState);
  const cache = useRef(new PredictionCache());
  const inFlight = useRef<AbortController | null>(null);
  const sequence = useRef(0);
  const view = useRef<IndexRange | null>(null);
  const autoTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // Latest values for callbacks that outlive a render.
  const latestRef = useLatest({ options, state });
  // checkServer, for run (which checkServer itself uses).
  const checkServerRef = useRef<() => Promise<void>>(async () => {});

  const model = useMemo(() => (pair && timeframe ? modelFor(state.modelInfo, pair, timeframe) : null), [state.modelInfo, pair, timeframe]);

  /**
   * Ask for `kind`. `auto`: skip when the shown result covers the view. `fresh`: skip the cache.
   * `info`: model info just received (the state may not show it yet), which also means the
   * server is reachable. `times`: ask for this range (seconds, inclusive) again (planRequest).
   */
  const run = useCallback(async (kind: RunKind, { auto = false, fresh = false, info = null as ModelInfoResponse | null, times = null as { start: number; end: number } | null } = {}) => {
    const { options: o, state: s } = latestRef.current;
    if (!o.enabled || !o.pair || !o.timeframe || (!info && s.server === 'offline')) return;
    const m = modelFor(info ?? s.modelInfo, o.pair, o.timeframe);
    const plan = planRequest(kind, { pair: o.pair, timeframe: o.timeframe, candles: o.candles }, view.current, m, times);
    if (!plan) return;
    const version = m?.version;
    if (!fresh) {
      if (auto && covers(s.result, plan, version)) return;
      const hit = version
        ? (cache.current.get({ ...plan, modelVersion: version }) ?? (kind === 'visible' ? cache.current.findCovering({ ...plan, modelVersion: version }) : undefined))
        : undefined;
      if (hit) {
        inFlight.current?.abort();
        dispatch({ type: 'predictSucceeded', result: hit });
        return;
      }
    }
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    const mine = ++sequence.current;
    dispatch({ type: 'predictStarted' });
    try {
      const response = await apiFetch<PredictResponse>(plan.url, { method: 'POST', body: JSON.stringify(plan.body), signal: controller.signal });
      if (mine !== sequence.current) return;
      const result = toPredictionResult(response, plan);
      cache.current.set(result);
      dispatch({ type: 'predictSucceeded', result });
      // Answered by another model than /model/info said: look again (invalidates the cache).
      if (version && result.model_version !== version) void checkServerRef.current();
    } catch (err) {
      if (controller.signal.aborted || mine !== sequence.current) {
        if (mine === sequence.current) dispatch({ type: 'predictCancelled' });
        return;
      }
      const e = err instanceof ApiRequestError ? err : new ApiRequestError(0, { detail: String(err) });
      dispatch({ type: 'predictFailed', message: e.message, offline: e.serviceUnreachable });
    } finally {
      if (inFlight.current === controller) inFlight.current = null;
    }
  }, [latestRef]);

  const checkServer = useCallback(async () => {
    const wasOffline = latestRef.current.state.server === 'offline';
    let info: ModelInfoResponse;
    try {
      info = await apiFetch<ModelInfoResponse>('/api/model/info');
    } catch (err) {
      const e = err as ApiRequestError;
      if (e.serviceUnreachable) dispatch({ type: 'serverOffline', message: e.message });
      else dispatch({ type: 'predictFailed', message: `Model info: ${e.message}`, offline: false });
      return;
    }
    dispatch({ type: 'modelInfoLoaded', info });
    const { options: o, state: s } = latestRef.current;
    if (!o.pair || !o.timeframe) return;
    const m = modelFor(info, o.pair, o.timeframe);
    const invalidated = m ? cache.current.observeModelVersion(o.pair, o.timeframe, m.version) : false;
    if (invalidated && s.result && s.result.pair === o.pair && s.result.timeframe === o.timeframe) {
      // The same range again (not what is loaded or in view by now): the shown result, refreshed.
      void run(s.result.kind, { fresh: true, info, times: { start: s.result.start, end: s.result.end } });
    } else if (wasOffline && s.autoPredict) {
      void run('visible', { auto: true, info });
    }
  }, [run, latestRef]);
  useLayoutEffect(() => {
    checkServerRef.current = checkServer;
  }, [checkServer]);

  // The view settings of this browser: restored once after mounting (not during the server
  // render, which has no storage), saved whenever they change afterwards.
  const restored = useRef(false);
  useEffect(() => {
    const settings = loadViewSettings();
    restored.current = true;
    if (Object.keys(settings).length) dispatch({ type: 'settingsRestored', settings });
  }, []);
  const { visible, confidenceThreshold, selectedLabels, autoPredict, showOnlyDisagreements, showCandlestick } = state;
  useEffect(() => {
    if (!restored.current) return;
    saveViewSettings({ visible, confidenceThreshold, selectedLabels, autoPredict, showOnlyDisagreements, showCandlestick });
  }, [visible, confidenceThreshold, selectedLabels, autoPredict, showOnlyDisagreements, showCandlestick]);

  // The shown result is kept per partition, and comes back after a reload for the same model version.
  useEffect(() => {
    if (state.result) saveShownResult(state.result);
  }, [state.result]);
  // Poll the model info while the feature is on; the same poll reconnects after an outage,
  // faster while offline (OFFLINE_POLL_MS).
  const offline = state.server === 'offline';
  useEffect(() => {
    if (!enabled) return;
    if (!offline) void checkServer();
    const timer = setInterval(() => void checkServer(), offline ? Math.min(pollMs, OFFLINE_POLL_MS) : pollMs);
    return () => clearInterval(timer);
  }, [enabled, pollMs, checkServer, offline]);

  // Another partition: forget the shown result (the cache keeps it).
  useEffect(() => {
    inFlight.current?.abort();
    sequence.current++;
    view.current = null;
    dispatch({ type: 'resultCleared' });
  }, [pair, timeframe]);

  const modelVersion = model?.version;
  useEffect(() => {
    if (!pair || !timeframe || !modelVersion) return;
    const shown = latestRef.current.state.result;
    if (shown && shown.pair === pair && shown.timeframe === timeframe) return;
    const kept = loadShownResult(pair, timeframe, modelVersion);
    if (!kept) return;
    cache.current.set(kept);
    dispatch({ type: 'predictSucceeded', result: kept });
  }, [pair, timeframe, modelVersion, latestRef]);

  useEffect(
    () => () => {
      inFlight.current?.abort();
      if (autoTimer.current) clearTimeout(autoTimer.current);
    },
    [],
  );

  const viewChanged = useCallback(
    (range: IndexRange | null) => {
      view.current = range;
      if (!latestRef.current.state.autoPredict) return;
      if (autoTimer.current) clearTimeout(autoTimer.current);
      autoTimer.current = setTimeout(() => void run('visible', { auto: true }), AUTO_PREDICT_DEBOUNCE_MS);
    },
    [run, latestRef],
  );

  const setAutoPredict = useCallback(
    (on: boolean) => {
      dispatch({ type: 'autoPredictSet', autoPredict: on });
      if (on) setTimeout(() => void run('visible', { auto: true }), 0);
    },
    [run],
  );

  const canPredict = enabled && state.server !== 'offline' && Boolean(model) && options.candles.length > 0;

  return {
    state,
    model,
    canPredict,
    pollMs,
    runVisible: useCallback(() => void run('visible'), [run]),
    predictAll: useCallback(() => void run('all'), [run]),
    viewChanged,
    checkServer: useCallback(() => void checkServer(), [checkServer]),
    setVisible: useCallback((visible: boolean) => dispatch({ type: 'visibleSet', visible }), []),
    setThreshold: useCallback((threshold: number) => dispatch({ type: 'thresholdSet', threshold }), []),
    toggleLabel: useCallback((label: string, allLabels: readonly string[]) => dispatch({ type: 'labelToggled', label, allLabels }), []),
    setAutoPredict,
    setShowOnlyDisagreements: useCallback(
      (on: boolean) => dispatch({ type: 'showOnlyDisagreementsSet', showOnlyDisagreements: on }),
      [],
    ),
    setShowCandlestick: useCallback((on: boolean) => dispatch({ type: 'candlestickSet', showCandlestick: on }), []),
  };
}
