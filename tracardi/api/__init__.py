"""The HTTP entry point: Starlette app of the collector and the admin API."""

from tracardi.api.app import Lifespan, create_app
from tracardi.api.services import STATE_KEY, ApiOptions, ApiServices

__all__ = ["STATE_KEY", "ApiOptions", "ApiServices", "Lifespan", "create_app"]
