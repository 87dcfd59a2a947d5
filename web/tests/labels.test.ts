import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSpanRectanglesOptions, SpanRectangles } from '@/components/chart/span-rectangles';
import {
  crc32,
  DEFAULT_LABELS,
  fallbackColor,
  isColor,
  labelChoices,
  labelColorFn,
  labelPalette,
  mergeLabels,
  withAlpha,
} from '@/lib/labels';
import { BAR_OPACITY, buildOverlay } from '@/lib/predictions/overlay';
import type { PredictionResult } from '@/types/predictions';

describe('labels', () => {
  it('keeps the configured labels when the service gives none', () => {
    expect(mergeLabels(DEFAULT_LABELS, undefined)).toEqual(DEFAULT_LABELS);
    expect(mergeLabels(DEFAULT_LABELS, { detail: 'down' })).toEqual(DEFAULT_LABELS);
  });

  it('adds the service labels after the configured ones, with the service colour winning', () => {
    const merged = mergeLabels(DEFAULT_LABELS, [
      { name: 'double_top', color: '#111111' },
      { name: 'cup_and_handle', color: '#ffa726' },
      { name: 'no_colour' },
      { color: '#000000' },
      { name: 'O', color: '#000000' },
    ]);
    expect(merged.map((l) => l.name)).toEqual(['bull_flag', 'double_top', 'head_and_shoulders', 'cup_and_handle', 'no_colour']);
    expect(merged[1].color).toBe('#111111');
    expect(merged[4].color).toBe(fallbackColor('no_colour'));
  });

  it('colours unknown and negative labels', () => {
    const color = labelColorFn(DEFAULT_LABELS);
    expect(color('bull_flag')).toBe('#26a69a');
    expect(color('O')).toBe('#78909c');
    expect(color('mystery')).toBe(fallbackColor('mystery'));
    expect(withAlpha('#26a69a', 0.2)).toBe('rgba(38, 166, 154, 0.2)');
  });

  // The defaults stand in for the pipeline's labels while the service is down: keep them equal.
  const config = path.resolve(__dirname, '../../config/pipeline.yaml');
  it.runIf(fs.existsSync(config))('match config/pipeline.yaml labeling.labels', () => {
    const text = fs.readFileSync(config, 'utf8');
    const block = text.slice(text.indexOf('\nlabeling:') + 1).split(/\n\S/)[0];
    const labels = block.slice(block.indexOf('labels:')).split(/\n {2}\w/)[0];
    const found = [...labels.matchAll(/name:\s*["']?([\w-]+)["']?\s*,\s*color:\s*["']?(#[0-9a-fA-F]{3,8})/g)].map((m) => ({
      name: m[1],
      color: m[2].toLowerCase(),
    }));
    expect(found).toEqual(DEFAULT_LABELS.map((l) => ({ name: l.name, color: l.color.toLowerCase() })));
  });
});

// --- One colour per label, whichever way it is drawn --------------------------------------

/** ml_platform.bundle.generated_color for these names (what the service sends for a label nobody coloured). */
const SERVICE_GENERATED: Record<string, string> = {
  mystery: '#bac639',
  CDLDOJI: '#c6397b',
  cup_and_handle: '#39c661',
  CDLENGULFING: '#393ec6',
  é_label: '#c63999',
  bull_flag: '#6839c6',
};

describe('the fallback colour', () => {
  it('is zlib.crc32', () => {
    expect(crc32('')).toBe(0);
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('é')).toBe(0x0e048d3e); // of the UTF-8 bytes, as Python's name.encode('utf-8')
  });

  it("is the pipeline's generated_color, so the service and the web agree", () => {
    for (const [name, color] of Object.entries(SERVICE_GENERATED)) expect(fallbackColor(name), name).toBe(color);
    expect(isColor(fallbackColor('anything'))).toBe(true);
  });

  const python = path.resolve(__dirname, '../../.venv/bin/python');
  it.runIf(fs.existsSync(python))('matches ml_platform.bundle.generated_color on many names', () => {
    const names = [...Object.keys(SERVICE_GENERATED), 'a', 'O', 'CDL3WHITESOLDIERS', 'x y', 'ünï', '模式', ...Array.from({ length: 200 }, (_, i) => `label_${i}`)];
    const script = 'import json,sys\nfrom ml_platform.bundle import generated_color\nprint(json.dumps([generated_color(n) for n in json.loads(sys.argv[1])]))';
    const out = execFileSync(python, ['-c', script, JSON.stringify(names)], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' });
    expect(names.map(fallbackColor)).toEqual(JSON.parse(out));
  });
});

