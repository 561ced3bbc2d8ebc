"""A DEVELOPMENT-ONLY OpenID Connect provider, served by the emulator so that the web app signs in by the
same code path (authorization code + PKCE, with its OIDC client library) as against the deployment's IdP.

It asks for an email and nothing else: whoever reaches it may sign in as anyone. It exists only in the local
stack (127.0.0.1), never in template.yaml. `GET /_local/sign-in?email=E[&admin=1]` pre-approves a login for
tests and demos and sends the browser into the app's ordinary sign-in, which this provider then completes
without asking.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from template_emulator.auth import SigningKey
from template_emulator.front import Request, Response

CODE_TTL = 60  # seconds: an authorization code is exchanged at once
LOGIN_TTL = 120  # seconds: a pre-approved login is used by the redirect that follows it
TOKEN_TTL = 3600
LOGIN_COOKIE = "dev_login"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Discovery, keys and the token endpoint are read by the page's scripts, which may run at localhost
# while the issuer says 127.0.0.1.
CORS = ("access-control-allow-origin", "*")


@dataclass(frozen=True)
class Login:
    email: str
    admin: bool


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    login: Login
    expires: float


class DevelopmentOidcProvider:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        signing_key: SigningKey,
        admin_group: str,
        product_name: str = "the application",
        app_sign_in_path: str = "/sign-in",
    ):
        self.issuer = issuer
        self.client_id = client_id
        self._key = signing_key
        self._admin_group = admin_group
        self._product_name = product_name
        self._app_sign_in_path = app_sign_in_path
        parts = urlsplit(issuer)
        self._prefix = parts.path
        port = parts.port
        self._allowed_origins = {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}  # by authorization code
        self._logins: dict[str, tuple[Login, float]] = {}  # pre-approved, by the cookie's value

    def __call__(self, request: Request) -> Response | None:
        path = request.path
        if path == "/_local/sign-in":
            return self._pre_approve(request) if request.method == "GET" else _method_not_allowed("GET")
        if not path.startswith(self._prefix + "/"):
            return None
        endpoint = path.removeprefix(self._prefix)
        if endpoint == "/.well-known/openid-configuration" and request.method == "GET":
            return Response.json(200, self.discovery(), CORS)
        if endpoint == "/jwks.json" and request.method == "GET":
            return Response.json(200, self._key.jwks(), CORS)
        if endpoint == "/authorize" and request.method in ("GET", "POST"):
            return self._authorize(request)
        if endpoint == "/token" and request.method == "POST":
            return self._token(request)
        return Response.json(404, {"message": "Not Found"})

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "email"],
            "claims_supported": ["sub", "email", "email_verified", "cognito:groups"],
        }

    # ------------------------------------------------------------------ pre-approved login (tests, demos)

    def _pre_approve(self, request: Request) -> Response:
        query = dict(parse_qsl(urlsplit(request.target).query))
        login = _login(query.get("email", ""), query.get("admin", ""))
        if login is None:
            return _page(400, "Sign-in", "<p>Give an email: <code>/_local/sign-in?email=you@example.com</code>.</p>")
        ticket = secrets.token_urlsafe(24)
        with self._lock:
            self._purge()
            self._logins[ticket] = (login, time.monotonic() + LOGIN_TTL)
        cookie = f"{LOGIN_COOKIE}={ticket}; Path={self._prefix}; Max-Age={LOGIN_TTL}; HttpOnly; SameSite=Lax"
        return Response(
            302, [("location", self._app_sign_in_path), ("set-cookie", cookie), ("cache-control", "no-store")], b""
        )

    def _take_pre_approved(self, request: Request) -> Login | None:
        ticket = _cookie(request.joined_headers().get("cookie", ""), LOGIN_COOKIE)
        with self._lock:
            login, expires = self._logins.pop(ticket, (None, 0.0)) if ticket else (None, 0.0)
        return login if login and expires > time.monotonic() else None

    # ------------------------------------------------------------------ authorization endpoint

    def _authorize(self, request: Request) -> Response:
        is_form = request.method == "POST"
        raw = request.body.decode("utf-8", "replace") if is_form else urlsplit(request.target).query
        params = dict(parse_qsl(raw))
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id:
            return _page(400, "Sign-in refused", "<p>Unknown <code>client_id</code>.</p>")
        if f"{urlsplit(redirect_uri).scheme}://{urlsplit(redirect_uri).netloc}" not in self._allowed_origins:
            return _page(400, "Sign-in refused", "<p>The <code>redirect_uri</code> is not this stack's web app.</p>")
        state = {"state": params["state"]} if "state" in params else {}
        if params.get("response_type") != "code":
            return _redirect(redirect_uri, error="unsupported_response_type", **state)
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            return _redirect(redirect_uri, error="invalid_request", error_description="PKCE S256 is required", **state)
        if is_form:
            login = _login(params.get("email", ""), params.get("admin", ""))
        else:
            login = self._take_pre_approved(request)
        if login is None:
            return self._login_page(params, retry=is_form)
        code = secrets.token_urlsafe(32)
        grant = Grant(
            self.client_id,
            redirect_uri,
            params["code_challenge"],
            params.get("nonce"),
            login,
            time.monotonic() + CODE_TTL,
        )
        with self._lock:
            self._purge()
            self._grants[code] = grant
        response = _redirect(redirect_uri, code=code, **state)
        response.headers.append(("set-cookie", f"{LOGIN_COOKIE}=; Path={self._prefix}; Max-Age=0"))
        return response

    def _login_page(self, params: dict[str, str], retry: bool) -> Response:
        carried = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
            for name, value in params.items()
            if name not in ("email", "admin")
        )
        email = html.escape(params.get("email") or params.get("login_hint", ""))
        problem = '<p class="problem" role="alert">Enter an email address.</p>' if retry else ""
        body = f"""
