"""The one dependency each controller's handlers receive: its service object, built from ``app.state``.

A provider reads the registry snapshot once, so a reload in the middle of a request changes
nothing for it. Each controller declares its own provider (``dependencies = {...}``).
"""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import Provide

from serving.health import HealthChecker
from serving.model_service import ModelService
from serving.service import DataService, PredictService


def provide_predict_service(state: State) -> PredictService:
    return PredictService(state.settings, state.models.current, state.candles)


def provide_data_service(state: State) -> DataService:
    return DataService(state.settings, state.models.current, state.candles)


def provide_model_service(state: State) -> ModelService:
    return ModelService(state.settings, state.models.current, state.models)


def provide_health_checker(state: State) -> HealthChecker:
    return state.health


PREDICT = {"predict_service": Provide(provide_predict_service, sync_to_thread=False)}
DATA = {"data_service": Provide(provide_data_service, sync_to_thread=False)}
MODEL = {"model_service": Provide(provide_model_service, sync_to_thread=False)}
HEALTH = {"health_checker": Provide(provide_health_checker, sync_to_thread=False)}
