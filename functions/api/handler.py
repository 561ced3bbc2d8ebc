"""HTTP API handler: routes → one domain call each. API Gateway has verified the JWT already; the
claims arrive in the event."""

import hashlib
import json
from http import HTTPStatus
import re
import time
from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from roomsnap.config import settings
from roomsnap.dal import RoomRepository, SnapshotRepository
from roomsnap.dal.stats import StatsRepository
from roomsnap.errors import DomainError, Forbidden
from roomsnap.health import check_dependencies
from roomsnap.models import ID_PATTERN, ApprovalIn, BulkStatusIn, DocumentIn, DocumentPatch, PartyIn, RoomIn, SnapshotIn, VesselIn
from roomsnap.observability import logger
from roomsnap.queue import RenderQueue
from roomsnap.storage import PdfStore

from api_logic.caller import Caller, caller_from_claims
from api_logic.latency import LatencyRecorder
from api_logic.metrics import MetricsService
from api_logic.rooms import RoomService
from api_logic.snapshots import SnapshotService
from api_logic.views import snapshot_view, task_view

SETTINGS = settings()
rooms = RoomService(RoomRepository(SETTINGS.table_name))
snapshots = SnapshotService(
    rooms,
    SnapshotRepository(SETTINGS.table_name, SETTINGS.snapshot_retention_days),
    PdfStore(SETTINGS.bucket_name),
    RenderQueue(SETTINGS.render_queue_url, copies=2 if SETTINGS.fault_duplicate_sends else 1),
)
metrics_service = MetricsService(StatsRepository(SETTINGS.table_name), SETTINGS.render_queue_url, SETTINGS.dead_letter_queue_url)
latency = LatencyRecorder(StatsRepository(SETTINGS.table_name))
app = APIGatewayHttpResolver(enable_validation=True)

RoomId = Annotated[str, Path(pattern=ID_PATTERN)]
ItemId = Annotated[str, Path(pattern=ID_PATTERN)]
TaskId = Annotated[str, Path(pattern=r"^snapshot-[0-9a-hjkmnp-tv-z]{26}$")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=1024)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]
API = "/api/v1"
MAX_BODY_BYTES = 64 * 1024  # the largest valid request is a few kB
PROBLEM_JSON = "application/problem+json"


def json_response(status: int, body, headers: dict | None = None) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body, default=str), headers or {})


def caller() -> Caller:
    return caller_from_claims(app.current_event.request_context.authorizer.jwt_claim or {}, SETTINGS.admin_group)


def page(items: list, cursor: str | None) -> Response:
    """A JSON array (the legacy shape); the next page's cursor travels in a header."""
    return json_response(200, items, {"X-Next-Cursor": cursor} if cursor else {})


