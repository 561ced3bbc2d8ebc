"""The HTTP API's JWT authorizer, and the development key that signs local tokens."""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Tokens valid for longer are refused, as IdPs cap them: Cognito issues ID and access tokens for
# at most one day.
MAX_TOKEN_LIFETIME_S = 24 * 3600
KEY_FILE = "jwt-signing-key.pem"  # in the emulator's state folder


def local_issuer(port: int) -> str:
    """The development OIDC provider's issuer: served by the emulator itself, so a browser can reach it."""
    return f"http://127.0.0.1:{port}/_local/oidc"


LOCAL_ISSUER = local_issuer(3000)  # on the default port
LOCAL_AUDIENCE = "local-client"  # the default client id of a web app at the development provider


class Unauthorized(Exception):
    """The request fails the authorizer: API Gateway answers 401 without invoking the function.
    The reason goes in the WWW-Authenticate header's error description, as API Gateway puts it."""

    def __init__(self, description: str, token_given: bool = True, wrong_issuer: bool = False):
        super().__init__(description)
        self.wrong_issuer = wrong_issuer
        self.www_authenticate = (
            f'Bearer scope="" error="invalid_token" error_description="{description}"' if token_given else "Bearer"
        )


class SigningKey:
    """A development RSA key: in memory, or created on first use in a file that every process of
    the same emulated stack (its state folder) shares."""

    def __init__(self, private_key: rsa.RSAPrivateKey):
        self.private_key = private_key
        public_der = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(public_der).digest()[:12]).decode()

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        if not path.exists():
            _create_key_file(path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey), f"{path} holds no RSA key"
        return cls(key)

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def mint(
        self,
        email: str,
        admin: bool = False,
        ttl: int = 3600,
        *,
        issuer: str = LOCAL_ISSUER,
        audience: str = LOCAL_AUDIENCE,
        admin_group: str = "admin",
        **claims: Any,
    ) -> str:
        """A Cognito-like ID token for the given user; an admin is in `admin_group`."""
        now = int(time.time())
        payload = {
            "iss": issuer,
            "aud": audience,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{email.lower()}")),
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + ttl,
            "token_use": "id",
            **({"cognito:groups": [admin_group]} if admin else {}),
            **claims,
        }
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": self.kid})


def _create_key_file(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_once(
        path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def write_once(path: Path, secret: bytes) -> None:
    """Writes a development secret under .local/ unless it exists: written aside and hard-linked
    into place, so concurrent first uses all end up with the same one (readable by its owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as file:
        file.write(secret)
    try:
        os.chmod(file.name, 0o600)
        os.link(file.name, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(file.name)


class JwtAuthorizer:
    """Checks a request as an HTTP API JWT authorizer does: kid, RS256 signature, iss, aud or client_id,
    exp, nbf, iat."""

    def __init__(
        self,
        issuer: str,
        audiences: list[str],
        jwks: dict[str, Any],
        identity_source: str = "$request.header.Authorization",
    ):
        self.issuer = issuer
        self.audiences = set(audiences)
        self.keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(jwks).keys}
        self.header = identity_source.removeprefix("$request.header.").lower()

    def authorize(self, headers: dict[str, str]) -> dict[str, Any]:
        """Returns the token's claims, or raises Unauthorized. `headers` has lowercased names."""
        value = headers.get(self.header, "").strip()
        if not value:
            raise Unauthorized("missing token", token_given=False)
        token = value[7:].strip() if value[:7].lower() == "bearer " else value
        try:
            key = self.keys.get(jwt.get_unverified_header(token).get("kid"))
            if key is None:
                raise Unauthorized("signing key not found")
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"verify_aud": False, "require": ["exp", "iat", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.InvalidIssuerError:
            issued_by = jwt.decode(token, options={"verify_signature": False}).get("iss")
            raise Unauthorized(
                f"the token was issued by {issued_by}, and this API accepts tokens of {self.issuer} only",
                wrong_issuer=True,
            ) from None
        except jwt.PyJWTError as error:
            raise Unauthorized(str(error)) from None
        if claims["exp"] - claims["iat"] > MAX_TOKEN_LIFETIME_S:
            raise Unauthorized(f"the token is valid for longer than {MAX_TOKEN_LIFETIME_S} seconds")
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        if not all(isinstance(item, str) for item in audiences) or not self.audiences & set(audiences):
            raise Unauthorized("the token does not have a valid audience")
        return claims


def request_context_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway hands them to the function: every value a string, arrays like "[admin ops]"."""
    return {name: _claim_string(value) for name, value in claims.items()}


def _claim_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(_claim_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_claim_string(item)}" for key, item in sorted(value.items())) + "]"
    return str(value)
