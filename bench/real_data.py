"""Real OHLCV candles that ship inside installable wheels: nothing is downloaded at run time.

The chart-shape benchmark (`bench/bench_shapes.py`) needs real prices, where a pattern is
nothing but its shape. Two wheels of the project's ``dev`` extra carry some as test or
example data; this module finds the files through the installed packages (without
importing them: ``importlib.util.find_spec(...).submodule_search_locations``, so neither
statsmodels nor bokeh is loaded) and returns canonical candle frames
(``ml_platform.candles.normalize_candles``: ``time`` epoch seconds UTC, float64 OHLCV).

| instrument | timeframe | rows | span | file | package (license) |
| --- | --- | ---: | --- | --- | --- |
| SP500 | 1d | 5,031 | 1999-01-04 .. 2018-12-31 | ``arch/data/sp500/sp500.csv.gz`` | arch 8.0.0 (NCSA) |
| NASDAQ | 1d | 5,031 | 1999-01-04 .. 2018-12-31 | ``arch/data/nasdaq/nasdaq.csv.gz`` | arch 8.0.0 (NCSA) |
| GOOG | 1d | 2,148 | 2004-08-19 .. 2013-03-01 | ``backtesting/test/GOOG.csv`` | backtesting 0.6.6 (AGPL-3.0) |
| EURUSD | 1h | 5,000 | 2017-04-19 .. 2018-02-07 | ``backtesting/test/EURUSD.csv`` | backtesting 0.6.6 (AGPL-3.0) |

Sources, as the packages describe them: ``arch`` (Kevin Sheppard's ARCH models; NCSA
open-source license) ships the S&P 500 index and the NASDAQ Composite daily OHLC, adjusted
close and volume "used in the examples", as exported from Yahoo Finance (the ``Adj Close``
column is dropped here; an index has no splits, so it equals ``Close``). ``backtesting``
(backtesting.py by Zach Lûster and contributors; AGPL-3.0, which covers the package's
code and the data files it distributes) ships GOOG (Google/Alphabet, NASDAQ) daily prices,
unadjusted, from its 2004 listing to 2013, and EUR/USD hourly candles from April 2017
to February 2018 (tick volume; weekends missing, so the times are not evenly spaced). It
also ships ``BTCUSD.csv``, which is *monthly* (156 candles, 2012-2024): too short for
chart shapes and not a platform timeframe, so it is listed (``EXCLUDED``) but not loaded.
The data are read only, in the benchmark; nothing derived from them is committed but the
figures in docs/BENCHMARKS.md.

More instruments, vendored under ``bench/data/`` from two more wheels' datasets (how each
file was cut, its source and license: ``bench/data/README.md``), for training on more
than two instruments (``bench_shapes.py --train``; the four above stay the default set,
`BUNDLED`):

| instrument | timeframe | rows | span | file | source (license) |
| --- | --- | ---: | --- | --- | --- |
| MSFT | 1d | 6,768 | 1991-01-02 .. 2017-11-10 | ``msft_daily.csv.gz`` | pmdarima 2.1.1 (MIT) |
| 16 PSE stocks (`PSE`) | 1d | ~2,800 each | 2010-01-04 .. 2021-12-15 | ``pse_daily.csv.gz`` | fastquant 0.1.8.1 (GPL-3.0) |
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ml_platform.candles import normalize_candles


@dataclass(frozen=True)
class RealDataset:
    """Where one real instrument's candles live: inside an installed package, or vendored from one."""

    instrument: str
    timeframe: str
    package: str
    relative_path: str
    description: str
    license: str
    symbol: str | None = None  # the rows of one instrument in a file that holds several
    vendored: bool = False  # the file is under ``bench/data/`` (cut from `package`'s data), not installed


@dataclass(frozen=True)
class RealSeries:
    """One real instrument's canonical candles (``time open high low close volume``)."""

    instrument: str
    timeframe: str
    candles: pd.DataFrame
    dataset: RealDataset

    @property
    def key(self) -> str:
        """``SP500|1d``: the platform's partition-key style."""
        return f"{self.instrument}|{self.timeframe}"


