"""Imports a function's handler as Lambda would, with a placeholder configuration: nothing at
import time reaches AWS."""

import importlib
import os
from types import ModuleType

from roomsnap.config import settings

PLACEHOLDER_SETTINGS = {
    "TABLE_NAME": "unit-table",
    "BUCKET_NAME": "unit-bucket",
    "RENDER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/unit-queue",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/unit-dlq",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def configure() -> None:
    """Placeholder settings for modules that read them at import (no AWS call is made)."""
    for name, value in PLACEHOLDER_SETTINGS.items():
        os.environ.setdefault(name, value)
    settings.cache_clear()


def load(package: str) -> ModuleType:
    """The function package's handler module (its settings are read at import)."""
    configure()
    return importlib.import_module(f"{package}.handler")
