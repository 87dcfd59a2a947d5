"""The ``ml-platform-sample-data`` command (also ``python -m ml_platform.sample_data``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ml_platform.config import load_config
from ml_platform.sample_data.files import write_sample_data
from ml_platform.sample_data.generate import DEFAULT_CANDLES, DEFAULT_SEED, MIN_CANDLES
from ml_platform.sample_data.manifest import SampleDataOverwriteError
from ml_platform.sample_data.shapes import TELLTALES, parse_telltales


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ml-platform-sample-data",
        description="Write deterministic synthetic OHLCV with planted chart patterns, "
        "their (imperfect) annotations and the exact ground truth, where the config says.",
    )
    parser.add_argument("--config", help="pipeline YAML (default: $ML_PLATFORM_CONFIG or config/pipeline.yaml)")
    parser.add_argument(
        "--candles", type=int, default=DEFAULT_CANDLES, help=f"candles per partition (default {DEFAULT_CANDLES})"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--telltales",
        default="",
        help=f"comma-separated cues that mark a pattern besides its shape, from {','.join(TELLTALES)} "
        "(default: none, the patterns are shape only, as on a real chart)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace raw files the generator did not write (default: refuse, naming them)",
    )
    args = parser.parse_args(argv)
    if args.candles < MIN_CANDLES:
        parser.error(f"--candles {args.candles} is too small: use at least {MIN_CANDLES} so patterns fit")
    try:
        args.telltales = parse_telltales(args.telltales)
    except ValueError as exc:
        parser.error(f"--telltales: {exc}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit code."""
    args = _parse_args(argv)
    config = load_config(args.config)
    try:
        summary = write_sample_data(
            config, n_candles=args.candles, seed=args.seed, progress=True, telltales=args.telltales, force=args.force
        )
    except SampleDataOverwriteError as exc:
        print(f"ml-platform-sample-data: {exc}", file=sys.stderr)
        return 2
    for partition in summary.partitions:
        print(partition.line())
    print(f"annotations -> {summary.annotations_path}")
    print(f"ground truth -> {summary.ground_truth_path}")
    return 0
