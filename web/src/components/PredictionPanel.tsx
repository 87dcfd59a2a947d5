'use client';

/**
 * The model's view, for the annotators: a master toggle, the serving model (name, version,
 * when it was trained, per-class F1), "Run on visible" and "Predict all", the confidence
 * threshold, one checkbox per label (colour and F1), "Show only disagreements", auto-predict,
 * the summary counts, and the disagreements to review one by one. Every control reads and
 * writes the one prediction state (hooks/usePredictions.ts); errors show here and never block
 * annotating.
 */
import { useId } from 'react';
import type { PredictionController } from '@/hooks/usePredictions';
import { isCandlestickLabel, type LabelPalette } from '@/lib/labels';
import { classF1, formatTrainedAt, labelF1, spanMetrics } from '@/lib/predictions/model-info';
import { percent } from '@/lib/predictions/overlay';
import { formatUtc } from '@/lib/spans';
import type { Disagreement, DisagreementReport } from '@/types/predictions';
import { DisagreementList } from './DisagreementList';


const f1Text = (f1: number | null) => (f1 === null ? '' : `tag F1 ${f1.toFixed(2)}`);

export function PredictionPanel(props: {
  controller: PredictionController;
  /** The labels to filter by and their colours. */
  palette: LabelPalette;
  report: DisagreementReport;
  /** The disagreements by time, and the current one of the review (DisagreementList). */
  reviewList: readonly Disagreement[];
  currentId: string | null;
  viewStart?: number | null;
  onStep: (by: 1 | -1) => void;
  /** Candlestick-pattern spans over the threshold in the shown result. */
  candlestickSpans: number;
  onJump: (d: Disagreement) => void;
  onReview: (d: Disagreement) => void;
  onNotAPattern: (d: Disagreement) => void;
}) {
  const { controller: c, palette, report } = props;
  const { labels, colorOf } = palette;
  const { state, model } = c;
  const thresholdId = useId();
  const offline = state.server === 'offline';
  const disabled = !c.canPredict || state.isLoading;
  const labelNames = labels.map((l) => l.name);
  const chartLabels = labels.filter((l) => !isCandlestickLabel(l.name));
  const candlestickLabels = labels.filter((l) => isCandlestickLabel(l.name));
  const isChecked = (name: string) => state.selectedLabels === null || state.selectedLabels.has(name);
  const toggle = (name: string) => c.toggleLabel(name, labelNames);
  const s = report.summary;

  return (
    <section className="predictions predictions--main" aria-label="Model predictions" data-testid="prediction-panel" data-server={state.server}>
      <header className="predictions__head">
        <h2>Model predictions</h2>
        <label className="toggle" title="Show or hide everything the model drew">
          <input
            type="checkbox"
            checked={state.visible}
            data-testid="predictions-visible"
            onChange={(e) => c.setVisible(e.target.checked)}
          />
          Show
        </label>
      </header>

      {offline ? (
        <p className="predictions__status predictions__status--offline" data-testid="panel-offline">
          Model server offline: controls are paused until it answers again.
        </p>
      ) : model ? (
        <details className="model-info" data-testid="model-info">
          <summary>
            <b data-testid="model-name">{model.name}</b> <span data-testid="model-version">{model.version}</span>
            <span className="model-info__trained" data-testid="model-trained" title={model.trained_at}>
              trained {formatTrainedAt(model.trained_at)}
            </span>
          </summary>
          {spanMetrics(model) && (
            <p className="model-info__span" data-testid="span-f1">
              Span-level F1 {spanMetrics(model)!.f1.toFixed(2)} (whole predicted spans matched to true ones, test split
              {spanMetrics(model)!.spans !== null ? `, ${spanMetrics(model)!.spans} spans` : ''})
            </p>
          )}
          <p className="model-info__note">Per-tag F1 below: each candle&apos;s B-/I- tag on its own. The F1 beside a label is its B- and I- tags&apos; F1, weighted by support.</p>
          <table className="model-info__f1">
            <thead>
              <tr>
                <th>class</th>
                <th>per-tag F1</th>
                <th>support</th>
              </tr>
            </thead>
            <tbody>
              {classF1(model).map((row) => (
                <tr key={row.cls}>
                  <td>{row.cls}</td>
                  <td>{row.f1.toFixed(2)}</td>
                  <td>{row.support ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : (
        <p className="predictions__status" data-testid="no-model">
          {state.server === 'unknown'
            ? state.error
              ? 'Cannot read the model info (see below).'
              : 'Asking the model server…'
            : 'No model serves this pair and timeframe (materialize trained_model).'}
        </p>
      )}

      <div className="predictions__actions">
        <button type="button" className="btn" data-testid="predict-visible" disabled={disabled} onClick={c.runVisible}>
          Run on visible
        </button>
        <button
          type="button"
          className="btn"
          data-testid="predict-all"
          disabled={disabled}
          onClick={c.predictAll}
          title="Predict every loaded candle (POST /predict/batch)"
        >
          Predict all
        </button>
        {state.isLoading && <span className="predictions__busy">Predicting…</span>}
      </div>

      {state.error && !offline && (
        <p className="predictions__error" role="alert" data-testid="prediction-error">
          {state.error}
        </p>
      )}

      <label className="field" htmlFor={thresholdId}>
        <span>
          Confidence at least <output data-testid="threshold-value">{percent(state.confidenceThreshold)}</output>
        </span>
        <input
          id={thresholdId}
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={state.confidenceThreshold}
          disabled={offline}
          data-testid="confidence-threshold"
          onChange={(e) => c.setThreshold(Number(e.target.value))}
        />
      </label>

      <fieldset className="predictions__labels" disabled={offline} data-testid="chart-pattern-labels">
        <legend>Chart patterns</legend>
        {chartLabels.map((l) => (
          <LabelToggle key={l.name} name={l.name} color={colorOf(l.name)} f1={labelF1(model, l.name)} checked={isChecked(l.name)} onToggle={toggle} />
        ))}
      </fieldset>

      <fieldset className="predictions__labels predictions__labels--candlestick" disabled={offline}>
        <legend>
          <label className="toggle" title="TA-Lib candlestick patterns: one or two candles each, never compared with your spans">
            <input
              type="checkbox"
              checked={state.showCandlestick}
              data-testid="candlestick-layer"
              onChange={(e) => c.setShowCandlestick(e.target.checked)}
            />
            Candlestick patterns <span className="toggle__f1" data-testid="candlestick-count">{state.result ? props.candlestickSpans : ''}</span>
          </label>
        </legend>
        {candlestickLabels.length > 0 && (
          <details className="predictions__layer-labels" data-testid="candlestick-labels">
            <summary>{candlestickLabels.length} labels</summary>
            {candlestickLabels.map((l) => (
              <LabelToggle key={l.name} name={l.name} color={colorOf(l.name)} f1={labelF1(model, l.name)} checked={isChecked(l.name)} onToggle={toggle} />
            ))}
          </details>
        )}
      </fieldset>

      <div className="predictions__options">
        <label className="toggle">
          <input
            type="checkbox"
            checked={state.showOnlyDisagreements}
            disabled={offline}
            data-testid="show-only-disagreements"
            onChange={(e) => c.setShowOnlyDisagreements(e.target.checked)}
          />
          Show only disagreements
        </label>
        <label className="toggle" title="Predict the candles in view whenever the view changes">
          <input
            type="checkbox"
            checked={state.autoPredict}
            disabled={offline}
            data-testid="auto-predict"
            onChange={(e) => c.setAutoPredict(e.target.checked)}
          />
          Auto-predict the view
        </label>
      </div>

      <dl className="summary" data-testid="prediction-summary">
        <Count name="predictions" label="Predicted spans" value={state.result ? s.predictions : null} />
        <Count name="agreements" label="Agreements" value={state.result ? s.agreements : null} />
        <Count name="missed_by_model" label="Missed by the model" value={state.result ? s.missed_by_model : null} kind />
        <Count name="missed_by_human" label="Not annotated" value={state.result ? s.missed_by_human : null} kind />
        <Count name="label_mismatch" label="Label mismatch" value={state.result ? s.label_mismatch : null} kind />
        <Count name="dismissed" label="Not a pattern" value={state.result ? s.dismissed : null} />
      </dl>
      {state.result && (
        <p className="predictions__range" data-testid="prediction-range">
          {state.result.kind === 'all' ? 'All loaded candles' : 'Visible candles'}: {formatUtc(state.result.start)} → {formatUtc(state.result.end)}
        </p>
      )}

      <DisagreementList
        list={props.reviewList}
        currentId={props.currentId}
        viewStart={props.viewStart}
        onStep={props.onStep}
        onJump={props.onJump}
        onReview={props.onReview}
        onNotAPattern={props.onNotAPattern}
      />
    </section>
  );
}

function LabelToggle(props: { name: string; color: string; f1: number | null; checked: boolean; onToggle: (name: string) => void }) {
  return (
    <label className="toggle" data-testid={`label-toggle-${props.name}`} title="Per-tag F1 (not span-level): the label's B- and I- candle tags, weighted by their support">
      <input type="checkbox" checked={props.checked} onChange={() => props.onToggle(props.name)} />
      <span className="swatch" style={{ background: props.color }} />
      <span className="toggle__name">{props.name}</span>
      <span className="toggle__f1">{f1Text(props.f1)}</span>
    </label>
  );
}

function Count(props: { name: string; label: string; value: number | null; kind?: boolean }) {
  return (
    <div className={`summary__row ${props.kind ? `summary__row--${props.name}` : ''}`}>
      <dt>{props.label}</dt>
      <dd data-testid={`summary-${props.name}`}>{props.value ?? '–'}</dd>
    </div>
  );
}
