"""Route handlers, one controller per area; each handler is one or two lines over `serving.service`."""

from serving.controllers.data import DataController
from serving.controllers.health import HealthController
from serving.controllers.model import ModelController
from serving.controllers.predict import PredictController

__all__ = ["DataController", "HealthController", "ModelController", "PredictController"]
