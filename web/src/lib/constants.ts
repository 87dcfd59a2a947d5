/** Values fixed by docs/DESIGN.md, shared by the browser and the server. */

/** A pair: upper-case letters and digits, optionally joined by "-" (BTC-USDT). */
export const PAIR_PATTERN = /^[A-Z0-9]+(?:-[A-Z0-9]+)*$/;
export const TIMEFRAMES = ['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w'] as const;
export const SOURCES = ['human', 'human_correction', 'model'] as const;
/** The label of a negative annotation ("not a pattern"), saved with source human_correction. */
export const NEGATIVE_LABEL = 'O';
/** The longest note an annotation keeps (characters); a longer one is refused with 400, never cut. */
export const NOTE_MAX_CHARS = 4000;
