"""The template's AppSync Events APIs, played on the local HTTP server's own port, as AWS serves them:

- the HTTP publish endpoint, `POST /event` `{"channel", "events": [<JSON strings>]}`, for IAM
  callers only: the request must carry a valid SigV4 signature (service "appsync"), and a function
  must hold appsync:EventPublish in its template policies;
- the realtime endpoint, `GET /event/realtime`, a WebSocket with AppSync Events' subprotocol
  (`aws-appsync-event-ws`, the connection's authorization in a `header-<base64url JSON>`
  subprotocol) and messages: connection_init/ack, ka, subscribe (with its own authorization) and
  subscribe_success/error, data, unsubscribe/unsubscribe_success, error;
- OIDC tokens checked as AppSync checks them (the API's issuer and client id), and each channel
  namespace's on-subscribe handler (HandlerConfigs.OnSubscribe, a Lambda data source) invoked as a
  function of the template with AppSync's event; it admits a subscription by returning nothing.

The page and the API share one origin locally, so the web app's CSP ('self') covers the socket.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from template_emulator.auth import JwtAuthorizer, Unauthorized
from template_emulator.front import Request, Response
from template_emulator.metering import CLIENT, METER
from template_emulator.runtime import FunctionError
from template_emulator.template import FUNCTION_TYPE, Template, TemplateError

log = logging.getLogger("template_emulator.appsync_events")

API_TYPE = "AWS::AppSync::Api"
NAMESPACE_TYPE = "AWS::AppSync::ChannelNamespace"
PUBLISH_PATH = "/event"
REALTIME_PATH = "/event/realtime"
SUBPROTOCOL = "aws-appsync-event-ws"
CONNECTION_TIMEOUT_MS = 300_000  # what AppSync announces in connection_ack
KEEP_ALIVE_SECONDS = 60
MAX_EVENTS_PER_PUBLISH = 5
MAX_EVENT_BYTES = 240 * 1024
SIGNATURE_MAX_SKEW_S = 300
SEGMENT = re.compile(r"^[A-Za-z0-9-]{1,50}$")
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<headers>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class Refused(Exception):
    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error = {"errorType": error_type, "message": message}


@dataclass(frozen=True)
class Namespace:
    name: str
    on_subscribe: str | None  # the logical id of the function the OnSubscribe handler invokes


@dataclass
class Subscriptions:
    """Who listens to what: connection -> subscription id -> channel path."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    by_connection: dict[ServerConnection, dict[str, str]] = field(default_factory=dict)

    def add(self, connection: ServerConnection, subscription_id: str, channel: str) -> None:
        with self.lock:
            self.by_connection.setdefault(connection, {})[subscription_id] = channel

    def remove(self, connection: ServerConnection, subscription_id: str | None = None) -> bool:
        with self.lock:
            if subscription_id is None:
                return self.by_connection.pop(connection, None) is not None
            return self.by_connection.get(connection, {}).pop(subscription_id, None) is not None

    def listening_to(self, channel: str) -> list[tuple[ServerConnection, str]]:
        with self.lock:
            return [
                (connection, subscription_id)
                for connection, subscribed in self.by_connection.items()
                for subscription_id, pattern in subscribed.items()
                if channel_matches(pattern, channel)
            ]


def channel_segments(path: Any, wildcard: bool) -> list[str]:
    """The segments of a channel path: /namespace/segment... (at most 5), ending in * only when
    subscribing. Raises Refused for anything else."""
    segments = path[1:].split("/") if isinstance(path, str) and path.startswith("/") else []
    named = segments[:-1] if wildcard and len(segments) > 1 and segments[-1] == "*" else segments
    if not 1 <= len(segments) <= 5 or not all(SEGMENT.match(segment) for segment in named):
        raise Refused("BadRequestException", f"invalid channel path: {path!r}")
    return segments


def channel_matches(pattern: str, channel: str) -> bool:
    if pattern.endswith("/*"):
        return channel.startswith(pattern[:-1])
    return pattern == channel


