"""The admin metrics summary (the legacy shape and more)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from roomsnap.errors import Forbidden

from api.logic.views import MetricsSeries, MetricsSummary
from api.openapi_docs import errors, returns
from api.routes.http import caller, json_response
from api.services import metrics

router = Router()


@router.get(
    "/snapshots/metrics/summary",
    operation_id="getMetricsSummary",
    responses={200: returns(MetricsSummary, "Figures for the last `hours` hours (admins only)"), **errors()},
)
def metrics_summary(hours: Annotated[int, Query(ge=1, le=168)] = 24):
    if not caller(router).is_admin:
        raise Forbidden("the metrics summary is for admins")
    return json_response(200, metrics.summary(hours))


@router.get(
    "/snapshots/metrics/series",
    operation_id="getMetricsSeries",
    responses={200: returns(MetricsSeries, "Generation over time, bucketed (admins only)"), **errors(400)},
)
def metrics_series(
    hours: Annotated[int, Query(ge=1, le=168)] = 24, bucket_minutes: Annotated[int, Query(ge=1, le=1440)] = 60
):
    if not caller(router).is_admin:
        raise Forbidden("the metrics series is for admins")
    return json_response(200, metrics.series(hours, bucket_minutes))
