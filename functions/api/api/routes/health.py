"""GET /health: public, reports whether every dependency is reachable."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from cachetools import TTLCache, cached

from roomsnap.dal.health import check_dependencies
from roomsnap.observability import logger

from api.logic.views import HealthView
from api.openapi_docs import PUBLIC, problems, returns
from api.routes.http import json_response
from api.services import SETTINGS

router = Router()
CHECK_EVERY_S = 5  # a public route: each container asks its dependencies at most this often


@cached(TTLCache(maxsize=1, ttl=CHECK_EVERY_S))
def dependency_checks() -> dict[str, bool]:
    return check_dependencies(
        SETTINGS.table_name,
        SETTINGS.bucket_name,
        {"render_queue": SETTINGS.render_queue_url, "dead_letter_queue": SETTINGS.dead_letter_queue_url},
    )


@router.get(
    "/health",
    operation_id="health",
    openapi_extensions=PUBLIC,
    responses={
        200: returns(HealthView, "Every dependency is reachable"),
        503: returns(HealthView, "A dependency is unreachable"),
        **problems(422, 500),
    },
)
def health():
    checks = dependency_checks()
    healthy = all(checks.values())
    if not healthy:
        logger.warning("dependency unreachable", extra={"checks": checks})
    return json_response(200 if healthy else 503, {"status": "ok" if healthy else "degraded", "checks": checks})