class EventsApi:
    """One AWS::AppSync::Api with an EventConfig, served by the local HTTP server."""

    publish_path = PUBLISH_PATH
    upgrade_request_line = f"GET {REALTIME_PATH}".encode()  # how the HTTP server tells a realtime connection

    def __init__(
        self,
        template: Template,
        logical_id: str,
        authority: str,
        jwks: dict[str, Any],
        invoke: Callable[[str, Any], Any],
        secret_key: str,
    ):
        properties = template.properties(logical_id)
        self.domain = authority  # host:port of the local HTTP server: both endpoints live there
        self.region = template.region
        self._invoke = invoke
        self._secret_key = secret_key
        oidc = [
            provider["OpenIDConnectConfig"]
            for provider in properties["EventConfig"]["AuthProviders"]
            if provider["AuthType"] == "OPENID_CONNECT"
        ]
        self._oidc = [JwtAuthorizer(config["Issuer"], [config.get("ClientId", "")], jwks) for config in oidc]
        self.namespaces = {namespace.name: namespace for namespace in namespaces_of(template, logical_id)}
        self._functions = set(template.resources_of_type(FUNCTION_TYPE))
        self._publishers = publishers_of(template, logical_id)
        self._subscriptions = Subscriptions()
        # Connections are handed over by the HTTP server (handle_upgrade); this server object
        # only runs their handshake and handler, so its own socket never listens.
        self._server = serve(
            self._serve_connection,
            sock=socket.socket(),
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            process_request=self._check_connection,
            ping_interval=None,  # AppSync keeps connections alive with "ka" messages, not pings
            compression=None,
        )

    @staticmethod
    def record_attributes(template: Template, authority: str) -> None:
        """Both endpoints of every Events API are the local HTTP server (host:port): recorded before
        anything resolves them (environment variables, the web app's CSP)."""
        for logical_id in template.resources_of_type(API_TYPE):
            template.record(logical_id, **{"Dns.Http": authority, "Dns.Realtime": authority})

    # ------------------------------------------------------------------ publish (HTTP, IAM)

    def __call__(self, request: Request) -> Response | None:
        """The front server's handler: the publish endpoint's requests are its own."""
        return self.publish(request) if request.path == self.publish_path else None

    def publish(self, request: Request) -> Response:
        if request.method != "POST":
            return Response.json(405, {"errors": [{"errorType": "MethodNotAllowed", "message": "POST only"}]})
        try:
            principal = self._check_signature(request)
            body = json.loads(request.body)
            events = body.get("events") if isinstance(body, dict) else None
            segments = channel_segments(body.get("channel") if isinstance(body, dict) else None, wildcard=False)
            channel = "/" + "/".join(segments)
            if segments[0] not in self.namespaces:
                raise Refused("BadRequestException", f"no channel namespace {segments[0]}")
            if principal in self._functions and principal not in self._publishers:
                raise Refused("UnauthorizedException", "You are not authorized to make this call.")
            if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS_PER_PUBLISH:
                raise Refused("BadRequestException", f"events: 1 to {MAX_EVENTS_PER_PUBLISH} JSON strings")
        except Refused as refusal:
            status = 401 if refusal.error["errorType"] == "UnauthorizedException" else 400
            return Response.json(status, {"errors": [refusal.error]})
        except ValueError:
            return Response.json(400, {"errors": [{"errorType": "BadRequestException", "message": "invalid JSON"}]})
        successful, failed = [], []
        listeners = self._subscriptions.listening_to(channel)
        for index, event in enumerate(events):
            identifier = str(uuid.uuid4())
            if not isinstance(event, str) or len(event.encode()) > MAX_EVENT_BYTES or not _is_json(event):
                failed.append({"identifier": identifier, "index": index, "code": 400, "message": "not a JSON string"})
                continue
            successful.append({"identifier": identifier, "index": index})
            for connection, subscription_id in listeners:
                self._send(connection, {"type": "data", "id": subscription_id, "event": event})
        METER.add(principal, "appsync", "EventPublish", operations=len(successful))
        METER.add(CLIENT, "appsync", "EventDelivery", operations=len(successful) * len(listeners))
        return Response.json(200, {"failed": failed, "successful": successful})

    def _check_signature(self, request: Request) -> str:
        """The principal whose SigV4 signature the request carries; raises Refused otherwise."""
        headers = request.joined_headers()
        match = AUTHORIZATION.match(headers.get("authorization", ""))
        if not match or match["service"] != "appsync" or match["region"] != self.region:
            raise Refused("UnauthorizedException", "publishing needs an IAM (SigV4, service appsync) signature")
        stamp = headers.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise Refused("UnauthorizedException", "X-Amz-Date is missing or malformed") from None
        if abs(time.time() - signed_at.timestamp()) > SIGNATURE_MAX_SKEW_S:
            raise Refused("UnauthorizedException", "the signature has expired")
        signed_names = match["headers"].split(";")
        copy = AWSRequest(
            request.method,
            f"http://{headers.get('host', self.domain)}{request.target}",
            data=request.body,
            headers={name: headers[name] for name in signed_names if name in headers},
        )
        copy.context["timestamp"] = stamp
        signer = SigV4Auth(
            Credentials(match["key"], self._secret_key, headers.get("x-amz-security-token")), "appsync", self.region
        )
        expected = signer.signature(signer.string_to_sign(copy, signer.canonical_request(copy)), copy)
        if expected != match["signature"]:
            raise Refused("UnauthorizedException", "the request signature does not match")
        return METER.principal_of(match["key"])

    # ------------------------------------------------------------------ realtime (WebSocket)

    def handle_upgrade(self, sock: socket.socket, address: Any) -> None:
        """Runs a WebSocket connection the HTTP server received on REALTIME_PATH, to its end."""
        self._server.handler(sock, address)

    def _check_connection(self, connection: ServerConnection, request: Any) -> Any:
        if request.path.split("?")[0] != REALTIME_PATH:
            return connection.respond(404, "Not Found\n")
        offered = [p.strip() for value in request.headers.get_all("Sec-WebSocket-Protocol") for p in value.split(",")]
        header = next((p[len("header-") :] for p in offered if p.startswith("header-")), None)
        try:
            authorization = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))) if header else {}
            self._claims(authorization)
        except (Refused, ValueError, binascii.Error, AttributeError):
            return connection.respond(401, "Unauthorized\n")
        return None

    def _serve_connection(self, connection: ServerConnection) -> None:
        opened = time.monotonic()
        keep_alive = threading.Event()
        threading.Thread(target=self._keep_alive, args=(connection, keep_alive), daemon=True).start()
        try:
            for message in connection:
                self._on_message(connection, message)
        except ConnectionClosed:
            pass
        finally:
            keep_alive.set()
            self._subscriptions.remove(connection)
            METER.add(CLIENT, "appsync", "ConnectionMinutes", minutes=(time.monotonic() - opened) / 60)

    def _keep_alive(self, connection: ServerConnection, stopped: threading.Event) -> None:
        while not stopped.wait(KEEP_ALIVE_SECONDS):
            self._send(connection, {"type": "ka"})

    def _on_message(self, connection: ServerConnection, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
            kind = message.get("type") if isinstance(message, dict) else None
        except ValueError:
            kind, message = None, {}
        if kind == "connection_init":
            self._send(connection, {"type": "connection_ack", "connectionTimeoutMs": CONNECTION_TIMEOUT_MS})
        elif kind == "subscribe":
            self._subscribe(connection, message)
        elif kind == "unsubscribe":
            subscription_id = message.get("id")
            if self._subscriptions.remove(connection, subscription_id):
                self._send(connection, {"type": "unsubscribe_success", "id": subscription_id})
            else:
                error = {"errorType": "UnknownOperationError", "message": "no such subscription"}
                self._send(connection, {"type": "unsubscribe_error", "id": subscription_id, "errors": [error]})
        else:
            error = {"errorType": "UnsupportedOperation", "message": f"unsupported message type: {kind!r}"}
            self._send(connection, {"type": "error", "id": message.get("id"), "errors": [error]})

    def _subscribe(self, connection: ServerConnection, message: dict[str, Any]) -> None:
        subscription_id = message.get("id")
        try:
            if not isinstance(subscription_id, str) or not subscription_id:
                raise Refused("BadRequestException", "a subscription needs an id")
            segments = channel_segments(message.get("channel"), wildcard=True)
            channel = "/" + "/".join(segments)
            namespace = self.namespaces.get(segments[0])
            if namespace is None:
                raise Refused("BadRequestException", f"no channel namespace {segments[0]}")
            claims = self._claims(message.get("authorization"))
            if namespace.on_subscribe:
                self._on_subscribe(namespace, channel, segments, claims)
        except Refused as refusal:
            self._send(connection, {"type": "subscribe_error", "id": subscription_id, "errors": [refusal.error]})
            return
        self._subscriptions.add(connection, subscription_id, channel)
        METER.add(CLIENT, "appsync", "Subscribe", operations=1)
        self._send(connection, {"type": "subscribe_success", "id": subscription_id})

    def _claims(self, authorization: Any) -> dict[str, Any]:
        """The claims of an OIDC token in an `{"Authorization": <token>, "host": ...}` object, checked
        as AppSync checks them; raises Refused otherwise."""
        token = authorization.get("Authorization") if isinstance(authorization, dict) else None
        if not isinstance(token, str) or not token:
            raise Refused("UnauthorizedException", "an OIDC token is required")
        for authorizer in self._oidc:
            try:
                return authorizer.authorize({"authorization": token})
            except Unauthorized:
                continue
        raise Refused("UnauthorizedException", "the token is not valid for this API")

    def _on_subscribe(self, namespace: Namespace, channel: str, segments: list[str], claims: dict[str, Any]) -> None:
        assert namespace.on_subscribe
        event = {
            "identity": {"sub": claims.get("sub"), "issuer": claims.get("iss"), "claims": claims},
            "info": {
                "channel": {"path": channel, "segments": segments},
                "channelNamespace": {"name": namespace.name},
                "operation": "SUBSCRIBE",
            },
            "request": {"headers": {}, "domainName": None},
            "stash": {},
            "outErrors": [],
            "events": None,
        }
        try:
            result = self._invoke(namespace.on_subscribe, event)
        except FunctionError as error:
            if error.error.get("errorType") == "UnauthorizedException":
                raise Refused("UnauthorizedException", error.error.get("errorMessage", "Unauthorized")) from None
            log.warning("%s failed on subscribe to %s: %s", namespace.on_subscribe, channel, error)
            raise Refused("InternalFailureException", "the subscribe handler failed") from None
        if isinstance(result, dict) and result.get("error"):
            raise Refused("CustomError", str(result["error"]))

    def _send(self, connection: ServerConnection, message: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):  # a closed connection has stopped listening
            connection.send(json.dumps(message))

    def stop(self) -> None:
        with self._server.lock:
            connections = list(self._server.all_connections)
        for connection in connections:
            connection.close(1001)
        self._server.socket.close()


def namespaces_of(template: Template, api_logical_id: str) -> list[Namespace]:
    namespaces = []
    for namespace in template.resources_of_type(NAMESPACE_TYPE).values():
        properties = namespace.get("Properties", {})
        if template.referenced_resource(properties.get("ApiId")) != api_logical_id:
            continue
        handler = properties.get("HandlerConfigs", {}).get("OnSubscribe")
        function = None
        if handler:
            data_source = template.referenced_resource(handler["Integration"]["DataSourceName"])
            if data_source is None:
                raise TemplateError("an OnSubscribe handler must name a data source of the template")
            lambda_config = template.resources[data_source]["Properties"]["LambdaConfig"]
            function = template.referenced_resource(lambda_config["LambdaFunctionArn"])
        namespaces.append(Namespace(name=str(template.resolve(properties["Name"])), on_subscribe=function))
    return namespaces


def publishers_of(template: Template, api_logical_id: str) -> set[str]:
    """Functions whose template policies allow appsync:EventPublish on this API's namespaces."""
    namespace_ids = {
        logical_id
        for logical_id, namespace in template.resources_of_type(NAMESPACE_TYPE).items()
        if template.referenced_resource(namespace.get("Properties", {}).get("ApiId")) == api_logical_id
    }
    publishers = set()
    for logical_id, resource in template.resources_of_type(FUNCTION_TYPE).items():
        for policy in resource.get("Properties", {}).get("Policies", []):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                targets = template.references(statement.get("Resource"))
                if statement.get("Effect") == "Allow" and "appsync:EventPublish" in actions and targets & namespace_ids:
                    publishers.add(logical_id)
    return publishers


def events_api(
    template: Template, authority: str, jwks: dict[str, Any], invoke: Callable[[str, Any], Any], secret_key: str
) -> EventsApi | None:
    """The template's Events API, if it has one (its endpoints' paths are fixed, so one per port)."""
    apis = [
        lid for lid, res in template.resources_of_type(API_TYPE).items() if "EventConfig" in res.get("Properties", {})
    ]
    if len(apis) > 1:
        raise TemplateError(f"the emulator serves one AppSync Events API, not {len(apis)}")
    return EventsApi(template, apis[0], authority, jwks, invoke, secret_key) if apis else None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
