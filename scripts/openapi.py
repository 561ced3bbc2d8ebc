"""The OpenAPI description of the HTTP API, generated from its routes and pydantic models.

`python -m scripts.openapi` (make openapi) writes it to docs/openapi.json."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "openapi.json"


def generate() -> str:
    """Imports the API function as Lambda would (its code and the layer on the path, its settings in
    the environment; nothing is called at import) and asks it for its description. Run it in a
    process of its own: it sets environment variables."""
    for name in ("TABLE_NAME", "BUCKET_NAME", "RENDER_QUEUE_URL"):
        os.environ.setdefault(name, "unused")
    sys.path[:0] = [str(ROOT / "functions" / "api"), str(ROOT / "layers" / "common" / "python")]
    from api import handler

    return handler.openapi_json()


if __name__ == "__main__":
    COMMITTED.write_text(generate(), encoding="utf-8")
