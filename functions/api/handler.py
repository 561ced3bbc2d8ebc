"""HTTP API handler: routes → one domain call each. API Gateway has verified the JWT already; the
claims arrive in the event."""

import hashlib
import json
import re
import time
from functools import cache
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths

from api_logic.caller import Caller, caller_from_claims
from api_logic.latency import LatencyRecorder
from api_logic.metrics import MetricsService
from api_logic.rooms import RoomService
from api_logic.snapshots import SnapshotService
from api_logic.views import (
    BulkStatusView,
    DocumentStatusView,
    GatewayError,
    HealthView,
    MetricsSummary,
    Problem,
    SnapshotView,
    TaskView,
    snapshot_view,
    task_view,
)
from roomsnap.config import settings
from roomsnap.dal import RoomRepository, SnapshotRepository
from roomsnap.dal.stats import StatsRepository
from roomsnap.errors import DomainError, Forbidden
from roomsnap.health import check_dependencies
from roomsnap.models import (
    ID_PATTERN,
    Activity,
    Approval,
    ApprovalIn,
    BulkStatusIn,
    Document,
    DocumentIn,
    DocumentPatch,
    Party,
    PartyIn,
    Room,
    RoomDetail,
    RoomIn,
    SnapshotIn,
    Vessel,
    VesselIn,
)
from roomsnap.observability import logger, traced
from roomsnap.queue import RenderQueue
from roomsnap.storage import PdfStore

SETTINGS = settings()
rooms = RoomService(RoomRepository(SETTINGS.table_name))
snapshots = SnapshotService(
    rooms,
    SnapshotRepository(SETTINGS.table_name, SETTINGS.snapshot_retention_days),
    PdfStore(SETTINGS.bucket_name),
    RenderQueue(SETTINGS.render_queue_url, copies=2 if SETTINGS.fault_duplicate_sends else 1),
)
metrics_service = MetricsService(
    StatsRepository(SETTINGS.table_name), SETTINGS.render_queue_url, SETTINGS.dead_letter_queue_url
)
latency = LatencyRecorder(StatsRepository(SETTINGS.table_name), SETTINGS.api_stats_flush_seconds)
app = APIGatewayHttpResolver(enable_validation=True)

RoomId = Annotated[str, Path(pattern=ID_PATTERN)]
ItemId = Annotated[str, Path(pattern=ID_PATTERN)]
TaskId = Annotated[str, Path(pattern=r"^snapshot-[0-9a-hjkmnp-tv-z]{26}$")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048, description="The X-Next-Cursor of the previous page")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=1024)]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
]
Redirect = Annotated[bool, Query(description="Answer with a redirect to a presigned S3 URL instead of the bytes")]
API = "/api/v1"
MAX_BODY_BYTES = 64 * 1024  # the largest valid request is a few kB
PROBLEM_JSON = "application/problem+json"

# ------------------------------------------------------------------ OpenAPI description

app.configure_openapi(
    title="Room Snapshots",
    version="1.0.0",
    description="Turns the state of a ship-to-ship operation room into a PDF snapshot, rendered in the background.",
    security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT")},
    security=[{"bearerAuth": []}],
)
app.enable_swagger(path=f"{API}/docs", compress=True)  # serves its own swagger-ui assets: works offline
PUBLIC = {"security": []}  # operations outside the JWT authorizer (Auth: Authorizer: NONE in template.yaml)
WRITE_ERRORS = (413, 415)  # of POST and PATCH operations: refused before parsing (see lambda_handler)
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
        "content": {content_types.APPLICATION_JSON: {"model": GatewayError}},
    }
    return {401: unauthorized, **problems(*sorted({*statuses, 403, 422, 500}))}


def returns(model, description: str, **extra) -> OpenAPIResponse:
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}, **extra}


def links(operation_ids: list[str], **parameters: str) -> dict:
    """OpenAPI links: where a response's values can be used next (clients and stateful fuzzing follow them)."""
    return {operation_id: {"operationId": operation_id, "parameters": parameters} for operation_id in operation_ids}


def header(description: str, required: bool = False) -> dict:
    return {"description": description, "required": required, "schema": {"type": "string"}}


NEXT_PAGE = {"X-Next-Cursor": header("Cursor of the next page; absent on the last page")}
TASK_HEADERS = {
    "ETag": header("Revalidate with If-None-Match", required=True),
    "Cache-Control": header("no-cache", required=True),
    "Retry-After": header("Seconds before polling again is worthwhile; absent once the task is terminal"),
}


@cache
def openapi_json() -> str:
    """The OpenAPI description of this API, generated from the routes and models (sorted, stable)."""
    return json.dumps(json.loads(app.get_openapi_json_schema()), indent=2, sort_keys=True) + "\n"


