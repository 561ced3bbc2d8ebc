"""Serves the template's HttpApi routes as API Gateway does: payload format 2.0 and the JWT authorizer."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from infra.auth import LOCAL_AUDIENCE, LOCAL_ISSUER, JwtAuthorizer, Unauthorized, request_context_claims
from infra.metering import record_access_log, record_http_request
from infra.runtime import FunctionError
from infra.template import ACCOUNT_ID, Template, merge_globals

if TYPE_CHECKING:
    from infra.appsync_events import EventsApi

log = logging.getLogger("infra.http")

API_TIMEOUT = 30  # seconds: API Gateway's cap on an integration
TEXT_TYPES = {"application/json", "application/xml", "application/javascript"}


# ---------------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, ... or ANY
    path: str  # e.g. /api/v1/{proxy+}, or $default
    function: str  # logical id
    api_id: str = "local"
    authorizer: JwtAuthorizer | None = None
    timeout: float = API_TIMEOUT
    access_log_format: str | None = None  # the API's AccessLogSettings.Format
    api: str = "HttpApi"  # the API's logical id

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    @property
    def priority(self) -> tuple:
        """API Gateway picks the most specific route: exact segments, then {param}, then {proxy+}; then exact method."""
        if self.path == "$default":
            return (), False
        ranks = tuple(0 if part.endswith("+}") else 1 if part.startswith("{") else 2 for part in _segments(self.path))
        return ranks, self.method != "ANY"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route takes the request, else None."""
        if self.method not in ("ANY", method):
            return None
        if self.path == "$default":
            return {}
        requested = [unquote(part) for part in _segments(path)]
        own = _segments(self.path)
        parameters = {}
        for index, part in enumerate(own):
            if index >= len(requested):
                return None
            if part.endswith("+}"):  # greedy: takes the rest of the path, at least one segment
                parameters[part[1:-2]] = "/".join(requested[index:])
                return parameters
            if part.startswith("{"):
                parameters[part[1:-1]] = requested[index]
            elif part != requested[index]:
                return None
        return parameters if len(requested) == len(own) else None


def _segments(path: str) -> list[str]:
    path = path.strip("/")
    return path.split("/") if path else []


def find_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    matches = [(route, parameters) for route in routes if (parameters := route.match(method, path)) is not None]
    return max(matches, key=lambda match: match[0].priority, default=None)


def _api_properties(template: Template, api_logical_id: str | None) -> dict[str, Any]:
    own = template.resources[api_logical_id].get("Properties", {}) if api_logical_id else {}
    return merge_globals(template.global_section("HttpApi"), own)


def _http_apis(template: Template) -> list[str | None]:
    """Every HttpApi resource, and None for SAM's implicit API of events without ApiId."""
    return [*template.resources_of_type("AWS::Serverless::HttpApi"), None]


def local_issuer_parameters(template: Template, issuer: str = LOCAL_ISSUER) -> dict[str, str]:
    """Template parameters feeding a JWT authorizer's issuer or audience, set to the local development issuer.

    Locally every JWT authorizer checks tokens of the development key (infra.auth), so these parameters
    need no value from the user, and functions reading them see the issuer actually in force.
    """
    values = {}
    for api in _http_apis(template):
        for authorizer in _api_properties(template, api).get("Auth", {}).get("Authorizers", {}).values():
            configuration = authorizer.get("JwtConfiguration", {})
            references = [(configuration.get("issuer"), issuer)]
            references += [(audience, LOCAL_AUDIENCE) for audience in configuration.get("audience", [])]
            for value, local in references:
                if isinstance(value, dict) and value.get("Ref") in template.raw.get("Parameters", {}):
                    values[value["Ref"]] = local
    return values


def routes_from_template(template: Template, jwks: dict[str, Any], issuer: str = LOCAL_ISSUER) -> list[Route]:
    routes = []
    for function in template.functions().values():
        for event in function.events_of_type("HttpApi").values():
            api = template.referenced_resource(event.get("ApiId"))
            auth = _api_properties(template, api).get("Auth", {})
            authorizer_name = event.get("Auth", {}).get("Authorizer", auth.get("DefaultAuthorizer"))
            authorizer = None
            if authorizer_name not in (None, "NONE"):
                settings = auth["Authorizers"][authorizer_name]
                if "JwtConfiguration" not in settings:
                    raise ValueError(f"{function.logical_id}: only JWT authorizers run locally")
                authorizer = JwtAuthorizer(
                    issuer,
                    [LOCAL_AUDIENCE],
                    jwks,
                    settings.get("IdentitySource", "$request.header.Authorization"),
                )
            access_log = _api_properties(template, api).get("AccessLogSettings", {}).get("Format")
            routes.append(
                Route(
                    access_log_format=access_log if isinstance(access_log, str) else None,
                    api=api or "ServerlessHttpApi",
                    method=str(event.get("Method", "ANY")).upper(),
                    path=event.get("Path", "$default"),
                    function=function.logical_id,
                    api_id=template.attribute(api) if api else "local",
                    authorizer=authorizer,
                    timeout=min(API_TIMEOUT, int(event.get("TimeoutInMillis", API_TIMEOUT * 1000)) / 1000),
                )
            )
    return routes


