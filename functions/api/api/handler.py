"""HTTP API handler: the resolver, its routers and the OpenAPI description. API Gateway has verified
the JWT already; the claims arrive in the event. Each resource's routes live in routes/."""

import json
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
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
    # A plain dict, not Powertools' HTTPBearer: its OpenAPI models (pydantic, ~as costly to import as
    # boto3) are only built when the description is, on the first request for it.
    security_schemes={"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},  # type: ignore[dict-item]
    security=[{"bearerAuth": []}],
)
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


@cache
def swagger_page() -> str:
    """Swagger UI for this description, with the assets Powertools ships (it works offline). What
    Powertools' enable_swagger serves, built on the first request rather than at import."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    assets = Path(swagger_ui.__file__).parent
    return swagger_ui.generate_swagger_html(
        openapi_json().replace("</", "<\\/"),  # no "</script>" inside the page's script
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )


@app.get(f"{API_PREFIX}/openapi.json", include_in_schema=False)
def openapi():
    return Response(200, content_types.APPLICATION_JSON, openapi_json())


@app.get(f"{API_PREFIX}/docs", include_in_schema=False, compress=True)
def docs():
    return Response(200, "text/html", swagger_page())


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
