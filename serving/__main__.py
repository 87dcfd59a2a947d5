"""``python -m serving [--host H] [--port N] [--workers N] [--config PATH]``: run the service with uvicorn.

Host, port and workers default to ``serving.host``, ``serving.port`` and ``serving.workers``
of the config (workers 0: one per core); `serving.server` sets up the processes and timeouts.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ml_platform.config import ConfigError


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="pipeline config file (default: ML_PLATFORM_CONFIG or config/pipeline.yaml)")
    parser.add_argument("--host", help="interface to bind (default: serving.host)")
    parser.add_argument("--port", type=int, help="port (default: serving.port)")
    parser.add_argument("--workers", type=int, help="worker processes, 0 = one per core (default: serving.workers)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    from serving.server import serve, uvicorn_config, worker_count
    from serving.settings import load_settings

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("ml_platform.features").setLevel(logging.WARNING)  # "dropped N warm-up rows" per request
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 0:
        print(f"error: --workers {args.workers}: use 0 (one per core) or more", file=sys.stderr)
        return 2
    host = args.host or settings.serving.host
    port = args.port or settings.serving.port
    workers = worker_count(settings.serving.workers if args.workers is None else args.workers)
    if workers > 1 and settings.serving.reload_interval_seconds == 0:
        logging.getLogger("serving").warning(
            "%d workers and serving.reload_interval_seconds 0: a new model reaches only the worker that answers "
            "POST /model/reload; set an interval so every worker polls",
            workers,
        )
    serve(uvicorn_config(settings, host=host, port=port, workers=workers, log_level=args.log_level))
    return 0


if __name__ == "__main__":
    sys.exit(main())
