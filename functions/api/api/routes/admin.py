"""Operator actions for admins."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from roomsnap.errors import Forbidden
from roomsnap.observability import logger

from api.logic.views import RedriveView
from api.openapi_docs import WRITE_ERRORS, errors, returns
from api.routes.http import caller, json_response
from api.services import SETTINGS, dead_letters

router = Router()
REDRIVE_AT_MOST = 500  # per request, well inside the API's timeout; call again for more


@router.post(
    "/admin/dead-letters/redrive",
    operation_id="redriveDeadLetters",
    responses={
        200: returns(RedriveView, "How many parked render messages went back to the render queue"),
        **errors(*WRITE_ERRORS),
    },
)
def redrive_dead_letters():
    if not caller(router).is_admin:
        raise Forbidden("redriving the dead-letter queue is for admins")
    moved = dead_letters.redrive(SETTINGS.render_queue_url, REDRIVE_AT_MOST)
    logger.info("dead letters redriven", extra={"moved": moved})
    return json_response(200, {"moved": moved, "at_most": REDRIVE_AT_MOST})
