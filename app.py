"""Entry point for `flask --app app` and gunicorn (`gunicorn 'app:create_app()'`)."""
import os

from config import CONFIGS
from portal import create_app as build_app


def create_app(config_name: str | None = None):
    """Build the portal with the configuration named by PORTAL_CONFIG (default development)."""
    return build_app(CONFIGS[config_name or os.environ.get("PORTAL_CONFIG", "development")])
