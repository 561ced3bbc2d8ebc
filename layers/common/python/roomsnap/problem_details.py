"""RFC 9457 problem details: the one error shape of every HTTP answer, whichever function gives it."""

import json
from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"


def problem_body(status: int, detail: str, request_id: str, **extra: Any) -> str:
    body = {
        "type": f"https://room-snapshots.dev/problems/{status}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "request_id": request_id,
        **extra,
    }
    return json.dumps(body, default=str)
