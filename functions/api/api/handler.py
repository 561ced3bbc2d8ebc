"""HTTP API handler: the resolver, its routers and the OpenAPI description. API Gateway has verified
the JWT already; the claims arrive in the event. Each resource's routes live in routes/."""

import json
from functools import cache

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.logging import correlation_paths

from roomsnap import verification
from roomsnap.models import API_PREFIX
from roomsnap.observability import logged_with_context, traced
from roomsnap.verification import VERIFY_PATH

from api import problems, request_latency
from api.routes import admin, health, metrics, rooms, snapshots, tasks, webhooks

app = APIGatewayHttpResolver(enable_validation=True)
app.configure_openapi(
    title="Room Snapshots",
    version="1.0.0",
    description="Turns the state of a ship-to-ship operation room into a PDF snapshot, rendered in the background.",
    security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT")},
    security=[{"bearerAuth": []}],
)
app.enable_swagger(path=f"{API_PREFIX}/docs", compress=True)  # serves its own swagger-ui assets: works offline
for resource in (health, rooms, snapshots, tasks, metrics, admin, webhooks):
    app.include_router(resource.router, prefix=API_PREFIX)
app.use(middlewares=[request_latency.record_latency])
problems.register(app)


@cache
def openapi_json() -> str:
    """The OpenAPI description of the HTTP API, generated from the routes and models (sorted, stable):
    this function's routes, and POST /verify, which a function of its own answers (roomsnap.verification)."""
    description = json.loads(app.get_openapi_json_schema())
    description["paths"][VERIFY_PATH], schemas = verification.operation()
    description["components"]["schemas"].update(schemas)
    return json.dumps(description, indent=2, sort_keys=True) + "\n"


@app.get(f"{API_PREFIX}/openapi.json", include_in_schema=False)
def openapi():
    return Response(200, content_types.APPLICATION_JSON, openapi_json())


@traced
@logged_with_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context) -> dict:
    if refusal := problems.refusal_of(event):
        return refusal
    problems.normalize_media_type(event)
    request_latency.start_clock(app)
    response = app.resolve(event, context)
    request_latency.flush_if_due(event)
    return response
