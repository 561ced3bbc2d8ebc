"""docs/openapi.json is the description the code generates, so reviews see every change to the API."""

import subprocess
import sys

from scripts.openapi import COMMITTED, ROOT

GENERATE = "import sys; from scripts.openapi import generate; sys.stdout.write(generate())"


def test_the_committed_openapi_description_is_the_one_the_code_generates():
    # Given the description generated from the handler's routes and models (in a process of its own)
    generated = subprocess.run(
        [sys.executable, "-c", GENERATE], cwd=ROOT, capture_output=True, text=True, encoding="utf-8", check=True
    ).stdout
    # Then the committed file is identical
    assert COMMITTED.read_text(encoding="utf-8") == generated, (
        f"{COMMITTED.relative_to(ROOT)} differs from what the code generates: run `make openapi` and commit the result"
    )
