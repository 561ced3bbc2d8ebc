"""The local stack: template.yaml running on an embedded AWS endpoint (moto, or AWS_ENDPOINT_URL)."""

from __future__ import annotations

from typing import Any

from infra.auth import SigningKey
from infra.endpoint import Endpoint
from infra.event_sources import SqsPoller, mappings_from_template
from infra.http_api import HttpApi, local_issuer_parameters, routes_from_template
from infra.logs import LogBook
from infra.provision import provision
from infra.runtime import Runtime
from infra.schedules import Scheduler
from infra.streams import StreamPoller, stream_mappings_from_template
from infra.template import STACK_NAME, Template
from infra.ttl import TtlSweeper

# The local stack's own settings, which template.yaml never sets: webhooks may go to loopback
# receivers, and to nothing else, so nothing run locally sends traffic off the machine.
LOCAL_ONLY_ENVIRONMENT = {"WEBHOOK_LOOPBACK_ONLY": "true"}


class LocalStack:
    """Provisions the template's resources, then serves its HTTP API, SQS and DynamoDB stream
    mappings, schedules and TTL.

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
        self.endpoint = Endpoint()
        try:
            self.endpoint_url = self.endpoint.url
            self.template = Template(template_path, region=self.endpoint.region, stack_name=stack_name)
            self.template.set_parameters({**local_issuer_parameters(self.template), **(parameter_overrides or {})})
            self.resources = provision(self.template, self.endpoint)
            self._signing_key = SigningKey.load_or_create()
            self._logbook = LogBook()
            functions = self.template.functions()
            overrides = {fid: {**LOCAL_ONLY_ENVIRONMENT, **(env_overrides or {}).get(fid, {})} for fid in functions}
            self.runtime = Runtime(functions, self.endpoint.environment(), self._logbook.write, overrides)
            self._scheduler = Scheduler(self.template, self.runtime.invoke)
            self._ttl = TtlSweeper(self.template, self.endpoint.client("dynamodb"))
            sqs = self.endpoint.client("sqs")
            pollers: list[SqsPoller | StreamPoller] = [
                SqsPoller(mapping, sqs, self.runtime.invoke, self.endpoint.region)
                for mapping in mappings_from_template(self.template)
            ]
            streams = self.endpoint.client("dynamodbstreams")
            pollers += [
                StreamPoller(mapping, streams, sqs, self.runtime.invoke)
                for mapping in stream_mappings_from_template(self.template)
            ]
            jwks = self._signing_key.jwks()
            self._http = HttpApi(
                routes_from_template(self.template, jwks), self.runtime.invoke, jwks, self._scheduler.fire, port
            )
            self.base_url = f"http://127.0.0.1:{self._http.port}"
            self._background = [*pollers, self._ttl, *([self._scheduler] if start_schedules else [])]
            for part in self._background:
                part.start()
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def mint_token(self, email: str, admin: bool = False, **claims: Any) -> str:
        """A development JWT the HTTP API accepts; extra claims are added or override the defaults."""
        return self._signing_key.mint(email, admin, **claims)

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