/** The outline colour the span rectangles paint a `label` span with. */
function rectangleStroke(colorOf: (label: string) => string, label: string): string {
  const p = new SpanRectangles({ colorOf, showLabels: false });
  const timeScale = { getVisibleLogicalRange: () => ({ from: 0, to: 100 }), options: () => ({ barSpacing: 10 }), logicalToCoordinate: (i: number) => i * 10 };
  const chart = { timeScale: () => timeScale };
  const series = { priceToCoordinate: (price: number) => 1000 - price * 100 };
  p.attached({ chart, series, requestUpdate: () => {}, horzScaleBehavior: null } as never);
  p.setSpans([{ id: 'a', label, from: 10, to: 20, low: 1, high: 2 }]);
  p.updateAllViews();
  const strokes: string[] = [];
  const ctx = new Proxy({} as Record<string, unknown>, {
    get: (target, key) =>
      key === 'strokeRect' ? () => strokes.push(String(target.strokeStyle)) : key in target ? target[key as string] : () => {},
    set: (target, key, value) => ((target[key as string] = value), true),
  });
  const target = { useBitmapCoordinateSpace: (cb: (scope: unknown) => void) => cb({ context: ctx, horizontalPixelRatio: 1, verticalPixelRatio: 1 }) };
  p.paneViews()[0].renderer()!.draw(target as never);
  return strokes[0];
}

describe('an unknown label', () => {
  const name = 'mystery';
  const expected = SERVICE_GENERATED[name];
  const prediction = (label: string): PredictionResult => ({
    pair: 'EURUSD',
    timeframe: '1h',
    start: 0,
    end: 7200,
    kind: 'visible',
    model_version: 'v1',
    candles: [{ time: 3600, label, confidence: 0.9 }],
    spans: [{ id: `EURUSD|1h|3600|${label}`, pair: 'EURUSD', timeframe: '1h', label, start_time: 3600, end_time: 3600, confidence: 0.9, model_version: 'v1' }],
  });

  /** The colour a palette gives `label` on every path that draws it. */
  function colours(palette: ReturnType<typeof labelPalette>, label: string) {
    const overlay = buildOverlay({
      result: prediction(label),
      human: [],
      filter: { threshold: 0, selectedLabels: null },
      showOnlyDisagreements: false,
      colorOf: palette.colorOf,
    });
    return {
      // the annotation list, the span rectangles and the prediction panel's swatches
      colorOf: palette.colorOf(label),
      rectangles: rectangleStroke(palette.colorOf, label),
      // the prediction overlay's markers and (translucent) bars
      marker: overlay.markers[0].color,
      bar: overlay.bars[0].color,
      // the annotation dialog's label chips
      dialog: labelChoices(palette, label).find((l) => l.name === label)?.color,
      // the label list, when the service lists the label
      listed: palette.labels.find((l) => l.name === label)?.color ?? palette.colorOf(label),
    };
  }

  const all = (color: string) => ({ colorOf: color, rectangles: withAlpha(color, 0.7), marker: color, bar: withAlpha(color, BAR_OPACITY), dialog: color, listed: color });

  it('has the same colour on every path, whether the service answered or not', () => {
    // Service down: only the configured labels.
    expect(colours(labelPalette(DEFAULT_LABELS, null), name)).toEqual(all(expected));
    // Service up, answering the colour it generated for the label.
    expect(colours(labelPalette(DEFAULT_LABELS, [{ name, color: SERVICE_GENERATED[name] }]), name)).toEqual(all(expected));
    // Service up, listing the label without a usable colour.
    expect(colours(labelPalette(DEFAULT_LABELS, [{ name }]), name)).toEqual(all(expected));
    expect(colours(labelPalette(DEFAULT_LABELS, [{ name, color: 'teal' }]), name)).toEqual(all(expected));
    // Service answering something else than labels.
    expect(colours(labelPalette(DEFAULT_LABELS, { detail: 'Bad gateway' }), name)).toEqual(all(expected));
  });

  it('a known label keeps its configured colour everywhere', () => {
    expect(colours(labelPalette(DEFAULT_LABELS, null), 'double_top')).toEqual(all('#ef5350'));
  });

  it('the span rectangles colour by the configured labels until given a palette', () => {
    expect(defaultSpanRectanglesOptions.colorOf(name)).toBe(expected);
    expect(defaultSpanRectanglesOptions.colorOf('bull_flag')).toBe('#26a69a');
  });
});

describe('the dialog label choices', () => {
  const palette = labelPalette(DEFAULT_LABELS, null);
  it('offers the labels, then "not a pattern"', () => {
    expect(labelChoices(palette, 'bull_flag').map((l) => l.name)).toEqual(['bull_flag', 'double_top', 'head_and_shoulders', 'O']);
    expect(labelChoices(palette, 'O').map((l) => l.name)).toEqual(['bull_flag', 'double_top', 'head_and_shoulders', 'O']);
    expect(labelChoices(palette, 'O').at(-1)?.color).toBe('#78909c');
  });

  it('adds the current label when the list does not know it', () => {
    expect(labelChoices(palette, 'CDLDOJI').map((l) => l.name)).toEqual(['bull_flag', 'double_top', 'head_and_shoulders', 'CDLDOJI', 'O']);
  });
});
