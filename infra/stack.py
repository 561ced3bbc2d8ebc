"""The local stack: template.yaml running on an embedded AWS endpoint (moto, or AWS_ENDPOINT_URL)."""

from __future__ import annotations

import logging
from typing import Any

from infra.appsync_events import REALTIME_PATH, EventsApi, events_api
from infra.auth import LOCAL_AUDIENCE, SigningKey, local_issuer
from infra.endpoint import Endpoint
from infra.event_sources import SqsPoller, mappings_from_template
from infra.http_api import HttpApi, local_issuer_parameters, routes_from_template
from infra.logs import LogBook
from infra.metering import METER, Meter
from infra.oidc import DevelopmentOidcProvider
from infra.provision import provision
from infra.runtime import Runtime
from infra.schedules import Scheduler
from infra.signing_ca import certify_template_signers
from infra.streams import StreamPoller, stream_mappings_from_template
from infra.template import STACK_NAME, Template
from infra.ttl import TtlSweeper
from infra.web import WebApp, runtime_config, security_headers

log = logging.getLogger("infra.stack")

TTL_PRINCIPAL = "DynamoDB TTL"


def poller_principal(function: str) -> str:
    """Who makes an SQS event source mapping's requests: Lambda's pollers, billed to the account."""
    return f"{function} event source mapping"


# The local stack's own settings, which template.yaml never sets: webhooks may go to loopback
# receivers, and to nothing else, so nothing run locally sends traffic off the machine.
# The live channel's endpoints are this stack's own plain-HTTP server.
LOCAL_ONLY_ENVIRONMENT = {"WEBHOOK_LOOPBACK_ONLY": "true", "EVENTS_SCHEME": "http"}


