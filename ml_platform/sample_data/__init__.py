"""Deterministic synthetic OHLCV with planted chart patterns: the platform's sample data.

Why: a new user, the demo and the benchmarks need candles and annotations without
downloading anything, and the benchmarks need to know where the patterns *really* are.
So this package writes, for every configured pair x timeframe:

- ``{data.raw_path}/{PAIR}_{TF}.csv``: a random walk with slowly varying volatility
  regimes, realistic price levels, consistent OHLC and positive volume, in which chart
  patterns (``bull_flag``, ``double_top``, ``head_and_shoulders``) are planted about every
  120-200 candles, 20-45 candles long, their amplitude scaled to the local volatility
  (`generate`);
- ``{data.annotations_path}/sample_annotations.json``: the web's export format, imperfect
  the way human annotators are (`annotate`);
- ``{data.ground_truth_path}``: every planted span, exactly; only benchmarks read it (`files`).

**Shape only.** A planted pattern is its price path and nothing else: the return noise,
the wicks and the volume inside a span are drawn exactly as outside it. Real charts carry
no cue but the shape, and the earlier sample data's cues (a volatility contraction, a
per-shape wick texture, a volume profile) let models score span F1 0.87-0.93 here and
~0.00 on real prices. Each cue is now a named knob that is off by default
(`shapes.TELLTALES`; ``telltales=`` of `generate_partition` / `write_sample_data`,
``--telltales noise,wicks,volume`` on the command line, which reproduces the old files).

The same seed and options give byte-identical files (no wall-clock times are written).
Run it as ``ml-platform-sample-data`` or ``python -m ml_platform.sample_data``.
"""

from __future__ import annotations

from ml_platform.sample_data.annotator import (
    CREATED_AT_BASE,
    LOW_CONFIDENCE_RATE,
    MAX_SHIFT,
    MISS_RATE,
    NEGATIVE_MODEL_VERSION,
    NEGATIVES_PER_PARTITION,
    SHIFT_RATE,
    annotate,
)
from ml_platform.sample_data.cli import main
from ml_platform.sample_data.files import (
    ANNOTATIONS_FILE,
    EXPORTED_AT,
    candles_to_csv,
    csv_style,
    write_atomic,
    write_sample_data,
)
from ml_platform.sample_data.generate import (
    DEFAULT_CANDLES,
    DEFAULT_PROFILE,
    DEFAULT_SEED,
    MIN_CANDLES,
    PAIR_PROFILES,
    START_TIME,
    PairProfile,
    generate_partition,
    pair_profile,
)
from ml_platform.sample_data.records import GroundTruth, PartitionSummary, PlantedSpan, SampleDataSummary
from ml_platform.sample_data.shapes import (
    PATTERN_LABELS,
    PATTERN_LENGTHS,
    SHAPES,
    TELLTALES,
    parse_telltales,
)

__all__ = [
    "ANNOTATIONS_FILE",
    "CREATED_AT_BASE",
    "DEFAULT_CANDLES",
    "DEFAULT_PROFILE",
    "DEFAULT_SEED",
    "EXPORTED_AT",
    "LOW_CONFIDENCE_RATE",
    "MAX_SHIFT",
    "MIN_CANDLES",
    "MISS_RATE",
    "NEGATIVES_PER_PARTITION",
    "NEGATIVE_MODEL_VERSION",
    "PAIR_PROFILES",
    "PATTERN_LABELS",
    "PATTERN_LENGTHS",
    "SHAPES",
    "SHIFT_RATE",
    "START_TIME",
    "TELLTALES",
    "GroundTruth",
    "PairProfile",
    "PartitionSummary",
    "PlantedSpan",
    "SampleDataSummary",
    "annotate",
    "candles_to_csv",
    "csv_style",
    "generate_partition",
    "main",
    "pair_profile",
    "parse_telltales",
    "write_atomic",
    "write_sample_data",
]
