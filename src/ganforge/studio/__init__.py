"""ganforge studio: a web page and a JSON/PNG HTTP API over trained models (`ganforge serve`).

`create_app(paths)` builds the FastAPI application; `StudioServer` runs it on a loopback port in a
background thread (tests, benchmarks); `ganforge serve` runs it in the foreground.
"""

from ganforge.studio.app import create_app
from ganforge.studio.limits import StudioError, StudioLimits
from ganforge.studio.models import GeneratorModel, ImageModel, ModelManager
from ganforge.studio.server import StudioServer

__all__ = [
    "GeneratorModel",
    "ImageModel",
    "ModelManager",
    "StudioError",
    "StudioLimits",
    "StudioServer",
    "create_app",
]
