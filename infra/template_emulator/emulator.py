"""The emulator: a SAM template running on an embedded AWS endpoint (moto, or AWS_ENDPOINT_URL)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from template_emulator.appsync_events import REALTIME_PATH, EventsApi, events_api
from template_emulator.auth import KEY_FILE, SigningKey, local_issuer
from template_emulator.dynamodb import LOCKS, ReadWriteLock
from template_emulator.endpoint import Endpoint, EndpointMiddleware
from template_emulator.event_sources import SqsPoller, mappings_from_template
from template_emulator.faults import Faults
from template_emulator.front import FrontServer, Handler, Request, Response
from template_emulator.http_api import HttpApi, local_issuer_parameters, routes_from_template
from template_emulator.logs import LogBook
from template_emulator.metering import METER, Meter
from template_emulator.oidc import DevelopmentOidcProvider
from template_emulator.profile import Profile, SiteFacts
from template_emulator.provision import provision
from template_emulator.runtime import FunctionError, Runtime
from template_emulator.schedules import Scheduler
from template_emulator.state import Saver, StateFolder
from template_emulator.streams import StreamPoller, stream_mappings_from_template
from template_emulator.template import Template
from template_emulator.ttl import TtlSweeper
from template_emulator.web import StaticSite, api_path_patterns, record_distribution_attributes, security_headers

log = logging.getLogger("template_emulator")

TTL_PRINCIPAL = "DynamoDB TTL"


def poller_principal(function: str) -> str:
    """Who makes an event source mapping's requests: Lambda's pollers, billed to the account."""
    return f"{function} event source mapping"


class Part(Protocol):
    """Something the emulator runs in the background until stop()."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self) -> None: ...


