"""Puts the layer and the functions' own packages on sys.path, as Lambda does (/opt/python and
the function's code root)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in ("layers/common/python", "functions/api", "functions/renderer", "functions/cleanup"):
    if str(ROOT / folder) not in sys.path:
        sys.path.insert(0, str(ROOT / folder))
