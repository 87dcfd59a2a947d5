/**
 * Prediction results kept in the browser, so panning back to a view (or switching partitions
 * and back) does not ask the model again. Keyed by pair, timeframe, range and model version;
 * a new model version of a partition (seen through /api/model/info) drops that partition's
 * entries. Least recently used entries go first when the cache is full.
 */
import type { PredictionResult } from '@/types/predictions';

export interface CacheKeyParts {
  pair: string;
  timeframe: string;
  /** Time of the first candle of the range, inclusive. */
  start: number;
  /** Time of the last candle of the range, inclusive. */
  end: number;
  modelVersion: string;
}

export const DEFAULT_CACHE_ENTRIES = 32;

/** "EURUSD|1h|1700000000|1700036000|v3". */
export function predictionCacheKey(k: CacheKeyParts): string {
  return `${k.pair}|${k.timeframe}|${k.start}|${k.end}|${k.modelVersion}`;
}

const partitionPrefix = (pair: string, timeframe: string) => `${pair}|${timeframe}|`;

export class PredictionCache {
  private readonly entries = new Map<string, PredictionResult>();
  /** The model version last seen for each partition ("EURUSD|1h"). */
  private readonly versions = new Map<string, string>();

  constructor(readonly maxEntries: number = DEFAULT_CACHE_ENTRIES) {}

  get size(): number {
    return this.entries.size;
  }

  get(parts: CacheKeyParts): PredictionResult | undefined {
    const key = predictionCacheKey(parts);
    const hit = this.entries.get(key);
    if (hit) this.touch(key, hit);
    return hit;
  }

  /** A cached result of the same model version whose range holds [start, end], the narrowest one. */
  findCovering(parts: CacheKeyParts): PredictionResult | undefined {
    const prefix = partitionPrefix(parts.pair, parts.timeframe);
    let best: [string, PredictionResult] | undefined;
    for (const [key, value] of this.entries) {
      if (!key.startsWith(prefix) || value.model_version !== parts.modelVersion) continue;
      if (value.start > parts.start || value.end < parts.end) continue;
      if (!best || value.end - value.start < best[1].end - best[1].start) best = [key, value];
    }
    if (best) this.touch(best[0], best[1]);
    return best?.[1];
  }

  /**
   * Keep `result` under its own pair, timeframe, range and model version. Versions are learnt
   * from /api/model/info only (observeModelVersion): a late answer of an older model must not
   * undo an invalidation.
   */
  set(result: PredictionResult): void {
    const key = predictionCacheKey({ ...result, modelVersion: result.model_version });
    this.touch(key, result);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /**
   * Record the model version the service reports for a partition. A version other than the
   * one seen before drops every entry of that partition; returns true when it did.
   */
  observeModelVersion(pair: string, timeframe: string, version: string): boolean {
    const partition = `${pair}|${timeframe}`;
    const previous = this.versions.get(partition);
    this.versions.set(partition, version);
    if (previous === undefined || previous === version) return false;
    const prefix = partitionPrefix(pair, timeframe);
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.versions.clear();
  }

  private touch(key: string, value: PredictionResult): void {
    this.entries.delete(key);
    this.entries.set(key, value);
  }
}