def json_response(status: int, body, headers: dict | None = None) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body, default=str), headers or {})


def caller() -> Caller:
    return caller_from_claims(app.current_event.request_context.authorizer.jwt_claim or {}, SETTINGS.admin_group)


def page(items: list, cursor: str | None) -> Response:
    """A JSON array (the legacy shape); the next page's cursor travels in a header."""
    return json_response(200, items, {"X-Next-Cursor": cursor} if cursor else {})


def record_latency_of(status: int) -> None:
    """Counts this request under its route (in the legacy notation) and status class."""
    if route := app.context.get("_route"):
        path = re.sub(r"<(\w+)>", r"{\1}", route.path.removeprefix(API))
        latency.record(f"{route.method} {path}", status, (time.perf_counter() - app.context["started"]) * 1000)


def record_latency(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """Requests that pass validation; those that fail it are counted by invalid_request, since
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
        record_latency_of(status)


app.use(middlewares=[record_latency])


def problem_body(status: int, detail: str, request_id: str, **extra) -> str:
    """Every error, one shape: RFC 9457 problem details, with the request id to quote to support."""
    body = {
        "type": f"https://room-snapshots.dev/problems/{status}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "request_id": request_id,
        **extra,
    }
    return json.dumps(body, default=str)


def problem(status: int, detail: str, **extra) -> Response:
    return Response(
        status, PROBLEM_JSON, problem_body(status, detail, app.current_event.request_context.request_id, **extra)
    )


@app.exception_handler(DomainError)
def domain_error(error: DomainError) -> Response:
    return problem(error.status, error.message)


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    record_latency_of(422)
    errors = [{"loc": list(e["loc"]), "msg": e.get("msg", ""), "type": e["type"]} for e in error.errors()]
    return problem(422, "the request does not match the API description", errors=errors)


@app.not_found
def no_route(error: NotFoundError) -> Response:
    return problem(404, "no such route")


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    logger.exception("unhandled error")
    return problem(500, "an unexpected error occurred; it has been logged")


@app.get(
    f"{API}/health",
    operation_id="health",
    openapi_extensions=PUBLIC,
    responses={
        200: returns(HealthView, "Every dependency is reachable"),
        503: returns(HealthView, "A dependency is unreachable"),
        **problems(422, 500),
    },
)
def health():
    checks = check_dependencies(
        SETTINGS.table_name,
        SETTINGS.bucket_name,
        {"render_queue": SETTINGS.render_queue_url, "dead_letter_queue": SETTINGS.dead_letter_queue_url},
    )
    healthy = all(checks.values())
    if not healthy:
        logger.warning("dependency unreachable", extra={"checks": checks})
    return json_response(200 if healthy else 503, {"status": "ok" if healthy else "degraded", "checks": checks})


# ------------------------------------------------------------------ rooms


@app.post(
    f"{API}/rooms",
    operation_id="createRoom",
    responses={
        201: returns(
            Room,
            "The room, with the caller as its owner",
            links=links(
                [
                    "getRoom",
                    "addParty",
                    "addVessel",
                    "addDocument",
                    "addApproval",
                    "listActivity",
                    "createSnapshot",
                    "listSnapshots",
                ],
                room_id="$response.body#/id",
            ),
        ),
        **errors(*WRITE_ERRORS),
    },
)
def create_room(body: RoomIn):
    return json_response(201, rooms.create_room(caller(), body).model_dump())


@app.get(
    f"{API}/rooms",
    operation_id="listRooms",
    responses={200: returns(list[Room], "The caller's rooms (every room for an admin)"), **errors()},
)
def list_rooms():
    return json_response(200, [room.model_dump() for room in rooms.list_rooms(caller())])


@app.get(
    f"{API}/rooms/<room_id>",
    operation_id="getRoom",
    responses={200: returns(RoomDetail, "The room and its data"), **errors(404)},
)
def get_room(room_id: RoomId):
    return json_response(200, rooms.get_room(caller(), room_id).model_dump(mode="json"))


@app.post(
    f"{API}/rooms/<room_id>/parties",
    operation_id="addParty",
    responses={201: returns(Party, "The party added"), **errors(404, 409, *WRITE_ERRORS)},
)
def add_party(room_id: RoomId, body: PartyIn):
    return json_response(201, rooms.add_party(caller(), room_id, body).model_dump(mode="json"))


@app.post(
    f"{API}/rooms/<room_id>/vessels",
    operation_id="addVessel",
    responses={201: returns(Vessel, "The vessel added"), **errors(404, 409, *WRITE_ERRORS)},
)
def add_vessel(room_id: RoomId, body: VesselIn):
    return json_response(201, rooms.add_vessel(caller(), room_id, body).model_dump(mode="json"))


@app.post(
    f"{API}/rooms/<room_id>/documents",
    operation_id="addDocument",
    responses={
        201: returns(
            Document,
            "The document added",
            links=links(["setDocumentStatus"], room_id="$request.path.room_id", document_id="$response.body#/id"),
        ),
        **errors(404, *WRITE_ERRORS),
    },
)
def add_document(room_id: RoomId, body: DocumentIn):
    return json_response(201, rooms.add_document(caller(), room_id, body).model_dump(mode="json"))


@app.patch(
    f"{API}/rooms/<room_id>/documents/<document_id>",
    operation_id="setDocumentStatus",
    responses={200: returns(DocumentStatusView, "The document's new status"), **errors(404, *WRITE_ERRORS)},
)
def set_document_status(room_id: RoomId, document_id: ItemId, body: DocumentPatch):
    return json_response(200, rooms.set_document_status(caller(), room_id, document_id, body))


@app.post(
    f"{API}/rooms/<room_id>/approvals",
    operation_id="addApproval",
    responses={201: returns(Approval, "The approval recorded"), **errors(404, *WRITE_ERRORS)},
)
def add_approval(room_id: RoomId, body: ApprovalIn):
    return json_response(201, rooms.add_approval(caller(), room_id, body).model_dump(mode="json"))


@app.get(
    f"{API}/rooms/<room_id>/activity",
    operation_id="listActivity",
    responses={
        200: returns(list[Activity], "The room's activity, newest first", headers=NEXT_PAGE),
        **errors(400, 404),
    },
)
def list_activity(room_id: RoomId, limit: Limit = 50, cursor: Cursor = None):
    entries, next_cursor = rooms.list_activity(caller(), room_id, limit, cursor)
    return page([entry.model_dump() for entry in entries], next_cursor)


# ------------------------------------------------------------------ snapshots


@app.post(
    f"{API}/rooms/<room_id>/snapshots",
    operation_id="createSnapshot",
    responses={
        201: returns(
            SnapshotView,
            "The snapshot, generating in the background (or the first one created with this Idempotency-Key)",
            headers={
                "Location": header("The snapshot's URL", required=True),
                "Idempotent-Replayed": header('"true" when an earlier request with this Idempotency-Key is answered'),
            },
            links={
                **links(
                    ["getSnapshot", "downloadSnapshot", "deleteSnapshot"],
                    room_id="$response.body#/room_id",
                    snapshot_id="$response.body#/id",
                ),
                **links(["getTask", "cancelTask"], task_id="$response.body#/task_id"),
            },
        ),
        **errors(404, 409, *WRITE_ERRORS),
    },
)
def create_snapshot(room_id: RoomId, body: SnapshotIn, idempotency_key: IdempotencyKey = None):
    snapshot, created = snapshots.create(caller(), room_id, body, logger.get_correlation_id() or "", idempotency_key)
    logger.info("snapshot requested", extra={"snapshot_id": snapshot.id, "room_id": room_id, "replayed": not created})
    headers = {"Location": f"{API}/rooms/{room_id}/snapshots/{snapshot.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return json_response(201, snapshot_view(snapshot), headers)


@app.get(
    f"{API}/rooms/<room_id>/snapshots",
    operation_id="listSnapshots",
    responses={
        200: returns(list[SnapshotView], "The room's snapshots, newest first", headers=NEXT_PAGE),
        **errors(400, 404),
    },
)
def list_snapshots(room_id: RoomId, limit: Limit = 20, cursor: Cursor = None):
    items, next_cursor = snapshots.list_for_room(caller(), room_id, limit, cursor)
    return page([snapshot_view(snapshot) for snapshot in items], next_cursor)


@app.get(
    f"{API}/rooms/<room_id>/snapshots/<snapshot_id>",
    operation_id="getSnapshot",
    responses={200: returns(SnapshotView, "The snapshot"), **errors(404)},
)
def get_snapshot(room_id: RoomId, snapshot_id: ItemId):
    return json_response(200, snapshot_view(snapshots.get(caller(), room_id, snapshot_id)))


@app.delete(
    f"{API}/rooms/<room_id>/snapshots/<snapshot_id>",
    operation_id="deleteSnapshot",
    responses={204: {"description": "Deleted", "content": NO_CONTENT}, **errors(404)},
)
def delete_snapshot(room_id: RoomId, snapshot_id: ItemId):
    snapshots.delete(caller(), room_id, snapshot_id)
    return Response(204)


@app.get(
    f"{API}/rooms/<room_id>/snapshots/<snapshot_id>/download",
    operation_id="downloadSnapshot",
    responses={
        200: {
            "description": "The PDF",
            "headers": {"Content-Disposition": header("attachment, with the file name", required=True)},
            "content": {"application/pdf": {"model": bytes}},
        },
        307: {
            "description": "The PDF is too large for an inline response, or a redirect was asked for",
            "headers": {"Location": header("A presigned S3 URL, valid for a few minutes", required=True)},
            "content": NO_CONTENT,
        },
        **errors(404, 409),
    },
)
def download_snapshot(room_id: RoomId, snapshot_id: ItemId, redirect: Redirect = False):
    download = snapshots.download(
        caller(), room_id, snapshot_id, SETTINGS.inline_download_max_bytes, SETTINGS.presign_ttl_seconds, redirect
    )
    if download.redirect_url:
        return Response(307, headers={"Location": download.redirect_url})
    disposition = f'attachment; filename="{download.filename}"'
    return Response(200, "application/pdf", download.pdf, {"Content-Disposition": disposition})


@app.get(
    f"{API}/snapshots/tasks/<task_id>",
    operation_id="getTask",
    responses={
        200: returns(TaskView, "The task", headers=TASK_HEADERS),
        304: {
            "description": "Unchanged since the ETag in If-None-Match",
            "headers": TASK_HEADERS,
            "content": NO_CONTENT,
        },
        **errors(404),
    },
)
def get_task(task_id: TaskId, if_none_match: IfNoneMatch = None):
    """Polling etiquette: an ETag to revalidate with (304 while unchanged) and, until the task is
    terminal, a Retry-After that says when asking again is worthwhile."""
    snapshot = snapshots.task(caller(), task_id)
    view = task_view(snapshot)
    etag = '"' + hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if not snapshot.task_status.terminal:
        headers["Retry-After"] = "1"
    if if_none_match and etag in [tag.strip() for tag in if_none_match.split(",")]:
        return Response(304, headers=headers)
    return json_response(200, view, headers)


@app.post(
    f"{API}/snapshots/tasks/bulk-status",
    operation_id="bulkTaskStatus",
    responses={200: returns(BulkStatusView, "The tasks found, in the order asked"), **errors(400, *WRITE_ERRORS)},
)
def bulk_status(body: BulkStatusIn):
    found, missing = snapshots.bulk_status(caller(), body.task_ids)
    return json_response(200, {"tasks": [task_view(snapshot) for snapshot in found], "not_found": missing})


@app.get(
    f"{API}/snapshots/metrics/summary",
    operation_id="getMetricsSummary",
    responses={200: returns(MetricsSummary, "Figures for the last `hours` hours (admins only)"), **errors()},
)
def metrics_summary(hours: Annotated[int, Query(ge=1, le=168)] = 24):
    if not caller().is_admin:
        raise Forbidden("the metrics summary is for admins")
    return json_response(200, metrics_service.summary(hours))


@app.post(
    f"{API}/snapshots/tasks/<task_id>/cancel",
    operation_id="cancelTask",
    responses={200: returns(TaskView, "The task, cancelled"), **errors(404, 409, *WRITE_ERRORS)},
)
def cancel_task(task_id: TaskId):
    return json_response(200, task_view(snapshots.cancel(caller(), task_id)))


@app.get(f"{API}/openapi.json", include_in_schema=False)
def openapi():
    return Response(200, content_types.APPLICATION_JSON, openapi_json())


def refusal(event: dict, status: int, detail: str) -> dict:
    """A problem answered before anything parses the request."""
    body = problem_body(status, detail, event.get("requestContext", {}).get("requestId", ""))
    return {"statusCode": status, "headers": {"Content-Type": PROBLEM_JSON}, "body": body, "isBase64Encoded": False}


def json_or_no_body(event: dict) -> bool:
    """Request bodies are JSON. The resolver would also try form and multipart parsers on a POST or
    PATCH (and answer a multipart type without a boundary with a 500)."""
    method = event.get("requestContext", {}).get("http", {}).get("method")
    content_type = (event.get("headers") or {}).get("content-type", "").strip()
    return (
        method not in ("POST", "PATCH") or not content_type or content_type.startswith(content_types.APPLICATION_JSON)
    )


@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context) -> dict:
    if len(event.get("body") or "") > MAX_BODY_BYTES:
        return refusal(event, 413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    if not json_or_no_body(event):
        return refusal(event, 415, "request bodies must be application/json")
    app.append_context(started=time.perf_counter())
    response = app.resolve(event, context)
    latency.flush_if_due(on_create_path=event.get("requestContext", {}).get("http", {}).get("method") == "POST")
    return response
