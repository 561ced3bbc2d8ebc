"""What every route module shares: the caller of the request, JSON answers, paths' parameter types."""

import json
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from roomsnap.access import Caller
from roomsnap.models import ID_PATTERN, IMO_PATTERN, TASK_ID_PATTERN

from api.logic.caller import caller_from_token
from api.services import SETTINGS

RoomId = Annotated[str, Path(pattern=ID_PATTERN)]
ItemId = Annotated[str, Path(pattern=ID_PATTERN)]
TaskId = Annotated[str, Path(pattern=TASK_ID_PATTERN)]
VesselImo = Annotated[str, Path(pattern=IMO_PATTERN, description="The vessel's IMO number, seven digits")]
PartyEmail = Annotated[str, Path(min_length=3, max_length=254 * 3, description="The party's email, URL-encoded")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048, description="The X-Next-Cursor of the previous page")]
# Seconds before asking about an unfinished task is worthwhile: a lone snapshot is done well within
# it, so a client that waits this long after the create is usually told "completed" on its first poll.
POLL_AFTER_S = "1"


def caller(router: Router) -> Caller:
    event = cast(APIGatewayProxyEventV2, router.current_event)
    return caller_from_token(
        event.request_context.authorizer.jwt_claim or {},
        event.headers.get("authorization", ""),
        SETTINGS.admin_group,
        SETTINGS.idp_verifies_emails,
    )


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body, default=str), headers or {})


def page(items: list, cursor: str | None) -> Response:
    """A JSON array (the legacy shape); the next page's cursor travels in a header."""
    return json_response(200, items, {"X-Next-Cursor": cursor} if cursor else {})
