import { describe, expect, it } from 'vitest';
import type { SeriesMarker, Time } from 'lightweight-charts';
import { MarkerWindow, textWidth, thinTexts, TEXT_GAP_PX, type IndexedMarker } from '@/components/chart/marker-window';

const marker = (index: number): IndexedMarker => ({
  index,
  marker: { time: (1_700_000_000 + index * 3600) as Time, position: 'belowBar', shape: 'arrowUp', color: '#26a69a', text: `m${index}` },
});

function target() {
  const calls: SeriesMarker<Time>[][] = [];
  return { calls, setMarkers: (m: SeriesMarker<Time>[]) => void calls.push(m) };
}

describe('MarkerWindow', () => {
  it('gives the plugin the markers of the view and one view-width around it', () => {
    const t = target();
    const w = new MarkerWindow(t);
    w.setMarkers([...Array.from({ length: 1000 }, (_, i) => marker(i * 50))].reverse(), { from: 10_000, to: 10_200 });
    const set = t.calls.at(-1)!;
    const indexes = set.map((m) => Number(m.text!.slice(1)));
    expect(Math.min(...indexes)).toBeGreaterThanOrEqual(9_800);
    expect(Math.max(...indexes)).toBeLessThanOrEqual(10_400);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b)); // sorted by time
    expect(set).toHaveLength(13);
  });

  it('re-windows only when the view leaves the window', () => {
    const t = target();
    const w = new MarkerWindow(t);
    w.setMarkers(Array.from({ length: 1000 }, (_, i) => marker(i * 50)), { from: 10_000, to: 10_200 });
    expect(w.update({ from: 10_100, to: 10_300 })).toBe(false); // still inside 9,800..10,400
    expect(w.update({ from: 10_300, to: 10_500 })).toBe(true);
    expect(t.calls).toHaveLength(2);
    expect(w.update(null)).toBe(false);
  });

  it('drops the text when the view is crowded, all markers when very crowded, and brings them back when zoomed in', () => {
    const t = target();
    const w = new MarkerWindow(t, 10, 60);
    w.setMarkers(Array.from({ length: 200 }, (_, i) => marker(i * 2)), { from: 0, to: 100 }); // 51 in view
    expect(w.detail).toBe('arrows');
    expect(t.calls.at(-1)!.length).toBeGreaterThan(0);
    expect(t.calls.at(-1)!.every((m) => m.text === undefined)).toBe(true);
    w.update({ from: 0, to: 300 }); // 151 in view
    expect(w.detail).toBe('none');
    expect(t.calls.at(-1)).toEqual([]);
    w.update({ from: 40, to: 50 }, 1000); // 6 in view, 100 px per candle: inside the window, but the text comes back
    expect(w.detail).toBe('text');
    expect(t.calls.at(-1)!.every((m) => m.text?.startsWith('m'))).toBe(true);
  });

  it('without a view it shows nothing until the view is known', () => {
    const t = target();
    const w = new MarkerWindow(t);
    w.setMarkers([marker(1)], null);
    expect(t.calls).toEqual([[]]);
    w.update({ from: 0, to: 10 });
    expect(t.calls.at(-1)).toHaveLength(1);
  });
});

describe('marker texts never overlap', () => {
  /** Centre and width in pixels of every marker given a text. */
  function texts(markers: SeriesMarker<Time>[], all: IndexedMarker[], pxPerBar: number) {
    const index = new Map(all.map((m) => [m.marker.time, m.index]));
    return markers.filter((m) => m.text).map((m) => ({ x: index.get(m.time)! * pxPerBar, w: textWidth(m.text!) }));
  }
  const overlaps = (list: { x: number; w: number }[]) =>
    list.some((a, i) => i > 0 && a.x - list[i - 1].x < (a.w + list[i - 1].w) / 2 + TEXT_GAP_PX);

  it('thins the texts of neighbouring markers to what fits, keeping every arrow', () => {
    // 30 one-candle patterns on consecutive candles, 8 px per candle: texts of ~15 characters.
    const all = Array.from({ length: 30 }, (_, i) => ({ ...marker(100 + i), marker: { ...marker(100 + i).marker, text: `bullish_doji (9${i % 10}%)` } }));
    const t = target();
    const w = new MarkerWindow(t);
    w.setMarkers(all, { from: 95, to: 135 }, 320);
    const given = t.calls.at(-1)!;
    expect(given).toHaveLength(30); // every arrow stays
    const shown = texts(given, all, 8);
    expect(shown.length).toBeGreaterThan(1);
    expect(shown.length).toBeLessThan(30);
    expect(overlaps(shown)).toBe(false);
    expect(w.textCount).toBe(shown.length);
  });

  it('zooming in brings more texts back, zooming out thins them again', () => {
    const all = Array.from({ length: 20 }, (_, i) => marker(i * 3));
    const t = target();
    const w = new MarkerWindow(t);
    w.setMarkers(all, { from: 0, to: 60 }, 120); // 2 px per candle
    const few = w.textCount;
    expect(w.update({ from: 0, to: 60 }, 1200)).toBe(true); // 20 px per candle: re-thinned
    expect(w.textCount).toBeGreaterThan(few);
    expect(overlaps(texts(t.calls.at(-1)!, all, 20))).toBe(false);
  });

  it('markers on the same candle keep one text', () => {
    const keep = thinTexts([marker(5), marker(5), marker(6)], 100);
    expect(keep).toEqual([true, false, true]);
  });
});
