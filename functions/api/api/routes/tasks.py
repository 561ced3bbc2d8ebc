"""Snapshot tasks: polling (ETag, Retry-After), bulk status, cancellation."""

import hashlib
import json
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header

from roomsnap.models import API_PREFIX, BulkStatusIn
from roomsnap.observability import logger
from roomsnap.views import SnapshotView, snapshot_view

from api.logic.views import BulkStatusView, TaskView, task_view
from api.openapi_docs import NO_CONTENT, TASK_HEADERS, WRITE_ERRORS, errors, header, returns
from api.routes.http import POLL_AFTER_S, TaskId, caller, json_response
from api.services import snapshots

router = Router()
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=1024)]


@router.get(
    "/snapshots/tasks/<task_id>",
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
    snapshot = snapshots.task(caller(router), task_id)
    view = task_view(snapshot)
    etag = '"' + hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if not snapshot.task_status.terminal:
        headers["Retry-After"] = POLL_AFTER_S
    if if_none_match and etag in [tag.strip() for tag in if_none_match.split(",")]:
        return Response(304, headers=headers)
    return json_response(200, view, headers)


@router.post(
    "/snapshots/tasks/bulk-status",
    operation_id="bulkTaskStatus",
    responses={200: returns(BulkStatusView, "The tasks found, in the order asked"), **errors(400, *WRITE_ERRORS)},
)
def bulk_status(body: BulkStatusIn):
    found, missing = snapshots.bulk_status(caller(router), body.task_ids)
    return json_response(200, {"tasks": [task_view(snapshot) for snapshot in found], "not_found": missing})


@router.post(
    "/snapshots/tasks/<task_id>/cancel",
    operation_id="cancelTask",
    responses={200: returns(TaskView, "The task, cancelled"), **errors(404, 409, *WRITE_ERRORS)},
)
def cancel_task(task_id: TaskId):
    return json_response(200, task_view(snapshots.cancel(caller(router), task_id)))


@router.post(
    "/snapshots/tasks/<task_id>/retry",
    operation_id="retryTask",
    responses={
        201: returns(
            SnapshotView,
            "A new snapshot of the failed one's room, title and sections, generating",
            headers={"Location": header("The new snapshot's URL", required=True)},
        ),
        **errors(404, 409, 429, *WRITE_ERRORS),
    },
)
def retry_task(task_id: TaskId):
    created = snapshots.retry(caller(router), task_id, logger.get_correlation_id() or "")
    snapshot = created.snapshot
    location = f"{API_PREFIX}/rooms/{snapshot.room_id}/snapshots/{snapshot.id}"
    return json_response(201, snapshot_view(snapshot), {"Location": location, **created.rate_limit_headers})
