"""Helpers that describe operations in the OpenAPI description: responses, links and headers."""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from roomsnap.problem_details import PROBLEM_JSON

from api.logic.views import GatewayError, Problem

PUBLIC: dict[str, Any] = {"security": []}  # outside the JWT authorizer (Auth: Authorizer: NONE in template.yaml)
WRITE_ERRORS = (413, 415)  # of POST and PATCH operations: refused before parsing (see problems.refusal_of)
NO_CONTENT: dict = {}  # declared so that no body (and no media type) is expected


def problems(*statuses: int) -> dict[int, OpenAPIResponse]:
    return {
        status: {"description": HTTPStatus(status).phrase, "content": {PROBLEM_JSON: {"model": Problem}}}
        for status in statuses
    }


def errors(*statuses: int) -> dict[int, OpenAPIResponse]:
    """An authenticated operation's error responses: these, and what every one of them can return."""
    unauthorized: OpenAPIResponse = {
        "description": "Missing or invalid bearer token (answered by API Gateway)",
        "content": {content_types.APPLICATION_JSON: {"model": GatewayError}, PROBLEM_JSON: {"model": Problem}},
    }
    # 403 also for a token without a verified email; 503 when a dependency is briefly unavailable
    return {401: unauthorized, **problems(*sorted({*statuses, 403, 422, 500, 503}))}


def returns(model: Any, description: str, **extra: Any) -> OpenAPIResponse:
    response: OpenAPIResponse = {
        "description": description,
        "content": {content_types.APPLICATION_JSON: {"model": model}},
    }
    response.update(extra)  # type: ignore[typeddict-item]
    return response


def links(operation_ids: list[str], **parameters: str) -> dict:
    """OpenAPI links: where a response's values can be used next (clients and stateful fuzzing follow them)."""
    return {operation_id: {"operationId": operation_id, "parameters": parameters} for operation_id in operation_ids}


def header(description: str, required: bool = False) -> Any:
    """A response header (Powertools' type lacks OpenAPI's `required`)."""
    return {"description": description, "required": required, "schema": {"type": "string"}}


NEXT_PAGE = {"X-Next-Cursor": header("Cursor of the next page; absent on the last page")}
TASK_HEADERS = {
    "ETag": header("Revalidate with If-None-Match", required=True),
    "Cache-Control": header("no-cache", required=True),
    "Retry-After": header("Seconds before polling again is worthwhile; absent once the task is terminal"),
}
