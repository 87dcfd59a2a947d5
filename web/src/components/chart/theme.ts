/**
 * The chart's look in one place: the dark TradingView-like theme, the candle and volume
 * colours, and where each series sits on its price scale.
 */
import {
  ColorType,
  CrosshairMode,
  type CandlestickSeriesPartialOptions,
  type DeepPartial,
  type HistogramSeriesPartialOptions,
  type TimeChartOptions,
} from 'lightweight-charts';
import { CANDLE_DOWN, CANDLE_UP, withAlpha } from '@/lib/labels';

/** Greys (lib/labels.ts), so no label colour looks like a candle. */
export const UP = CANDLE_UP;
export const DOWN = CANDLE_DOWN;
const UP_VOLUME = withAlpha(CANDLE_UP, 0.3);
const DOWN_VOLUME = withAlpha(CANDLE_DOWN, 0.5);

export const chartOptions: DeepPartial<TimeChartOptions> = {
  autoSize: true,
  layout: {
    background: { type: ColorType.Solid, color: '#131722' },
    textColor: '#b2b5be',
    fontFamily: 'system-ui, sans-serif',
    attributionLogo: true,
  },
  grid: { vertLines: { color: '#1e222d' }, horzLines: { color: '#1e222d' } },
  crosshair: { mode: CrosshairMode.Normal },
  rightPriceScale: { borderColor: '#2a2e39' },
  // fixRightEdge: zooming out with the wheel keeps the newest candle at the right edge instead
  // of leaving the right part of the chart empty.
  timeScale: { borderColor: '#2a2e39', timeVisible: true, secondsVisible: false, rightOffset: 5, fixRightEdge: true },
};

export const candleSeriesOptions: CandlestickSeriesPartialOptions = {
  upColor: UP,
  downColor: DOWN,
  wickUpColor: UP,
  wickDownColor: DOWN,
  borderVisible: false,
};
/** The candles leave room below for the volume. */
export const CANDLE_SCALE_MARGINS = { top: 0.06, bottom: 0.2 };

export const VOLUME_SCALE_ID = 'volume';
export const volumeSeriesOptions: HistogramSeriesPartialOptions = {
  priceScaleId: VOLUME_SCALE_ID,
  priceFormat: { type: 'volume' },
  lastValueVisible: false,
  priceLineVisible: false,
};
/** The volume in the bottom 18% of the pane. */
export const VOLUME_SCALE_MARGINS = { top: 0.82, bottom: 0 };

/** A volume bar's colour: the candle's direction, translucent. */
export function volumeColor(candle: { open: number; close: number }): string {
  return candle.close >= candle.open ? UP_VOLUME : DOWN_VOLUME;
}
