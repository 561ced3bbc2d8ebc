"""Route selection, the payload 2.0 event and the response mapping, as API Gateway does them."""

import base64
from pathlib import Path

import pytest

from infra.auth import SigningKey
from infra.http_api import (
    Request,
    Response,
    Route,
    api_gateway_event,
    find_route,
    local_issuer_parameters,
    routes_from_template,
)
from infra.template import Template

ROOT = Path(__file__).parents[2]

ROUTES = [
    Route("ANY", "/api/v1/{proxy+}", "Proxy"),
    Route("GET", "/api/v1/health", "Health"),
    Route("GET", "/api/v1/rooms/{room_id}", "Room"),
    Route("ANY", "/api/v1/rooms/{room_id}", "AnyRoom"),
    Route("GET", "/api/v1/rooms/{room_id}/snapshots/{id}", "Snapshot"),
]


@pytest.mark.parametrize(
    ("method", "path", "function", "parameters"),
    [
        ("GET", "/api/v1/health", "Health", {}),
        ("POST", "/api/v1/health", "Proxy", {"proxy": "health"}),
        ("GET", "/api/v1/rooms/r%201", "Room", {"room_id": "r 1"}),
        ("DELETE", "/api/v1/rooms/r1", "AnyRoom", {"room_id": "r1"}),
        ("GET", "/api/v1/rooms/r1/snapshots/s1", "Snapshot", {"room_id": "r1", "id": "s1"}),
        ("GET", "/api/v1/rooms/r1/snapshots/s1/download", "Proxy", {"proxy": "rooms/r1/snapshots/s1/download"}),
    ],
)
def test_the_most_specific_route_wins(method, path, function, parameters):
    route, found_parameters = find_route(ROUTES, method, path)

    assert (route.function, found_parameters) == (function, parameters)


@pytest.mark.parametrize("path", ["/api/v1", "/api", "/other/v1/health"])
def test_paths_outside_every_route_find_nothing(path):
    assert find_route(ROUTES, "GET", path) is None


def test_routes_come_from_the_template_with_their_authorizers(tmp_path):
    jwks = SigningKey.load_or_create(tmp_path / "key.pem").jwks()
    template = Template(ROOT / "template.yaml")
    template.set_parameters(local_issuer_parameters(template))  # as the local stack runs it
    routes = {route.route_key: route for route in routes_from_template(template, jwks)}

    assert routes["GET /api/v1/health"].authorizer is None  # Auth: {Authorizer: NONE}
    assert routes["POST /api/v1/verify"].authorizer is None  # the verify function checks a token itself
    assert routes["POST /api/v1/verify"].function == "VerifyFunction"
    assert routes["ANY /api/v1/{proxy+}"].authorizer is not None  # the API's DefaultAuthorizer
    assert routes["ANY /api/v1/{proxy+}"].function == "ApiFunction"


def test_event_follows_payload_format_2():
    route = Route("POST", "/items/{id}", "Fn", api_id="api1")
    request = Request(
        "POST",
        "/items/7?tag=a&tag=b&empty=",
        [
            ("Host", "127.0.0.1:3000"),
            ("Content-Type", "application/json"),
            ("X-Dup", "1"),
            ("x-dup", "2"),
            ("Cookie", "a=1; b=2"),
            ("User-Agent", "tests"),
        ],
        b'{"x": 1}',
        "10.0.0.1",
    )

    event = api_gateway_event(route, {"id": "7"}, request, {"sub": "u1", "groups": ["a", "b"]}, "req-1")

    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /items/{id}"
    assert (event["rawPath"], event["rawQueryString"]) == ("/items/7", "tag=a&tag=b&empty=")
    assert event["queryStringParameters"] == {"tag": "a,b", "empty": ""}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-dup"] == "1,2"
    assert "cookie" not in event["headers"]
    assert event["pathParameters"] == {"id": "7"}
    assert (event["body"], event["isBase64Encoded"]) == ('{"x": 1}', False)
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/items/7",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.0.0.1",
        "userAgent": "tests",
    }
    assert context["authorizer"]["jwt"]["claims"] == {"sub": "u1", "groups": "[a b]"}
    assert (context["apiId"], context["requestId"], context["stage"]) == ("api1", "req-1", "$default")


def test_binary_bodies_are_base64_encoded():
    request = Request("PUT", "/f", [("Content-Type", "image/png")], b"\x89PNG", "127.0.0.1")

    event = api_gateway_event(Route("PUT", "/f", "Fn"), {}, request, None, "req-1")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG"
    assert "authorizer" not in event["requestContext"]
    assert "pathParameters" not in event
    assert "queryStringParameters" not in event


def test_responses_are_mapped_as_api_gateway_does():
    full = Response.from_result(
        {
            "statusCode": 201,
            "headers": {"x-a": "1"},
            "cookies": ["c=1"],
            "body": base64.b64encode(b"%PDF").decode(),
            "isBase64Encoded": True,
        }
    )
    bare = Response.from_result({"hello": "world"})

    assert (full.status, full.body) == (201, b"%PDF")
    assert ("x-a", "1") in full.headers
    assert ("set-cookie", "c=1") in full.headers
    assert (bare.status, bare.body) == (200, b'{"hello": "world"}')
    assert ("content-type", "application/json") in bare.headers
