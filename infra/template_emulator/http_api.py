"""Serves the template's HttpApi routes as API Gateway does: payload format 2.0 and the JWT authorizer."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from template_emulator.auth import JwtAuthorizer, Unauthorized, request_context_claims
from template_emulator.front import Request, Response
from template_emulator.metering import record_access_log, record_http_request
from template_emulator.runtime import FunctionError
from template_emulator.template import ACCOUNT_ID, Template, merge_globals

log = logging.getLogger("template_emulator.http")

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


def local_issuer_parameters(template: Template, issuer: str, audience: str) -> dict[str, str]:
    """Template parameters feeding a JWT authorizer's issuer or audience, set to the local development issuer.

    Locally every JWT authorizer checks tokens of the development key (template_emulator.auth), so these parameters
    need no value from the user, and functions reading them see the issuer actually in force.
    """
    values = {}
    for api in _http_apis(template):
        for authorizer in _api_properties(template, api).get("Auth", {}).get("Authorizers", {}).values():
            configuration = authorizer.get("JwtConfiguration", {})
            references = [(configuration.get("issuer"), issuer)]
            references += [(value, audience) for value in configuration.get("audience", [])]
            for value, local in references:
                if isinstance(value, dict) and value.get("Ref") in template.raw.get("Parameters", {}):
                    values[value["Ref"]] = local
    return values


def routes_from_template(template: Template, jwks: dict[str, Any], issuer: str, audience: str) -> list[Route]:
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
                    [audience],
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


def integration_response(result: Any) -> Response:
    """A function's result read as API Gateway reads payload format 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return Response.json(200, result)
    body = result.get("body") or ""
    body = body if isinstance(body, str) else json.dumps(body)
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
    headers += [("set-cookie", cookie) for cookie in result.get("cookies") or []]
    return Response(
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


# ---------------------------------------------------------------------- the handler


class HttpApi:
    """The template's HTTP API routes, as a handler of the front server: a request a route takes is
    authorized, turned into a payload 2.0 event and answered by the function, within the route's
    timeout; `unrouted` answers the rest as API Gateway does (404)."""

    def __init__(self, routes: list[Route], invoke: Callable[[str, Any], Any], token_hint: str = ""):
        self.routes = routes
        self._invoke = invoke
        self._token_hint = token_hint
        # Invocations run beside the request thread, so a request can give up at API Gateway's timeout.
        self._invocations = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="http-invoke")

    def __call__(self, request: Request) -> Response | None:
        found = find_route(self.routes, request.method, request.path)
        return None if found is None else self._answer(request, found)

    def unrouted(self, request: Request) -> Response:
        return self._answer(request, None)

    def _answer(self, request: Request, found: tuple[Route, dict[str, str]] | None) -> Response:
        request_id = base64.b64encode(os.urandom(10)).decode()
        started = time.monotonic()
        response, claims = self._route(request, found, request_id)
        # What API Gateway bills (a request per 512 KB) and logs (an access log line).
        record_http_request(f"{request.method} {templated(request.path)}", len(request.body), len(response.body))
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
                log.warning("401 %s %s: %s%s", request.method, request.path, error, self._hint(error))
                unauthorized = Response.json(
                    401, {"message": "Unauthorized"}, ("www-authenticate", error.www_authenticate)
                )
                return unauthorized, None
        event = api_gateway_event(route, path_parameters, request, claims, request_id)
        return self._integrate(route, event), claims

    def _hint(self, error: Unauthorized) -> str:
        return f" ({self._token_hint})" if self._token_hint and error.wrong_issuer else ""

    def _integrate(self, route: Route, event: dict[str, Any]) -> Response:
        invocation = self._invocations.submit(self._invoke, route.function, event)
        try:
            return integration_response(invocation.result(timeout=route.timeout))
        except concurrent.futures.TimeoutError:
            return Response.json(503, {"message": "Service Unavailable"})
        except FunctionError as error:  # includes the function's own timeout, reported by Lambda as a function error
            log.warning("%s", error)
            return Response.json(500, {"message": "Internal Server Error"})
        except (TypeError, ValueError) as error:
            log.warning("%s: malformed response: %s", route.function, error)
            return Response.json(500, {"message": "Internal Server Error"})

    def stop(self) -> None:
        self._invocations.shutdown(wait=False, cancel_futures=True)
