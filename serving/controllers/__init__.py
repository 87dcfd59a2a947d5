"""Route handlers, one controller per area; each handler is one or two lines over its controller's service object.

`serving.controllers.dependencies` provides it: `PredictService`, `DataService` (`serving.service`),
`ModelService` (`serving.model_service`) or the `HealthChecker` (`serving.health`).
"""

from serving.controllers.data import DataController
from serving.controllers.health import HealthController
from serving.controllers.model import ModelController
from serving.controllers.predict import PredictController

__all__ = ["DataController", "HealthController", "ModelController", "PredictController"]
