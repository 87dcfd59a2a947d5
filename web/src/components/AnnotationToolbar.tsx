'use client';

import type { ChartMode } from './CandleChart';

/** Mode switch (pan / mark a span), the hint for the current mode, and the export link. */
export function AnnotationToolbar(props: {
  mode: ChartMode;
  onModeChange: (mode: ChartMode) => void;
  exportHref: string | null;
  loadingCandles: boolean;
  historyComplete: boolean;
}) {
  const { mode, onModeChange, exportHref, loadingCandles, historyComplete } = props;
  return (
    <div className="toolbar" role="toolbar" aria-label="Annotation tools">
      <div className="segmented">
        <button
          type="button"
          className={mode === 'pan' ? 'is-active' : ''}
          aria-pressed={mode === 'pan'}
          data-testid="mode-pan"
          onClick={() => onModeChange('pan')}
          title="Drag to pan, wheel to zoom, click a span to edit it"
        >
          Pan
        </button>
        <button
          type="button"
          className={mode === 'select' ? 'is-active' : ''}
          aria-pressed={mode === 'select'}
          data-testid="mode-select"
          onClick={() => onModeChange('select')}
          title="Drag across candles, or click the first and the last"
        >
          Mark span
        </button>
      </div>
      <span className="toolbar__hint" data-testid="toolbar-hint">
        {mode === 'select'
          ? 'Drag across candles, or click the first and then the last. Esc cancels.'
          : 'Drag to pan, wheel to zoom, click a span to edit it. Delete removes the selected span.'}
      </span>
      <span className="toolbar__status">
        {loadingCandles ? 'Loading candles…' : historyComplete ? 'All history loaded' : ''}
      </span>
      {exportHref ? (
        <a className="btn" href={exportHref} download data-testid="export-link">
          Export JSON
        </a>
      ) : null}
    </div>
  );
}