# ---------------------------------------------------------------------- payload format 2.0


@dataclass
class Request:
    method: str
    target: str  # path and query, as sent
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str

    def joined_headers(self) -> dict[str, str]:
        """Lowercased names; repeated headers joined by commas, as API Gateway passes them."""
        joined: dict[str, str] = {}
        for name, value in self.headers:
            name = name.lower()
            joined[name] = f"{joined[name]},{value}" if name in joined else value
        return joined


def api_gateway_event(
    route: Route, path_parameters: dict[str, str], request: Request, claims: dict[str, Any] | None, request_id: str
) -> dict[str, Any]:
    raw_path, _, raw_query = request.target.partition("?")
    headers = request.joined_headers()
    cookie_header = headers.pop("cookie", "")
    host = headers.get("host", "")
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookie_header:
        event["cookies"] = [cookie.strip() for cookie in cookie_header.split(";") if cookie.strip()]
    event["headers"] = headers
    if raw_query:
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": route.api_id,
        **(
            {"authorizer": {"jwt": {"claims": request_context_claims(claims), "scopes": None}}}
            if claims is not None
            else {}
        ),
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if path_parameters:
        event["pathParameters"] = path_parameters
    is_text = _is_text(headers.get("content-type", ""))
    if request.body:
        event["body"] = request.body.decode("utf-8", "replace") if is_text else base64.b64encode(request.body).decode()
    event["isBase64Encoded"] = bool(request.body) and not is_text
    return event


def _is_text(content_type: str) -> bool:
    mime = content_type.split(";")[0].strip().lower()
    return mime.startswith("text/") or mime in TEXT_TYPES or mime.endswith(("+json", "+xml"))


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def json(cls, status: int, payload: Any, *headers: tuple[str, str]) -> Response:
        return cls(status, [("content-type", "application/json"), *headers], json.dumps(payload).encode())

    @classmethod
    def from_result(cls, result: Any) -> Response:
        """A function's result read as API Gateway reads payload format 2.0."""
        if not (isinstance(result, dict) and "statusCode" in result):
            return cls.json(200, result)
        body = result.get("body") or ""
        body = body if isinstance(body, str) else json.dumps(body)
        headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
        headers += [("set-cookie", cookie) for cookie in result.get("cookies") or []]
        return cls(
            int(result["statusCode"]),
            headers,
            base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8"),
        )


# ---------------------------------------------------------------------- metering

ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}", re.IGNORECASE)
CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")


def templated(path: str) -> str:
    """A request path with its ids replaced, so requests to one route count on one line."""
    return ULID.sub("{id}", path)


def access_log_line(route: Route, request_id: str, status: int, claims: dict[str, Any] | None, elapsed_s: float) -> str:
    """The access log line API Gateway would write for this request, from the API's format."""
    latency = str(round(elapsed_s * 1000))
    values = {
        "requestId": request_id,
        "routeKey": route.route_key,
        "status": str(status),
        "responseLatency": latency,
        "integrationLatency": latency,
        "authorizer.claims.sub": str((claims or {}).get("sub", "-")),
        "error.message": "-" if status < 400 else "error",
    }
    return CONTEXT_VARIABLE.sub(lambda match: values.get(match.group(1), "-"), route.access_log_format or "")


# ---------------------------------------------------------------------- server


# A page of the local stack's own: its response, or None when the path is not one of its own.
Page = Callable[[Request, str], Response | None]


