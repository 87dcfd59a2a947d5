import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LABELS, fallbackColor, labelColorFn, mergeLabels, withAlpha } from '@/lib/labels';

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
