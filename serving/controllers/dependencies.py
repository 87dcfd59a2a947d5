"""Dependencies the handlers receive: the settings, the current registry snapshot, the candle store."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import Provide

from serving.candle_store import CandleStore
from serving.health import HealthChecker
from serving.registry import Registry
from serving.settings import Settings


def provide_settings(state: State) -> Settings:
    return state.settings


def provide_registry(state: State) -> Registry:
    """The snapshot for this request: read once, so a reload mid-request changes nothing."""
    return state.models.current


def provide_store(state: State) -> CandleStore:
    return state.candles


def provide_health(state: State) -> HealthChecker:
    return state.health


DEPENDENCIES = {
    "settings": Provide(provide_settings, sync_to_thread=False),
    "registry": Provide(provide_registry, sync_to_thread=False),
    "store": Provide(provide_store, sync_to_thread=False),
    "health": Provide(provide_health, sync_to_thread=False),
}
