"""Imports a function's modules as Lambda would, with a placeholder configuration: nothing at
import time reaches AWS, and each function's `handler` module has a name of its own here."""

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from roomsnap.config import settings

ROOT = Path(__file__).resolve().parents[2]
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


def load(function: str, module: str = "handler") -> ModuleType:
    configure()
    name = f"{function}_{module}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / f"{module}.py")
    assert spec is not None
    assert spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded
