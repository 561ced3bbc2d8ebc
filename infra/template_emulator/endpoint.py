"""The AWS endpoint the emulator runs on: an embedded moto server, or AWS_ENDPOINT_URL when set (another
emulator of AWS's APIs, e.g. on localhost:4566)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from template_emulator import dynamodb
from template_emulator.dynamodb import ReadWriteLock
from template_emulator.faults import Faults
from template_emulator.metering import (
    METER,
    MeteringMiddleware,
    metered_dynamodb_call,
    operation_of,
    request_body,
    signer,
)

DEFAULT_REGION = "us-east-1"
S3_SLOW_DOWN = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


class EndpointMiddleware:
    """What stands before moto: the state gate (no request runs while the state is copied), the
    throttling faults, then the meter (a throttled request is counted too, as an error)."""

    def __init__(self, app: Callable, faults: Faults | None = None, gate: ReadWriteLock | None = None):
        self._metered = MeteringMiddleware(app)
        self._faults = faults
        self._gate = gate or ReadWriteLock()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        with self._gate.reading():
            if self._faults and (throttled := self._throttled(environ, start_response)) is not None:
                return throttled
            return self._metered(environ, start_response)

    def _throttled(self, environ: dict[str, Any], start_response: Callable) -> list[bytes] | None:
        assert self._faults
        body = request_body(environ)
        access_key, service = signer(environ)
        principal, operation = METER.principal_of(access_key), operation_of(environ, service, body)
        if not self._faults.throttled(principal, service, operation, body, environ.get("HTTP_AMZ_SDK_INVOCATION_ID")):
            return None
        METER.add(principal, service, operation, requests=1, errors=1, throttled=1)
        if service == "s3":
            start_response("503 Slow Down", [("Content-Type", "application/xml")])
            return [S3_SLOW_DOWN]
        start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
        return [json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()]


class EmbeddedMotoServer(ThreadedMotoServer):
    """moto's threaded server behind the emulator's middleware: each request counted (template_emulator.metering),
    throttled when a fault says so (template_emulator.faults), and held while the state is saved
    (template_emulator.state)."""

    def __init__(self, middleware: Callable[[Callable], Callable], **kwargs: Any):
        super().__init__(**kwargs)
        self._middleware = middleware

    def _server_entry(self) -> None:
        app = self._middleware(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class Endpoint:
    """Where the emulated functions send their AWS requests. On the embedded moto server every
    request passes `middleware` first (the meter, faults, the state gate)."""

    def __init__(self, middleware: Callable[[Callable], Callable] = EndpointMiddleware):
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        given = {name: os.environ[name] for name in CREDENTIAL_VARIABLES if os.environ.get(name)}
        self.credentials = given if "AWS_ACCESS_KEY_ID" in given else DUMMY_CREDENTIALS
        self.url = os.environ.get("AWS_ENDPOINT_URL", "")
        self._moto = None
        if not self.url:
            dynamodb.install(metered_dynamodb_call)
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request at INFO
            self._moto = EmbeddedMotoServer(middleware, ip_address="127.0.0.1", port=0, verbose=False)
            self._moto.start()
            host, port = self._moto.get_host_and_port()
            self.url = f"http://{host}:{port}"
        self._session = boto3.session.Session(
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=self.credentials.get("AWS_SESSION_TOKEN"),
            region_name=self.region,
        )

    @property
    def embedded(self) -> bool:
        return self._moto is not None

    def environment(self) -> dict[str, str]:
        """The variables that point an AWS SDK (boto3 reads AWS_ENDPOINT_URL) at this endpoint."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **self.credentials,
        }

    def client(self, service: Any, principal: str | None = None, config: Config | None = None) -> Any:
        """A client of this endpoint; on the embedded one, `principal` signs with an access key
        id of its own, so the meter counts its requests under that name."""
        if principal and self.embedded:
            return boto3.session.Session(
                aws_access_key_id=METER.access_key(principal),
                aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
                region_name=self.region,
            ).client(service, endpoint_url=self.url, config=config)
        return self._session.client(service, endpoint_url=self.url, config=config)

    def function_environment(self, principal: str) -> dict[str, str]:
        """What a function's worker needs beyond environment(): its own access key id (embedded only)."""
        return {"AWS_ACCESS_KEY_ID": METER.access_key(principal)} if self.embedded else {}

    def stop(self) -> None:
        if self._moto:
            self._moto.stop()
            if self._moto._server:  # stop() leaves the listening socket open
                self._moto._server.server_close()
            self._moto = None
