'use client';

/** The OHLCV readout over the chart: the candle under the crosshair, else the newest one. */
import { formatUtc, pricePrecision } from '@/lib/spans';
import type { Candle } from '@/types';

export function OhlcvReadout({ candle }: { candle: Candle | null }) {
  if (!candle) return null;
  const precision = pricePrecision(candle.close);
  return (
    <div className="readout" data-testid="ohlcv-readout">
      <span className="readout__time">{formatUtc(candle.time)}</span>
      <span>O <b>{candle.open.toFixed(precision)}</b></span>
      <span>H <b>{candle.high.toFixed(precision)}</b></span>
      <span>L <b>{candle.low.toFixed(precision)}</b></span>
      <span className={candle.close >= candle.open ? 'up' : 'down'}>
        C <b>{candle.close.toFixed(precision)}</b>
      </span>
      <span>V <b>{formatVolume(candle.volume)}</b></span>
    </div>
  );
}

/** 1234567 -> "1.23M". */
export function formatVolume(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}B`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(2)}K`;
  return v.toFixed(v % 1 ? 2 : 0);
}
