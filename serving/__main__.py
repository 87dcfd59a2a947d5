"""``python -m serving [--host H] [--port N] [--config PATH]``: run the service with uvicorn.

Host and port default to ``serving.host`` and ``serving.port`` of the config.
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
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    import uvicorn

    from serving.app import create_app
    from serving.settings import load_settings

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("ml_platform.features").setLevel(logging.WARNING)  # "dropped N warm-up rows" per request
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.serving.host
    port = args.port or settings.serving.port
    uvicorn.run(create_app(settings), host=host, port=port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