class LocalStack:
    """Provisions the template's resources, then serves its HTTP API, SQS and DynamoDB stream
    mappings, schedules and TTL, the web app built next to the template (web/dist) and a development
    OIDC provider for it.

    Note that moto keeps its state per process: stacks started in one process share their resources
    unless they are given different stack names (resource names start with the stack name).
    """

    def __init__(
        self,
        template_path: str = "template.yaml",
        port: int = 3000,
        env_overrides: dict[str, dict[str, str]] | None = None,
        parameter_overrides: dict[str, Any] | None = None,
        start_schedules: bool = True,
        stack_name: str = STACK_NAME,
    ):
        self._stopped = False
        self._http: HttpApi | None = None
        self._background: list[Scheduler | SqsPoller | StreamPoller | TtlSweeper] = []
        self.runtime: Runtime | None = None
        self.events: EventsApi | None = None
        self.endpoint = Endpoint()
        try:
            self.endpoint_url = self.endpoint.url
            self._http = HttpApi(port)
            self.authority = f"127.0.0.1:{self._http.port}"
            self.base_url = f"http://{self.authority}"
            self.issuer = local_issuer(self._http.port)
            self.template = Template(template_path, region=self.endpoint.region, stack_name=stack_name)
            EventsApi.record_attributes(self.template, self.authority)
            self.template.set_parameters(
                {**local_issuer_parameters(self.template, self.issuer), **(parameter_overrides or {})}
            )
            self.resources = provision(self.template, self.endpoint)
            certify_template_signers(self.template, self.endpoint)
            self._signing_key = SigningKey.load_or_create()
            self._logbook = LogBook()
            functions = self.template.functions()
            # Each function signs with an access key id of its own, so the meter knows who asked.
            overrides = {
                logical_id: {
                    **LOCAL_ONLY_ENVIRONMENT,
                    **self.endpoint.function_environment(logical_id),
                    **(env_overrides or {}).get(logical_id, {}),
                }
                for logical_id in functions
            }
            self.runtime = Runtime(functions, self.endpoint.environment(), self._logbook.write, overrides)
            self._scheduler = Scheduler(self.template, self.runtime.invoke)
            # DynamoDB's own TTL deletes are free: the local sweeper that plays it is counted apart.
            self._ttl = TtlSweeper(self.template, self.endpoint.client("dynamodb", principal=TTL_PRINCIPAL))
            pollers: list[SqsPoller | StreamPoller] = [
                SqsPoller(
                    mapping,
                    self.endpoint.client("sqs", principal=poller_principal(mapping.function)),
                    self.runtime.invoke,
                    self.endpoint.region,
                )
                for mapping in mappings_from_template(self.template)
            ]
            pollers += [
                StreamPoller(
                    mapping,
                    self.endpoint.client("dynamodbstreams", principal=poller_principal(mapping.function)),
                    self.endpoint.client("sqs", principal=poller_principal(mapping.function)),
                    self.runtime.invoke,
                )
                for mapping in stream_mappings_from_template(self.template)
            ]
            jwks = self._signing_key.jwks()
            admin_group = self.template.parameters.get("AdminGroup", "admin")
            self.events = events_api(
                self.template,
                self.authority,
                jwks,
                self.runtime.invoke,
                self.endpoint.credentials["AWS_SECRET_ACCESS_KEY"],
            )
            web_app = self._web_app(admin_group)
            self.serves_web_app = web_app is not None
            oidc = DevelopmentOidcProvider(self.issuer, LOCAL_AUDIENCE, self._signing_key, admin_group)
            self._http.serve(
                routes_from_template(self.template, jwks, self.issuer),
                self.runtime.invoke,
                jwks,
                self._scheduler.fire,
                local_pages=[oidc],
                web_app=web_app,
                events=self.events,
            )
            self._background = [*pollers, self._ttl, *([self._scheduler] if start_schedules else [])]
            for part in self._background:
                part.start()
        except BaseException:
            self.stop()
            raise

    def _web_app(self, admin_group: str) -> WebApp | None:
        dist = self.template.root / "web" / "dist"
        if not (dist / "index.html").is_file():
            if (self.template.root / "web").is_dir():
                log.warning("%s is not built (make web): the web app is not served", dist)
            return None
        live = (self.authority, f"ws://{self.authority}{REALTIME_PATH}") if self.events else None
        config = runtime_config(self.issuer, LOCAL_AUDIENCE, admin_group, live)
        policies = self.template.resources_of_type("AWS::CloudFront::ResponseHeadersPolicy")
        headers = [header for lid in policies for header in security_headers(self.template.properties(lid))]
        return WebApp(dist, config, headers)

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def mint_token(self, email: str, admin: bool = False, **claims: Any) -> str:
        """A development JWT the HTTP API accepts; extra claims are added or override the defaults."""
        return self._signing_key.mint(email, admin, issuer=self.issuer, **claims)

    def client(self, service: str):
        """A boto3 client for the stack's endpoint, with its region and credentials."""
        return self.endpoint.client(service)

    def invoke(self, logical_id: str, event: Any) -> Any:
        assert self.runtime, "the stack is not running"
        return self.runtime.invoke(logical_id, event)

    def fire_schedule(self, function: str, event_name: str | None = None) -> Any:
        return self._scheduler.fire(function, event_name)

    def sweep_ttl(self) -> dict[str, int]:
        return self._ttl.sweep()

    @property
    def meter(self) -> Meter:
        """What this process's stacks made AWS do so far (infra.metering)."""
        return METER

    def logs(self, logical_id: str) -> list[dict[str, Any]]:
        """What the function printed, one dict per line: parsed JSON, or {"message": line}."""
        return self._logbook.records(logical_id)

    def stop(self) -> None:
        """Stops the HTTP server, pollers, schedules, workers and moto: nothing is left listening."""
        if self._stopped:
            return
        self._stopped = True
        if self._http:
            self._http.stop()
        for part in self._background:
            part.stop()
        if self.runtime:
            self.runtime.stop()  # ends in-flight invocations, so the threads below finish promptly
        for part in self._background:
            part.join()
        self.endpoint.stop()
