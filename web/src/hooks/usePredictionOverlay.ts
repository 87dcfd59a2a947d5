'use client';

/**
 * What the chart and the panel show of the prediction state: the overlay (bars, markers,
 * disagreements) derived from the shown result, the annotations and the panel's filters, in
 * the palette's colours. Null for the chart when the overlay is switched off.
 */
import { useMemo } from 'react';
import type { LabelPalette } from '@/lib/labels';
import { buildOverlay, type PredictionOverlay } from '@/lib/predictions/overlay';
import type { SpanAnnotation } from '@/types';
import type { PredictionState } from '@/types/predictions';
import type { ChartPredictionOverlay } from '@/components/CandleChart';

export function usePredictionOverlay(
  enabled: boolean,
  state: PredictionState,
  annotations: readonly SpanAnnotation[],
  palette: LabelPalette,
): { overlay: PredictionOverlay; chartOverlay: ChartPredictionOverlay | null } {
  const { result, confidenceThreshold, selectedLabels, showOnlyDisagreements, visible, showCandlestick } = state;
  const { colorOf } = palette;
  const overlay = useMemo(
    () =>
      buildOverlay({
        result,
        human: annotations,
        filter: { threshold: confidenceThreshold, selectedLabels, showCandlestick },
        showOnlyDisagreements,
        colorOf,
      }),
    [result, annotations, confidenceThreshold, selectedLabels, showOnlyDisagreements, showCandlestick, colorOf],
  );
  const chartOverlay = useMemo<ChartPredictionOverlay | null>(
    () => (enabled ? { visible, bars: overlay.bars, markers: overlay.markers, highlights: overlay.report.disagreements } : null),
    [enabled, visible, overlay],
  );
  return { overlay, chartOverlay };
}
