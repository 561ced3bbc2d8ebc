"""Who is calling, from the claims API Gateway's JWT authorizer verified."""

from dataclasses import dataclass

from roomsnap.errors import Forbidden


@dataclass(frozen=True)
class Caller:
    email: str
    is_admin: bool


def _groups(value) -> set[str]:
    """API Gateway hands array claims to the function as a string like "[admin ops]"."""
    if isinstance(value, list):
        return {str(v) for v in value}
    if isinstance(value, str):
        return {part for part in value.strip("[]").replace(",", " ").split() if part}
    return set()


def caller_from_claims(claims: dict, admin_group: str) -> Caller:
    email = str(claims.get("email", "")).strip().lower()
    if not email:
        raise Forbidden("the token carries no email claim")
    groups = _groups(claims.get("cognito:groups")) | _groups(claims.get("groups"))
    return Caller(email=email, is_admin=admin_group in groups)
