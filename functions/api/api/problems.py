"""Every error the API function answers, in one shape: RFC 9457 problem details with the request id
to quote to support. Includes the refusals made before anything parses a request (413, 415)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from botocore.exceptions import BotoCoreError, ClientError

from roomsnap.errors import DomainError
from roomsnap.observability import logger
from roomsnap.problem_details import problem_body

from api.openapi_docs import PROBLEM_JSON
from api.request_latency import record_latency_of

MAX_BODY_BYTES = 64 * 1024  # the largest valid request is a few kB
RETRYABLE_CODES = {"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"}


def register(app: APIGatewayHttpResolver) -> None:
    """Maps domain errors, validation errors, unknown routes and anything unexpected to problems."""

    def problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
        body = problem_body(status, detail, app.current_event.request_context.request_id, **extra)
        return Response(status, PROBLEM_JSON, body, headers)

    @app.exception_handler(DomainError)
    def domain_error(error: DomainError) -> Response:
        return problem(error.status, error.message, error.headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        record_latency_of(app, 422)  # Powertools validates before any middleware runs
        errors = [{"loc": list(e["loc"]), "msg": e.get("msg", ""), "type": e["type"]} for e in error.errors()]
        named = "; ".join(f"{field_of(e['loc'])} {e['msg']}" for e in errors)
        return problem(422, f"the request does not match the API description: {named}", errors=errors)

    @app.not_found
    def no_route(error: NotFoundError) -> Response:
        return problem(404, "no such route")

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        logger.exception("unhandled error")
        return problem(500, "an unexpected error occurred; it has been logged")

    @app.exception_handler(ClientError)
    def dependency_error(error: ClientError) -> Response:
        """An AWS dependency failed after botocore's retries (throttled, unavailable): the request
        may be retried as it is. Anything else from AWS is a bug of ours."""
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        if code in RETRYABLE_CODES or status >= 500:
            return unavailable(error)
        return unexpected(error)

    @app.exception_handler(BotoCoreError)
    def unavailable(error: Exception) -> Response:
        """No answer from an AWS dependency (connection or read timeout, after botocore's retries)."""
        logger.warning("dependency unavailable", exc_info=error)
        return problem(503, "the service is briefly unavailable; retry in a second", {"Retry-After": "1"})


def field_of(location: list) -> str:
    """Where a validation error is, as a person reads it: `comment`, `parties.0.email`, `the body`."""
    path = [str(part) for part in location[1:]]
    return ".".join(path) if path else f"the {location[0]}" if location else "the request"


def refusal_of(event: dict) -> dict | None:
    """A problem answered before anything parses the request: a body over the limit (413), or a
    body that is not JSON (415; the resolver would also try form and multipart parsers on a POST or
    PATCH, and answer a multipart type without a boundary with a 500). None when the request may go on."""
    if body_bytes(event) > MAX_BODY_BYTES:
        return _refusal(event, 413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    method = event.get("requestContext", {}).get("http", {}).get("method")
    content_type = (event.get("headers") or {}).get("content-type", "")
    if (
        method in ("POST", "PATCH")
        and content_type.strip()
        and media_type(content_type) != content_types.APPLICATION_JSON
    ):
        return _refusal(event, 415, "request bodies must be application/json")
    return None


def normalize_media_type(event: dict) -> None:
    """Media types are case-insensitive, but Powertools compares the Content-Type case-sensitively
    (it would answer "Application/JSON" with a 500): pass it on in lower case."""
    headers = event.get("headers") or {}
    if content_type := headers.get("content-type"):
        _, separator, parameters = content_type.partition(";")
        headers["content-type"] = media_type(content_type) + separator + parameters


def body_bytes(event: dict) -> int:
    """The body's size on the wire: API Gateway passes text as a string and binary as base64."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4 - body[-2:].count("=")
    return len(body.encode("utf-8", "surrogatepass"))


def media_type(content_type: str) -> str:
    """The type/subtype of a Content-Type, without its parameters (charset=...), lowercased."""
    return content_type.split(";", 1)[0].strip().lower()


def _refusal(event: dict, status: int, detail: str) -> dict:
    body = problem_body(status, detail, event.get("requestContext", {}).get("requestId", ""))
    return {"statusCode": status, "headers": {"Content-Type": PROBLEM_JSON}, "body": body, "isBase64Encoded": False}