class Emulator:
    """Provisions the template's resources, then serves its HTTP API, SQS and DynamoDB stream
    mappings, schedules and TTL, its AppSync Events API, a static site where its CloudFront
    distribution serves one, and a development OIDC provider.

    `state_dir` keeps the stack's state across restarts (template_emulator.state); without it the
    stack starts empty and keeps nothing. `fresh` empties the folder first. Note that moto keeps its
    state per process: stacks started in one process share their resources unless their profiles
    have different stack names (resource names start with the stack name).
    """

    def __init__(
        self,
        template_path: str | Path = "template.yaml",
        profile: Profile | None = None,
        port: int = 3000,
        env_overrides: dict[str, dict[str, str]] | None = None,
        parameter_overrides: dict[str, Any] | None = None,
        start_schedules: bool = True,
        state_dir: Path | None = None,
        fresh: bool = False,
    ):
        self.profile = profile or Profile()
        self.faults = Faults()
        self._stopped = False
        self._background: list[Part] = []
        self._stream_pollers: list[StreamPoller] = []
        self._saver: Saver | None = None
        self.runtime: Runtime | None = None
        self.events: EventsApi | None = None
        self._http_api: HttpApi | None = None
        self._gate = ReadWriteLock()  # held exclusively while the state is copied
        self.state = StateFolder(state_dir, fresh) if state_dir else None
        self.endpoint = Endpoint(lambda app: EndpointMiddleware(app, self.faults, self._gate))
        try:
            positions = self.state.restore() if self.state and self.endpoint.embedded else {}
            self._front = FrontServer(port)
            self._read_template(template_path, parameter_overrides)
            self.resources = provision(self.template, self.endpoint)
            if self.profile.after_provision:
                self.profile.after_provision(self.template, self.endpoint)
            self._signing_key = self._development_key()
            self._start_runtime(env_overrides)
            self._start_event_sources(positions)
            self._serve()
            self._start_background(start_schedules)
        except BaseException:
            self.stop()
            raise

    # ------------------------------------------------------------------ start-up, step by step

    def _read_template(self, template_path: str | Path, parameter_overrides: dict[str, Any] | None) -> None:
        """The template, its parameters set: the JWT authorizer's issuer and audience are the local
        provider's (the port is bound by now), then the caller's overrides."""
        self.authority = self._front.authority
        self.base_url = f"http://{self.authority}"
        self.issuer = local_issuer(self._front.port)
        self.template = Template(template_path, region=self.endpoint.region, stack_name=self.profile.stack_name)
        EventsApi.record_attributes(self.template, self.authority)
        record_distribution_attributes(self.template, self.authority)
        self.template.set_parameters(
            {
                **local_issuer_parameters(self.template, self.issuer, self.profile.client_id),
                **(parameter_overrides or {}),
            }
        )
        parameter = self.profile.admin_group_parameter
        self.admin_group = self.template.parameters.get(parameter, "") if parameter else ""
        self.admin_group = self.admin_group or self.profile.default_admin_group

    def _development_key(self) -> SigningKey:
        """The key that signs development tokens: kept with the state, so tokens outlive a restart."""
        return SigningKey.load_or_create(self.state.file(KEY_FILE)) if self.state else SigningKey.generate()

    def _start_runtime(self, env_overrides: dict[str, dict[str, str]] | None) -> None:
        """A worker pool per function. Each function signs with an access key id of its own, so the
        meter knows who asked; the profile's local-only environment goes to every function."""
        self._logbook = LogBook()
        functions = self.template.functions()
        environments = {
            logical_id: {
                **self.profile.function_environment,
                **self.endpoint.function_environment(logical_id),
                **(env_overrides or {}).get(logical_id, {}),
            }
            for logical_id in functions
        }
        self.runtime = Runtime(functions, self.endpoint.environment(), self._logbook.write, environments)

    def _start_event_sources(self, positions: dict[str, Any]) -> None:
        """The SQS and DynamoDB stream mappings, streams resuming where they were; the schedules and TTL."""
        assert self.runtime
        self._scheduler = Scheduler(self.template, self.runtime.invoke)
        # DynamoDB's own TTL deletes are free: the local sweeper that plays it is counted apart.
        self._ttl = TtlSweeper(self.template, self.endpoint.client("dynamodb", principal=TTL_PRINCIPAL))
        self._queue_pollers = [
            SqsPoller(
                mapping,
                self.endpoint.client("sqs", principal=poller_principal(mapping.function)),
                self.runtime.invoke,
                self.endpoint.region,
                self.faults.mapping(mapping.function),
            )
            for mapping in mappings_from_template(self.template)
        ]
        self._stream_pollers = [
            StreamPoller(
                mapping,
                self.endpoint.client("dynamodbstreams", principal=poller_principal(mapping.function)),
                self.endpoint.client("sqs", principal=poller_principal(mapping.function)),
                self.runtime.invoke,
            )
            for mapping in stream_mappings_from_template(self.template)
        ]
        for poller in self._stream_pollers:
            poller.resume_from(positions.get(poller.name, {}))

    def _serve(self) -> None:
        """The front server's handlers, in order: the emulator's own endpoints, the OIDC provider,
        AppSync Events, the HTTP API's routes, the static site; the HTTP API answers the rest."""
        assert self.runtime
        jwks = self._signing_key.jwks()
        self.events = events_api(
            self.template,
            self.authority,
            jwks,
            self.runtime.invoke,
            self.endpoint.credentials["AWS_SECRET_ACCESS_KEY"],
        )
        oidc = DevelopmentOidcProvider(
            self.issuer, self.profile.client_id, self._signing_key, self.admin_group, self.profile.product_name
        )
        self._http_api = HttpApi(
            routes_from_template(self.template, jwks, self.issuer, self.profile.client_id),
            self.runtime.invoke,
            self.profile.token_hint.format(port=self._front.port),
        )
        site = self._static_site()
        self.serves_web_app = site is not None
        handlers: list[Handler] = [self._control, oidc]
        handlers += [self.events] if self.events else []
        handlers += [self._http_api, *([site] if site else [])]
        upgrades = {self.events.upgrade_request_line: self.events.handle_upgrade} if self.events else {}
        self._front.serve(handlers, self._http_api.unrouted, upgrades)

    def _static_site(self) -> StaticSite | None:
        if self.profile.site_root is None:
            return None
        root = self.template.root / self.profile.site_root
        if not (root / "index.html").is_file():
            log.warning("%s is not built: the web app is not served", root)
            return None
        realtime = f"ws://{self.authority}{REALTIME_PATH}" if self.events else None
        facts = SiteFacts(
            self.issuer, self.profile.client_id, self.admin_group, self.authority if self.events else None, realtime
        )
        config = self.profile.site_config(facts) if self.profile.site_config else {}
        policies = self.template.resources_of_type("AWS::CloudFront::ResponseHeadersPolicy")
        headers = [header for lid in policies for header in security_headers(self.template.properties(lid))]
        return StaticSite(root, config, headers, api_path_patterns(self.template))

    def _start_background(self, start_schedules: bool) -> None:
        self._background = [*self._queue_pollers, *self._stream_pollers, self._ttl]
        self._background += [self._scheduler] if start_schedules else []
        if self.state and self.endpoint.embedded:
            self._saver = Saver(self.state, self._positions, self._paused)
            self._background.append(self._saver)
        for part in self._background:
            part.start()

    # ------------------------------------------------------------------ the emulator's own endpoints

    def _control(self, request: Request) -> Response | None:
        """/_local/jwks.json; POST /_local/schedules/<Function>[/<Event>] (fires a schedule now); and
        the faults (template_emulator.faults) of a stack in another process: POST /_local/faults
        {"throttle": {principal, service, operation, share, matching}}, DELETE /_local/faults, POST
        /_local/mappings/<Function>/disable|enable."""
        if request.method == "GET" and request.path == "/_local/jwks.json":
            return Response.json(200, self._signing_key.jwks())
        if request.path == "/_local/faults" or request.path.startswith("/_local/mappings/"):
            return self._fault_control(request)
        parts = request.path.split("/")[3:]
        if not (request.method == "POST" and request.path.startswith("/_local/schedules/") and 1 <= len(parts) <= 2):
            return None
        try:
            result = self._scheduler.fire(parts[0], parts[1] if len(parts) == 2 else None)
        except KeyError as error:
            return Response.json(404, {"message": str(error.args[0])})
        except FunctionError as error:
            return Response.json(500, error.error)
        return Response.json(200, {"function": parts[0], "result": result})

    def _fault_control(self, request: Request) -> Response:
        parts = request.path.split("/")[3:]
        try:
            if request.path == "/_local/faults" and request.method == "POST":
                rule = self.faults.throttle(**json.loads(request.body)["throttle"])
                return Response.json(201, {"throttle": repr(rule)})
            if request.path == "/_local/faults" and request.method == "DELETE":
                self.faults.clear()
                return Response(204, [], b"")
            if request.method == "POST" and len(parts) == 2 and parts[1] in ("disable", "enable"):
                switch = self.faults.disable_mapping if parts[1] == "disable" else self.faults.enable_mapping
                switch(parts[0])
                return Response(204, [], b"")
        except KeyError as error:
            return Response.json(404, {"message": str(error.args[0])})
        except (TypeError, ValueError) as error:
            return Response.json(400, {"message": str(error)})
        return Response.json(404, {"message": "Not Found"})

    # ------------------------------------------------------------------ state

    def _positions(self) -> dict[str, Any]:
        return {poller.name: poller.positions() for poller in self._stream_pollers}

    @contextlib.contextmanager
    def _paused(self) -> Iterator[None]:
        """No request inside moto: none at the endpoint, and no DynamoDB request either."""
        with self._gate.writing(), LOCKS.everything():
            yield

    def save_state(self) -> None:
        """Saves the state now (it is saved on stop and every few seconds anyway)."""
        if self._saver:
            self._saver.save()

    # ------------------------------------------------------------------ use

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def mint_token(self, email: str, admin: bool = False, **claims: Any) -> str:
        """A development JWT the HTTP API accepts; extra claims are added or override the defaults."""
        return self._signing_key.mint(
            email, admin, issuer=self.issuer, audience=self.profile.client_id, admin_group=self.admin_group, **claims
        )

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
    def endpoint_url(self) -> str:
        return self.endpoint.url

    @property
    def meter(self) -> Meter:
        """What this process's stacks made AWS do so far (template_emulator.metering)."""
        return METER

    def logs(self, logical_id: str) -> list[dict[str, Any]]:
        """What the function printed, one dict per line: parsed JSON, or {"message": line}."""
        return self._logbook.records(logical_id)

    def stop(self) -> None:
        """Stops the front server, pollers, schedules, workers and moto, and saves the state: nothing
        is left listening."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(AttributeError):  # parts that start-up did not reach
            self._front.stop()
        if self.events:
            self.events.stop()  # its WebSockets outlive the front server's request loop
        if self._http_api:
            self._http_api.stop()
        for part in self._background:
            part.stop()
        if self.runtime:
            self.runtime.stop()  # ends in-flight invocations, so the threads below finish promptly
        for part in self._background:
            part.join()
        if self._saver:
            self._saver.save()
        self.endpoint.stop()
