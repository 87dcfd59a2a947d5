"""Hand-made fixtures for the labeling tests: candles on an hourly grid, annotations by candle index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml_platform.config import PipelineConfig, config_from_dict
from ml_platform.labeling import Annotation, Spans

HOUR = 3600
T0 = 1_700_000_000 - 1_700_000_000 % HOUR


class Kit:
    """Helpers shared by the labeling tests (one fixture, so no test imports a conftest)."""

    HOUR = HOUR
    T0 = T0

    @staticmethod
    def t(index: int) -> int:
        """Epoch seconds of candle `index` on the hourly grid."""
        return T0 + HOUR * index

    @staticmethod
    def candles(n: int, *, seed: int = 0, times: np.ndarray | None = None) -> pd.DataFrame:
        """A canonical candle frame: a random walk with consistent OHLC (sample-like data)."""
        rng = np.random.default_rng(seed)
        close = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
        open_ = np.concatenate(([1.1], close[:-1]))
        return pd.DataFrame(
            {
                "time": T0 + HOUR * np.arange(n, dtype=np.int64) if times is None else np.asarray(times, np.int64),
                "open": open_,
                "high": np.maximum(open_, close) * (1 + rng.uniform(0, 0.001, n)),
                "low": np.minimum(open_, close) * (1 - rng.uniform(0, 0.001, n)),
                "close": close,
                "volume": rng.uniform(100, 1000, n),
            }
        )

    @staticmethod
    def enriched(raw: pd.DataFrame, warmup: int = 0) -> pd.DataFrame:
        """A stand-in for enriched_features: raw rows after `warmup`, plus one feature column."""
        frame = raw.iloc[warmup:].reset_index(drop=True)
        return frame.assign(feature=np.arange(len(frame), dtype=np.float64) * 10.0)

    @staticmethod
    def ann(
        label: str,
        start: int,
        end: int,
        *,
        id: str | None = None,
        pair: str = "EURUSD",  # noqa: A002
        timeframe: str = "1h",
        confidence: float = 0.9,
        source: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> Annotation:
        """An annotation over candles `start`..`end` (indices on the hourly grid)."""
        return Annotation(
            id=id or f"{label}-{start}-{end}",
            pair=pair,
            timeframe=timeframe,
            label=label,
            start_time=Kit.t(start) if start_time is None else start_time,
            end_time=Kit.t(end) if end_time is None else end_time,
            confidence=confidence,
            source=source or ("human_correction" if label == "O" else "human"),
        )

    @staticmethod
    def config(**labeling: Any) -> PipelineConfig:
        """EURUSD/BTC-USDT x 1h, CDL labels off unless asked for, and the given `labeling` keys."""
        section: dict[str, Any] = {"cdl": {"enabled": False}}
        section.update(labeling)
        return config_from_dict(
            {
                "partitions": {"pairs": ["EURUSD", "BTC-USDT"], "timeframes": ["1h"]},
                "labeling": section,
            }
        )

    @staticmethod
    def spans(*items: tuple[int, int, str]) -> Spans:
        """Spans from ``(start, end, label)`` tuples; ids ``s0, s1, ...``; source from the label."""
        return Spans.build(
            [i[0] for i in items],
            [i[1] for i in items],
            [i[2] for i in items],
            ["human" for _ in items],
            [f"s{k}" for k in range(len(items))],
        )

    @staticmethod
    def export(annotations: list[Annotation] | list[dict], exported_at: str = "2026-11-26T10:00:00Z") -> str:
        """The web's export JSON for `annotations`."""
        import msgspec

        items = [a if isinstance(a, dict) else msgspec.to_builtins(a) for a in annotations]
        return json.dumps({"version": 1, "exported_at": exported_at, "annotations": items}, indent=1)

    @staticmethod
    def write_export(path: Path, annotations: list, exported_at: str = "2026-11-26T10:00:00Z") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Kit.export(annotations, exported_at), encoding="utf-8")
        return path


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
