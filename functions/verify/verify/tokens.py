"""The optional bearer token of POST /verify, checked here: the route has no API Gateway authorizer
(anyone holding a file may verify it), so the function checks a token itself, as the HTTP API's JWT
authorizer would: RS256 with a key of the issuer's published set (its OpenID configuration's
jwks_uri, fetched on first use and cached by PyJWT), the same issuer, audience (aud or client_id),
expiry. Who the claims name is decided by roomsnap.access, as everywhere else."""

import json
import urllib.request
from functools import cache

import jwt

from roomsnap.access import Caller, caller_from_claims
from roomsnap.errors import Unauthenticated

FETCH_TIMEOUT_S = 2
MAX_TOKEN_LIFETIME_S = 24 * 3600  # as the API's authorizer: IdPs cap tokens at a day


@cache
def _keys(issuer: str) -> jwt.PyJWKClient:
    with urllib.request.urlopen(
        f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=FETCH_TIMEOUT_S
    ) as answer:
        jwks_uri = json.load(answer)["jwks_uri"]
    return jwt.PyJWKClient(jwks_uri, cache_keys=True, timeout=FETCH_TIMEOUT_S)


def bearer_token(authorization: str) -> str:
    return authorization[7:].strip() if authorization[:7].lower() == "bearer " else authorization.strip()


def caller_of(
    authorization: str | None, issuer: str, audience: str, admin_group: str, idp_verifies_emails: bool
) -> Caller | None:
    """None without a token; the caller it names; or Unauthenticated (401) for a token that fails."""
    if not authorization or not authorization.strip():
        return None
    token = bearer_token(authorization)
    try:
        key = _keys(issuer).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            issuer=issuer,
            options={"verify_aud": False, "require": ["exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except (jwt.PyJWTError, OSError, ValueError, KeyError) as error:
        raise Unauthenticated(f"the token cannot be verified: {error}") from None
    if claims["exp"] - claims["iat"] > MAX_TOKEN_LIFETIME_S:
        raise Unauthenticated(f"the token is valid for longer than {MAX_TOKEN_LIFETIME_S} seconds")
    audiences = claims.get("aud", claims.get("client_id"))
    if audience not in (audiences if isinstance(audiences, list) else [audiences]):
        raise Unauthenticated("the token does not have a valid audience")
    return caller_from_claims(claims, admin_group, idp_verifies_emails)