<p>Sign in to {html.escape(self._product_name)} as anyone: this provider checks no password.</p>
{problem}
<form method="post" action="{html.escape(self._prefix)}/authorize">
  {carried}
  <label for="email">Email</label>
  <input id="email" name="email" type="email" required autocomplete="email" autofocus value="{email}">
  <label class="check"><input type="checkbox" name="admin" value="1"> Admin (member of the admin group)</label>
  <button type="submit">Sign in</button>
</form>"""
        return _page(400 if retry else 200, "Development sign-in", body)

    # ------------------------------------------------------------------ token endpoint

    def _token(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        if form.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type", "only authorization_code is supported")
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)  # a code is good for one exchange
        if grant is None or grant.expires < time.monotonic():
            return _token_error("invalid_grant", "unknown, used or expired code")
        if (form.get("client_id"), form.get("redirect_uri")) != (grant.client_id, grant.redirect_uri):
            return _token_error("invalid_grant", "client_id or redirect_uri differ from the authorization request")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not secrets.compare_digest(challenge, grant.code_challenge):
            return _token_error("invalid_grant", "PKCE verification failed")
        claims: dict[str, Any] = {"nonce": grant.nonce} if grant.nonce else {}
        if grant.login.admin:
            claims["cognito:groups"] = [self._admin_group]
        id_token = self._key.mint(
            grant.login.email, ttl=TOKEN_TTL, issuer=self.issuer, audience=self.client_id, **claims
        )
        body = {
            "id_token": id_token,
            # Opaque: like a Cognito access token it carries no email, so the app calls the API with the ID token.
            "access_token": secrets.token_urlsafe(32),
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL,
            "scope": "openid email",
        }
        return Response.json(200, body, CORS, ("cache-control", "no-store"))

    def _purge(self) -> None:
        now = time.monotonic()
        self._grants = {code: grant for code, grant in self._grants.items() if grant.expires > now}
        self._logins = {ticket: entry for ticket, entry in self._logins.items() if entry[1] > now}


def _login(email: str, admin: str) -> Login | None:
    email = email.strip().lower()
    return Login(email, admin.lower() in ("1", "true", "on")) if EMAIL.match(email) and len(email) <= 254 else None


def _cookie(header: str, name: str) -> str | None:
    """One cookie's value; read by hand, as http.cookies gives up on a whole header for one odd cookie."""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _redirect(uri: str, **params: str) -> Response:
    separator = "&" if urlsplit(uri).query else "?"
    return Response(303, [("location", f"{uri}{separator}{urlencode(params)}"), ("cache-control", "no-store")], b"")


def _token_error(error: str, description: str) -> Response:
    return Response.json(400, {"error": error, "error_description": description}, CORS, ("cache-control", "no-store"))


def _method_not_allowed(allowed: str) -> Response:
    return Response(405, [("allow", allowed), ("content-type", "text/plain")], b"Method Not Allowed")


def _page(status: int, title: str, body: str) -> Response:
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} (development only)</title>
<style>
  body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f4f6f8; }}
  .banner {{ background: #8a1c1c; color: #fff; padding: .6rem 1rem; font-weight: 600; }}
  main {{ max-width: 26rem; margin: 2rem auto; background: #fff; padding: 1.5rem; border-radius: 8px;
          box-shadow: 0 1px 3px rgba(0,0,0,.15); }}
  label {{ display: block; margin-top: 1rem; font-weight: 600; }}
  label.check {{ font-weight: 400; }}
  input[type=email] {{ width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; margin-top: .25rem; }}
  button {{ margin-top: 1.25rem; padding: .55rem 1.2rem; font: inherit; background: #0b5cad; color: #fff;
            border: 0; border-radius: 4px; cursor: pointer; }}
  :focus-visible {{ outline: 3px solid #f2a900; outline-offset: 2px; }}
  .problem {{ color: #8a1c1c; }}
</style></head>
<body>
<header class="banner">Development only: a local stand-in for the identity provider. Never deploy it.</header>
<main><h1>{title}</h1>{body}</main>
</body></html>"""
    headers = [("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store")]
    return Response(status, headers, page.encode())
