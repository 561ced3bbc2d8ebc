"""Who is calling: a verified email address, and whether the token makes them an admin.

API Gateway's JWT authorizer has checked the token (signature, issuer, audience, lifetime) before
the function runs, and hands it the claims flattened to strings: an array becomes "[a b]", so a
group list cannot be told from a string claim that merely looks like one ("[not admin]"). The
function therefore reads the claims from the verified token itself (the Authorization header the
authorizer checked), with their JSON types, and cross-checks them against the authorizer's."""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from roomsnap.errors import Forbidden, Unauthenticated
from roomsnap.models import normalize_email

GROUP_CLAIMS = ("cognito:groups", "groups")


@dataclass(frozen=True)
class Caller:
    email: str  # normalized (NFKC, case-folded): the one form emails are compared in
    is_admin: bool


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


def groups_of(value: Any) -> set[str]:
    """A group claim as IdPs send it: a JSON list of names (Cognito's cognito:groups), a string
    holding such a list, or a single name. Names are compared whole, never by substring."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {value}
        value = parsed if isinstance(parsed, list) else [value]
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


def is_verified(value: Any) -> bool:
    """email_verified is a JSON boolean in OpenID Connect; some IdPs (Cognito among them, in places)
    send the string "true"."""
    return value is True or value == "true"


def caller_from_token(
    authorizer_claims: dict[str, str], authorization: str, admin_group: str, idp_verifies_emails: bool
) -> Caller:
    claims = token_claims(authorization)
    if any(str(claims.get(name)) != authorizer_claims.get(name) for name in ("sub", "exp")):
        raise Unauthenticated("the bearer token is not the one the authorizer checked")
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise Forbidden("your sign-in token carries no email address; this service identifies people by email")
    if not idp_verifies_emails and not is_verified(claims.get("email_verified")):
        raise Forbidden(
            f"the email address {email.strip()} is not verified by your identity provider; verify it there, "
            "then sign in again"
        )
    groups = set().union(*(groups_of(claims.get(name)) for name in GROUP_CLAIMS))
    return Caller(email=normalize_email(email), is_admin=admin_group in groups)
