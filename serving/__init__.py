"""The inference service: a Litestar app over the trained model bundles (see serving/README.md)."""

from serving.app import create_app
from serving.settings import Settings, load_settings

__all__ = ["Settings", "create_app", "load_settings"]
