"""Every error the API function answers, in one shape: RFC 9457 problem details with the request id
to quote to support. Includes the refusals made before anything parses a request (413, 415)."""

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from roomsnap.errors import DomainError
from roomsnap.observability import logger

from openapi_docs import PROBLEM_JSON
from request_latency import record_latency_of

MAX_BODY_BYTES = 64 * 1024  # the largest valid request is a few kB


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


def register(app: APIGatewayHttpResolver) -> None:
    """Maps domain errors, validation errors, unknown routes and anything unexpected to problems."""

    def problem(status: int, detail: str, **extra: Any) -> Response:
        body = problem_body(status, detail, app.current_event.request_context.request_id, **extra)
        return Response(status, PROBLEM_JSON, body)

    @app.exception_handler(DomainError)
    def domain_error(error: DomainError) -> Response:
        return problem(error.status, error.message)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        record_latency_of(app, 422)  # Powertools validates before any middleware runs
        errors = [{"loc": list(e["loc"]), "msg": e.get("msg", ""), "type": e["type"]} for e in error.errors()]
        return problem(422, "the request does not match the API description", errors=errors)

    @app.not_found
    def no_route(error: NotFoundError) -> Response:
        return problem(404, "no such route")

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        return problem(500, "an unexpected error occurred; it has been logged")


def refusal_of(event: dict) -> dict | None:
    """A problem answered before anything parses the request: a body over the limit (413), or a
    body that is not JSON (415; the resolver would also try form and multipart parsers on a POST or
    PATCH, and answer a multipart type without a boundary with a 500). None when the request may go on."""
    if len(event.get("body") or "") > MAX_BODY_BYTES:
        return _refusal(event, 413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    method = event.get("requestContext", {}).get("http", {}).get("method")
    content_type = (event.get("headers") or {}).get("content-type", "").strip()
    if method in ("POST", "PATCH") and content_type and not content_type.startswith(content_types.APPLICATION_JSON):
        return _refusal(event, 415, "request bodies must be application/json")
    return None


def _refusal(event: dict, status: int, detail: str) -> dict:
    body = problem_body(status, detail, event.get("requestContext", {}).get("requestId", ""))
    return {"statusCode": status, "headers": {"Content-Type": PROBLEM_JSON}, "body": body, "isBase64Encoded": False}
