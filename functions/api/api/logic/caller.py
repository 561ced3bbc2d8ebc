"""Who is calling an HTTP API route: the claims of the token the JWT authorizer verified.

API Gateway's JWT authorizer has checked the token (signature, issuer, audience, lifetime) before
the function runs, and hands it the claims flattened to strings: an array becomes "[a b]", so a
group list cannot be told from a string claim that merely looks like one ("[not admin]"). The
function therefore reads the claims from the verified token itself (the Authorization header the
authorizer checked), with their JSON types, and cross-checks them against the authorizer's. Who
the claims name is decided in the layer (roomsnap.access), as for the live channel's subscribers."""

import base64
import binascii
import json
from typing import Any

from roomsnap.access import Caller, caller_from_claims
from roomsnap.errors import Unauthenticated


def token_claims(authorization: str) -> dict[str, Any]:
    """The payload of the bearer token the authorizer verified (not verified again here)."""
    token = authorization[7:].strip() if authorization[:7].lower() == "bearer " else authorization.strip()
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        raise Unauthenticated("the bearer token cannot be read") from None
    if not isinstance(claims, dict):
        raise Unauthenticated("the bearer token cannot be read")
    return claims


def caller_from_token(
    authorizer_claims: dict[str, str], authorization: str, admin_group: str, idp_verifies_emails: bool
) -> Caller:
    claims = token_claims(authorization)
    if any(str(claims.get(name)) != authorizer_claims.get(name) for name in ("sub", "exp")):
        raise Unauthenticated("the bearer token is not the one the authorizer checked")
    return caller_from_claims(claims, admin_group, idp_verifies_emails)
