'use client';

/** Pair and timeframe picker, fed by /api/partitions (or, when the service is down, by the partitions that have annotations). */
export interface PartitionOption {
  pair: string;
  timeframe: string;
  /** Stored candles, when the service said; undefined for a partition known only from annotations. */
  candles?: number;
  annotations?: number;
}

export const partitionKey = (p: { pair: string; timeframe: string }) => `${p.pair}|${p.timeframe}`;

export function PartitionSelector(props: {
  options: readonly PartitionOption[];
  value: { pair: string; timeframe: string } | null;
  onChange: (value: { pair: string; timeframe: string }) => void;
}) {
  const { options, value, onChange } = props;
  const current = value ? partitionKey(value) : '';
  const known = options.some((o) => partitionKey(o) === current);
  return (
    <label className="field field--inline">
      <span>Pair · timeframe</span>
      <select
        data-testid="partition-select"
        value={current}
        disabled={!options.length && !value}
        onChange={(e) => {
          const [pair, timeframe] = e.target.value.split('|');
          if (pair && timeframe) onChange({ pair, timeframe });
        }}
      >
        {!options.length && !value && <option value="">no partitions yet</option>}
        {value && !known && <option value={current}>{`${value.pair} · ${value.timeframe}`}</option>}
        {options.map((o) => (
          <option key={partitionKey(o)} value={partitionKey(o)}>
            {`${o.pair} · ${o.timeframe}`}
            {o.candles !== undefined ? ` (${o.candles.toLocaleString('en-US')} candles)` : ' (annotations only)'}
          </option>
        ))}
      </select>
    </label>
  );
}
