"""A room's snapshots: the legacy contract (create, list, read, delete, download)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from roomsnap.models import API_PREFIX, SnapshotIn
from roomsnap.observability import logger
from roomsnap.views import SnapshotView, snapshot_view

from api.openapi_docs import NEXT_PAGE, NO_CONTENT, WRITE_ERRORS, errors, header, links, returns
from api.routes.http import POLL_AFTER_S, Cursor, ItemId, Limit, RoomId, caller, json_response, page
from api.services import SETTINGS, snapshots

router = Router()
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
]
Redirect = Annotated[
    bool | None,
    Query(
        description="true: a redirect to a presigned S3 URL; false: the bytes, refused (422) for a PDF too large "
        "for a response; absent: the bytes, or the redirect when the PDF is too large for a response"
    ),
]


@router.post(
    "/rooms/<room_id>/snapshots",
    operation_id="createSnapshot",
    responses={
        201: returns(
            SnapshotView,
            "The snapshot, generating in the background (or the first one created with this Idempotency-Key)",
            headers={
                "Location": header("The snapshot's URL", required=True),
                "Idempotent-Replayed": header('"true" when an earlier request with this Idempotency-Key is answered'),
                "RateLimit-Policy": header("The caller's create limits (draft-ietf-httpapi-ratelimit-headers)"),
                "RateLimit": header("What is left of each limit, and seconds until its window resets"),
                "Retry-After": header("Seconds before polling the task is worthwhile; absent once it is terminal"),
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
        **errors(404, 409, 429, *WRITE_ERRORS),
    },
)
def create_snapshot(room_id: RoomId, body: SnapshotIn, idempotency_key: IdempotencyKey = None):
    correlation_id = logger.get_correlation_id() or ""
    created = snapshots.create(caller(router), room_id, body, correlation_id, idempotency_key)
    snapshot = created.snapshot
    logger.info(
        "snapshot requested", extra={"snapshot_id": snapshot.id, "room_id": room_id, "replayed": created.replayed}
    )
    headers = {"Location": f"{API_PREFIX}/rooms/{room_id}/snapshots/{snapshot.id}", **created.rate_limit_headers}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    if not snapshot.task_status.terminal:  # polling sooner would only be told "generating" again
        headers["Retry-After"] = POLL_AFTER_S
    return json_response(201, snapshot_view(snapshot), headers)


@router.get(
    "/rooms/<room_id>/snapshots",
    operation_id="listSnapshots",
    responses={
        200: returns(list[SnapshotView], "The room's snapshots, newest first", headers=NEXT_PAGE),
        **errors(400, 404),
    },
)
def list_snapshots(room_id: RoomId, limit: Limit = 20, cursor: Cursor = None):
    items, next_cursor = snapshots.list_for_room(caller(router), room_id, limit, cursor)
    return page([snapshot_view(snapshot) for snapshot in items], next_cursor)


@router.get(
    "/rooms/<room_id>/snapshots/<snapshot_id>",
    operation_id="getSnapshot",
    responses={200: returns(SnapshotView, "The snapshot"), **errors(404)},
)
def get_snapshot(room_id: RoomId, snapshot_id: ItemId):
    return json_response(200, snapshot_view(snapshots.get(caller(router), room_id, snapshot_id)))


@router.delete(
    "/rooms/<room_id>/snapshots/<snapshot_id>",
    operation_id="deleteSnapshot",
    responses={204: {"description": "Deleted", "content": NO_CONTENT}, **errors(404)},
)
def delete_snapshot(room_id: RoomId, snapshot_id: ItemId):
    snapshots.delete(caller(router), room_id, snapshot_id)
    return Response(204)


@router.get(
    "/rooms/<room_id>/snapshots/<snapshot_id>/download",
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
        **errors(404, 409, 422),
    },
)
def download_snapshot(room_id: RoomId, snapshot_id: ItemId, redirect: Redirect = None):
    download = snapshots.download(
        caller(router), room_id, snapshot_id, SETTINGS.inline_download_max_bytes, SETTINGS.presign_ttl_seconds, redirect
    )
    if download.redirect_url:
        return Response(307, headers={"Location": download.redirect_url})
    disposition = f'attachment; filename="{download.filename}"'
    return Response(200, "application/pdf", download.pdf, {"Content-Disposition": disposition})
