import { describe, expect, it } from 'vitest';
import type { SeriesMarker, Time } from 'lightweight-charts';
import { MarkerWindow, type IndexedMarker } from '@/components/chart/marker-window';

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
    w.update({ from: 40, to: 50 }); // 6 in view: inside the window, but the text comes back
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