DATASETS: dict[str, RealDataset] = {
    "SP500": RealDataset(
        "SP500", "1d", "arch", "data/sp500/sp500.csv.gz", "S&P 500 index, daily, 1999-2018", "NCSA (arch)"
    ),
    "NASDAQ": RealDataset(
        "NASDAQ", "1d", "arch", "data/nasdaq/nasdaq.csv.gz", "NASDAQ Composite, daily, 1999-2018", "NCSA (arch)"
    ),
    "GOOG": RealDataset(
        "GOOG", "1d", "backtesting", "test/GOOG.csv", "Google stock, daily, 2004-2013", "AGPL-3.0 (backtesting)"
    ),
    "EURUSD": RealDataset(
        "EURUSD",
        "1h",
        "backtesting",
        "test/EURUSD.csv",
        "EUR/USD, hourly, 2017-2018",
        "AGPL-3.0 (backtesting)",
    ),
}
BUNDLED = tuple(DATASETS)  # the instruments the benchmark tables use unless others are named
VENDORED = Path(__file__).parent / "data"
PSE_LICENSE = "GPL-3.0 (fastquant)"
PSE = ("ALI", "TEL", "BDO", "SM", "SMPH", "AC", "MBT", "URC", "BPI", "AGI", "ICT", "MEG", "MPI", "JFC", "GLO", "JGS")
DATASETS["MSFT"] = RealDataset(
    "MSFT", "1d", "pmdarima", "msft_daily.csv.gz", "Microsoft stock, daily, 1991-2017", "MIT (pmdarima)", vendored=True
)
for _symbol in PSE:
    DATASETS[_symbol] = RealDataset(
        _symbol,
        "1d",
        "fastquant",
        "pse_daily.csv.gz",
        f"{_symbol}, Philippine Stock Exchange, daily, 2010-2021",
        PSE_LICENSE,
        symbol=_symbol,
        vendored=True,
    )
MORE_TRAIN = ("SP500", "EURUSD", "MSFT", *PSE)  # ``bench_shapes.py --train more``: NASDAQ and GOOG stay unseen
EXCLUDED: dict[str, str] = {
    "BTCUSD": "backtesting/test/BTCUSD.csv is monthly (156 candles, 2012-2024): too short, not a platform timeframe",
}


class RealDataUnavailableError(RuntimeError):
    """The package that ships a dataset is not installed (install the project's ``dev`` extra)."""


def package_dir(package: str) -> Path:
    """The installed package's folder, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RealDataUnavailableError(
            f"package {package!r} is not installed: `pip install -c constraints.txt -e '.[dev]'` brings it"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def dataset_path(dataset: RealDataset) -> Path:
    """The data file of `dataset` inside its installed package (or under ``bench/data/``)."""
    if dataset.vendored:
        path = VENDORED / dataset.relative_path
        if not path.is_file():
            raise RealDataUnavailableError(f"{path}: missing (vendored from {dataset.package}: bench/data/README.md)")
        return path
    path = package_dir(dataset.package) / dataset.relative_path
    if not path.is_file():
        raise RealDataUnavailableError(f"{path}: not in the installed {dataset.package} (another version?)")
    return path


@functools.lru_cache(maxsize=4)
def _read(path: Path) -> pd.DataFrame:
    """A data file's table, read once however many instruments it holds (callers copy it)."""
    return pd.read_csv(path)


def load_series(instrument: str) -> RealSeries:
    """One instrument's candles (see `DATASETS` for the names), canonical and validated."""
    try:
        dataset = DATASETS[instrument]
    except KeyError:
        why = EXCLUDED.get(instrument, f"choose from {', '.join(DATASETS)}")
        raise KeyError(f"no real dataset {instrument!r}: {why}") from None
    path = dataset_path(dataset)
    raw = _read(path).copy()
    first_line = 2  # the file's line of the first row (after the header)
    if dataset.symbol is not None:  # a symbol's rows are one block of the file
        rows = raw.pop("symbol") == dataset.symbol
        first_line += int(rows.to_numpy().argmax())
        raw = raw[rows].reset_index(drop=True)
    first = raw.columns[0]  # "Date" (arch) or unnamed (backtesting: the index column)
    stamps = pd.to_datetime(raw.pop(first), utc=True, format="%m/%d/%Y" if dataset.package == "arch" else "ISO8601")
    table = raw.drop(columns=[c for c in raw.columns if c.strip().lower() == "adj close"])
    table.insert(0, "time", (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1))
    candles = normalize_candles(table, source=str(path), row_offset=first_line, ohlc_inconsistency="warn")
    return RealSeries(dataset.instrument, dataset.timeframe, candles, dataset)


def load_all(instruments: Sequence[str] | None = None) -> list[RealSeries]:
    """The instruments named (default: the four wheel-shipped ones of `BUNDLED`), in that order."""
    return [load_series(name) for name in (instruments or BUNDLED)]


if __name__ == "__main__":
    for series in load_all(list(DATASETS)):
        c = series.candles
        first, last = (pd.Timestamp(int(t), unit="s", tz="UTC").date() for t in (c["time"].iloc[0], c["time"].iloc[-1]))
        print(f"{series.key}: {len(c)} candles, {first} .. {last}  ({series.dataset.license})")
