"""Counts every request's latency under its route (in the legacy notation) and status class."""

import re
import time

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from roomsnap.errors import DomainError
from roomsnap.models import API_PREFIX

from api.services import latency


def start_clock(app: APIGatewayHttpResolver) -> None:
    app.append_context(started=time.perf_counter())


def record_latency_of(app: APIGatewayHttpResolver, status: int) -> None:
    if route := app.context.get("_route"):
        path = re.sub(r"<(\w+)>", r"{\1}", route.path.removeprefix(API_PREFIX))
        latency.record(f"{route.method} {path}", status, (time.perf_counter() - app.context["started"]) * 1000)


def record_latency(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Requests that pass validation; those that fail it are counted by the 422 handler, since
    Powertools validates before any middleware of ours runs."""
    status = 500
    try:
        response = next_middleware(app)
        status = response.status_code
        return response
    except DomainError as error:
        status = error.status
        raise
    finally:
        record_latency_of(app, status)


def flush_if_due(event: dict) -> None:
    latency.flush_if_due(on_create_path=event.get("requestContext", {}).get("http", {}).get("method") == "POST")
