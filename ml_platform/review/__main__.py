"""Build review queue files without Dagster (the browser tests' set-up, or by hand).

    python -m ml_platform.review [--config PATH] [--pair EURUSD --timeframe 1h]

Builds the queue of the given partition (default: every configured one) exactly as the
``review_queue`` asset does (`ml_platform.review.build`) and writes
``{data.review_path}/{PAIR}_{TF}.json``; prints each written path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ml_platform.config import load_config
from ml_platform.partitions import Partition
from ml_platform.review.build import build_partition_queue
from ml_platform.review.store import write_queue_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml_platform.review", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=None, help="pipeline config (default: ML_PLATFORM_CONFIG)")
    parser.add_argument("--pair", default=None)
    parser.add_argument("--timeframe", default=None)
    args = parser.parse_args(argv)
    if (args.pair is None) != (args.timeframe is None):
        parser.error("give --pair and --timeframe together, or neither (every configured partition)")
    config = load_config(args.config)
    keys = [f"{args.pair}|{args.timeframe}"] if args.pair else config.partition_keys()
    for key in keys:
        partition = Partition.from_key(key)
        built, _ = build_partition_queue(config, partition)
        path = write_queue_file(built, config.data.review_file(partition))
        print(f"{key}: {len(built.queue.items)} stretches -> {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