class HttpApi:
    """Routes requests to functions; also serves the local extras under /_local/ and, at every other path
    that no route takes (outside /api/), the web app, as CloudFront sends those to the web bucket."""

    def __init__(self, port: int = 3000):
        # Bound before anything else, so that the port, and with it the local issuer, is known when the
        # template's parameters are resolved; requests wait in the listen backlog until serve().
        self._server = _Server(port, self)
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        self.events: EventsApi | None = None
        # Invocations run beside the request thread, so a request can give up at API Gateway's timeout.
        self._invocations = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="http-invoke")

    def serve(
        self,
        routes: list[Route],
        invoke: Callable[[str, Any], Any],
        jwks: dict[str, Any],
        fire_schedule: Callable[[str, str | None], Any],
        local_pages: list[Page] | None = None,
        web_app: Callable[[Request, str], Response] | None = None,
        events: EventsApi | None = None,
    ) -> None:
        self.routes = routes
        self.events = events
        self._invoke = invoke
        self._jwks = jwks
        self._fire_schedule = fire_schedule
        self._local_pages = local_pages or []
        self._web_app = web_app
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, request: Request) -> Response:
        request_id = base64.b64encode(os.urandom(10)).decode()
        path = urlsplit(request.target).path
        found = None if path.startswith("/_local/") else find_route(self.routes, request.method, path)
        if path.startswith("/_local/"):
            response = self._local(request, path)
        elif self.events and path == self.events.publish_path:
            response = self.events.publish(request)  # AppSync Events' own domain in AWS
        elif found is None and self._web_app and not path.startswith("/api/"):
            response = self._web_app(request, path)  # CloudFront and the web bucket in AWS, not the HTTP API
        else:
            started = time.monotonic()
            response, claims = self._route(request, found, request_id)
            # What API Gateway bills (a request per 512 KB) and logs (an access log line).
            record_http_request(f"{request.method} {templated(path)}", len(request.body), len(response.body))
            if found and found[0].access_log_format:
                line = access_log_line(found[0], request_id, response.status, claims, time.monotonic() - started)
                record_access_log(f"{found[0].api} access logs", line)
        response.headers.append(("apigw-requestid", request_id))
        return response

    def _route(
        self, request: Request, found: tuple[Route, dict[str, str]] | None, request_id: str
    ) -> tuple[Response, dict[str, Any] | None]:
        if found is None:
            return Response.json(404, {"message": "Not Found"}), None
        route, path_parameters = found
        claims = None
        if route.authorizer:
            try:
                claims = route.authorizer.authorize(request.joined_headers())
            except Unauthorized as error:
                unauthorized = Response.json(
                    401, {"message": "Unauthorized"}, ("www-authenticate", error.www_authenticate)
                )
                return unauthorized, None
        event = api_gateway_event(route, path_parameters, request, claims, request_id)
        return self._integrate(route, event), claims

    def _integrate(self, route: Route, event: dict[str, Any]) -> Response:
        invocation = self._invocations.submit(self._invoke, route.function, event)
        try:
            return Response.from_result(invocation.result(timeout=route.timeout))
        except concurrent.futures.TimeoutError:
            return Response.json(503, {"message": "Service Unavailable"})
        except FunctionError as error:  # includes the function's own timeout, reported by Lambda as a function error
            log.warning("%s", error)
            return Response.json(500, {"message": "Internal Server Error"})
        except (TypeError, ValueError) as error:
            log.warning("%s: malformed response: %s", route.function, error)
            return Response.json(500, {"message": "Internal Server Error"})

    def _local(self, request: Request, path: str) -> Response:
        if request.method == "GET" and path == "/_local/jwks.json":
            return Response.json(200, self._jwks)
        parts = path.split("/")[3:]  # /_local/schedules/<Function>[/<Event>]
        if request.method == "POST" and path.startswith("/_local/schedules/") and 1 <= len(parts) <= 2:
            try:
                result = self._fire_schedule(parts[0], parts[1] if len(parts) == 2 else None)
            except KeyError as error:
                return Response.json(404, {"message": str(error.args[0])})
            except FunctionError as error:
                return Response.json(500, error.error)
            return Response.json(200, {"function": parts[0], "result": result})
        for page in self._local_pages:
            if (response := page(request, path)) is not None:
                return response
        return Response.json(404, {"message": "Not Found"})

    def stop(self) -> None:
        if self._thread:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
        if self.events:
            self.events.stop()  # its WebSockets outlive the HTTP server's request loop
        self._invocations.shutdown(wait=False, cancel_futures=True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, api: HttpApi):
        super().__init__(("127.0.0.1", port), _RequestHandler)
        self.api = api


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body waits for the
    # client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    server: _Server

    def handle(self) -> None:
        events = self.server.api.events
        if events and _peek(self.connection, events.upgrade_request_line):
            events.handle_upgrade(self.connection, self.client_address)  # runs the WebSocket to its end
            self.close_connection = True
            return
        super().handle()

    def _handle(self) -> None:
        started = time.monotonic()
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        request = Request(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        response = self.server.api.handle(request)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        log.info("%s %s %d %.1f ms", self.command, self.path, response.status, (time.monotonic() - started) * 1000)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_TRACE = do_QUERY = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # _handle logs one line per request


def _peek(sock: socket.socket, prefix: bytes) -> bool:
    """Whether the connection's first bytes are `prefix`, leaving them unread."""
    try:
        return sock.recv(len(prefix), socket.MSG_PEEK | socket.MSG_WAITALL) == prefix
    except OSError:
        return False
