"""The development OIDC provider: authorization code + PKCE (S256) as a browser's OIDC client runs it."""

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from template_emulator.auth import JwtAuthorizer, SigningKey
from template_emulator.front import Request
from template_emulator.oidc import DevelopmentOidcProvider

ISSUER = "http://127.0.0.1:3000/_local/oidc"
CLIENT = "room-snapshots-local"
CALLBACK = "http://127.0.0.1:3000/auth/callback"
VERIFIER = "a-verifier-of-forty-three-characters-or-more-0123456789"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return SigningKey.load_or_create(tmp_path_factory.mktemp("keys") / "key.pem")


@pytest.fixture
def provider(key):
    return DevelopmentOidcProvider(ISSUER, CLIENT, key, admin_group="ops")


def get(provider, target, cookie=""):
    return provider(Request("GET", target, [("Cookie", cookie)] if cookie else [], b"", "127.0.0.1"))


def post(provider, path, form: dict):
    request = Request(
        "POST", path, [("Content-Type", "application/x-www-form-urlencoded")], urlencode(form).encode(), "127.0.0.1"
    )
    return provider(request)


def authorization(**overrides) -> dict:
    return {
        "client_id": CLIENT,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid email",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **overrides,
    }


def redirect_params(response) -> dict[str, str]:
    location = dict(response.headers)["location"]
    assert location.startswith(CALLBACK)
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def sign_in(provider, email="Ana@Example.com", admin="1") -> str:
    """The form's submit; returns the authorization code."""
    response = post(provider, "/_local/oidc/authorize", {**authorization(), "email": email, "admin": admin})
    assert response.status == 303
    params = redirect_params(response)
    assert params["state"] == "s1"
    return params["code"]


def exchange(provider, code, **overrides):
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": CLIENT,
        "redirect_uri": CALLBACK,
        "code_verifier": VERIFIER,
        **overrides,
    }
    return post(provider, "/_local/oidc/token", form)


def test_discovery_names_the_endpoints_under_the_issuer(provider):
    response = get(provider, "/_local/oidc/.well-known/openid-configuration")

    document = json.loads(response.body)
    assert document["issuer"] == ISSUER
    assert document["token_endpoint"] == f"{ISSUER}/token"
    assert document["code_challenge_methods_supported"] == ["S256"]


def test_the_authorize_page_asks_for_an_email_and_says_it_is_for_development_only(provider):
    response = get(provider, f"/_local/oidc/authorize?{urlencode(authorization(login_hint='ana@example.com'))}")

    page = response.body.decode()
    assert response.status == 200
    assert "Development only" in page
    assert 'value="ana@example.com"' in page
    assert 'name="admin"' in page


def test_a_code_exchanged_with_its_verifier_yields_an_id_token_the_api_accepts(provider, key):
    response = exchange(provider, sign_in(provider))

    assert response.status == 200
    token = json.loads(response.body)["id_token"]
    claims = JwtAuthorizer(ISSUER, [CLIENT], key.jwks()).authorize({"authorization": f"Bearer {token}"})
    assert claims["email"] == "ana@example.com"
    assert claims["email_verified"] is True
    assert claims["cognito:groups"] == ["ops"]  # the template's AdminGroup
    assert claims["nonce"] == "n1"


def test_without_the_admin_box_the_token_has_no_groups(provider):
    token = json.loads(exchange(provider, sign_in(provider, admin="")).body)["id_token"]

    assert "cognito:groups" not in jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_verifier": "another-verifier-of-forty-three-characters-000000"}, "invalid_grant"),
        ({"redirect_uri": "http://127.0.0.1:3000/elsewhere"}, "invalid_grant"),
        ({"client_id": "another-app"}, "invalid_grant"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
    ],
)
def test_a_wrong_exchange_is_refused(provider, overrides, error):
    response = exchange(provider, sign_in(provider), **overrides)

    assert response.status == 400
    assert json.loads(response.body)["error"] == error


def test_a_code_is_good_for_one_exchange(provider):
    code = sign_in(provider)

    assert exchange(provider, code).status == 200
    assert json.loads(exchange(provider, code).body)["error"] == "invalid_grant"


def test_pkce_is_required(provider):
    response = get(provider, f"/_local/oidc/authorize?{urlencode(authorization(code_challenge_method='plain'))}")

    assert redirect_params(response)["error"] == "invalid_request"


@pytest.mark.parametrize("overrides", [{"client_id": "another-app"}, {"redirect_uri": "https://evil.example/callback"}])
def test_an_unknown_client_or_redirect_is_refused_without_redirecting(provider, overrides):
    response = get(provider, f"/_local/oidc/authorize?{urlencode(authorization(**overrides))}")

    assert response.status == 400
    assert "location" not in dict(response.headers)


def test_a_pre_approved_login_completes_the_next_authorization_once(provider):
    approved = get(provider, "/_local/sign-in?email=vera@example.com&admin=1")
    assert approved.status == 302
    assert dict(approved.headers)["location"] == "/sign-in"
    cookie = dict(approved.headers)["set-cookie"].split(";")[0]

    authorize = f"/_local/oidc/authorize?{urlencode(authorization())}"
    completed = get(provider, authorize, f"other=a b; {cookie}")  # beside a cookie http.cookies would choke on
    token = json.loads(exchange(provider, redirect_params(completed)["code"]).body)["id_token"]
    again = get(provider, authorize, cookie)

    assert jwt.decode(token, options={"verify_signature": False})["email"] == "vera@example.com"
    assert again.status == 200  # the login was used up: the form asks again
    assert "Development sign-in" in again.body.decode()


def test_paths_outside_the_provider_are_left_to_others(provider):
    assert get(provider, "/_local/jwks.json") is None