def record_latency(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    started = time.perf_counter()
    status = 500
    try:
        response = next_middleware(app)
        status = response.status_code
        return response
    except DomainError as error:
        status = error.status
        raise
    except RequestValidationError:
        status = 422
        raise
    finally:
        if route := app.context.get("_route"):
            path = re.sub(r"<(\w+)>", r"{\1}", route.path.removeprefix(API))  # the legacy route notation
            latency.record(f"{route.method} {path}", status, (time.perf_counter() - started) * 1000)


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
    return Response(status, PROBLEM_JSON, problem_body(status, detail, app.current_event.request_context.request_id, **extra))


@app.exception_handler(DomainError)
def domain_error(error: DomainError) -> Response:
    return problem(error.status, error.message)


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    errors = [{"loc": list(e["loc"]), "msg": e.get("msg", ""), "type": e["type"]} for e in error.errors()]
    return problem(422, "the request does not match the API description", errors=errors)


@app.not_found
def no_route(error: NotFoundError) -> Response:
    return problem(404, "no such route")


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    logger.exception("unhandled error")
    return problem(500, "an unexpected error occurred; it has been logged")


@app.get(f"{API}/health")
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


@app.post(f"{API}/rooms")
def create_room(body: RoomIn):
    return json_response(201, rooms.create_room(caller(), body).model_dump())


@app.get(f"{API}/rooms")
def list_rooms():
    return json_response(200, [room.model_dump() for room in rooms.list_rooms(caller())])


@app.get(f"{API}/rooms/<room_id>")
def get_room(room_id: RoomId):
    return json_response(200, rooms.get_room(caller(), room_id).model_dump(mode="json"))


@app.post(f"{API}/rooms/<room_id>/parties")
def add_party(room_id: RoomId, body: PartyIn):
    return json_response(201, rooms.add_party(caller(), room_id, body).model_dump(mode="json"))


@app.post(f"{API}/rooms/<room_id>/vessels")
def add_vessel(room_id: RoomId, body: VesselIn):
    return json_response(201, rooms.add_vessel(caller(), room_id, body).model_dump(mode="json"))


@app.post(f"{API}/rooms/<room_id>/documents")
def add_document(room_id: RoomId, body: DocumentIn):
    return json_response(201, rooms.add_document(caller(), room_id, body).model_dump(mode="json"))


@app.patch(f"{API}/rooms/<room_id>/documents/<document_id>")
def set_document_status(room_id: RoomId, document_id: ItemId, body: DocumentPatch):
    return json_response(200, rooms.set_document_status(caller(), room_id, document_id, body))


@app.post(f"{API}/rooms/<room_id>/approvals")
def add_approval(room_id: RoomId, body: ApprovalIn):
    return json_response(201, rooms.add_approval(caller(), room_id, body).model_dump(mode="json"))


@app.get(f"{API}/rooms/<room_id>/activity")
def list_activity(room_id: RoomId, limit: Limit = 50, cursor: Cursor = None):
    entries, next_cursor = rooms.list_activity(caller(), room_id, limit, cursor)
    return page([entry.model_dump() for entry in entries], next_cursor)


# ------------------------------------------------------------------ snapshots


@app.post(f"{API}/rooms/<room_id>/snapshots")
def create_snapshot(room_id: RoomId, body: SnapshotIn, idempotency_key: IdempotencyKey = None):
    snapshot, created = snapshots.create(caller(), room_id, body, logger.get_correlation_id() or "", idempotency_key)
    logger.info("snapshot requested", extra={"snapshot_id": snapshot.id, "room_id": room_id, "replayed": not created})
    headers = {"Location": f"{API}/rooms/{room_id}/snapshots/{snapshot.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return json_response(201, snapshot_view(snapshot), headers)


@app.get(f"{API}/rooms/<room_id>/snapshots")
def list_snapshots(room_id: RoomId, limit: Limit = 20, cursor: Cursor = None):
    items, next_cursor = snapshots.list_for_room(caller(), room_id, limit, cursor)
    return page([snapshot_view(snapshot) for snapshot in items], next_cursor)


@app.get(f"{API}/rooms/<room_id>/snapshots/<snapshot_id>")
def get_snapshot(room_id: RoomId, snapshot_id: ItemId):
    return json_response(200, snapshot_view(snapshots.get(caller(), room_id, snapshot_id)))


@app.delete(f"{API}/rooms/<room_id>/snapshots/<snapshot_id>")
def delete_snapshot(room_id: RoomId, snapshot_id: ItemId):
    snapshots.delete(caller(), room_id, snapshot_id)
    return Response(204)


@app.get(f"{API}/rooms/<room_id>/snapshots/<snapshot_id>/download")
def download_snapshot(room_id: RoomId, snapshot_id: ItemId, redirect: bool = False):
    download = snapshots.download(
        caller(), room_id, snapshot_id, SETTINGS.inline_download_max_bytes, SETTINGS.presign_ttl_seconds, redirect
    )
    if download.redirect_url:
        return Response(307, headers={"Location": download.redirect_url})
    disposition = f'attachment; filename="{download.filename}"'
    return Response(200, "application/pdf", download.pdf, {"Content-Disposition": disposition})


@app.get(f"{API}/snapshots/tasks/<task_id>")
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


@app.post(f"{API}/snapshots/tasks/bulk-status")
def bulk_status(body: BulkStatusIn):
    found, missing = snapshots.bulk_status(caller(), body.task_ids)
    return json_response(200, {"tasks": [task_view(snapshot) for snapshot in found], "not_found": missing})


@app.get(f"{API}/snapshots/metrics/summary")
def metrics_summary(hours: Annotated[int, Query(ge=1, le=168)] = 24):
    if not caller().is_admin:
        raise Forbidden("the metrics summary is for admins")
    return json_response(200, metrics_service.summary(hours))


@app.post(f"{API}/snapshots/tasks/<task_id>/cancel")
def cancel_task(task_id: TaskId):
    return json_response(200, task_view(snapshots.cancel(caller(), task_id)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context) -> dict:
    if len(event.get("body") or "") > MAX_BODY_BYTES:  # refused before anything parses it
        detail = f"the request body is larger than {MAX_BODY_BYTES} bytes"
        body = problem_body(413, detail, event.get("requestContext", {}).get("requestId", ""))
        return {"statusCode": 413, "headers": {"Content-Type": PROBLEM_JSON}, "body": body, "isBase64Encoded": False}
    response = app.resolve(event, context)
    latency.flush_if_due(on_create_path=event.get("requestContext", {}).get("http", {}).get("method") == "POST")
    return response
