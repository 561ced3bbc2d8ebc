"""Who a caller is: read from the token the authorizer verified, a verified email, exact groups."""

import base64
import json

import pytest

from roomsnap.errors import Forbidden, Unauthenticated

from api.logic.caller import caller_from_token

SUB, EXP = "0b7c7b8e-4a4e-4d5e-9a57-1a2b3c4d5e6f", 1900000000


def token(**claims) -> str:
    """A bearer token as the authorizer passes it on (its signature is not checked again here)."""
    part = lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")  # noqa: E731
    return f"Bearer {part({'alg': 'RS256'})}.{part({'sub': SUB, 'exp': EXP, **claims})}.c2lnbmF0dXJl"


def authorizer_claims(**claims) -> dict[str, str]:
    """What API Gateway puts in the event: the same claims, flattened to strings."""
    return {"sub": SUB, "exp": str(EXP), **{name: str(value) for name, value in claims.items()}}


def caller_of(trust_idp: bool = False, **claims):
    return caller_from_token(authorizer_claims(**claims), token(**claims), "admin", trust_idp)


def test_a_verified_email_is_the_caller():
    caller = caller_of(email="ops@example.com", email_verified=True)
    assert caller.email == "ops@example.com"
    assert caller.is_admin is False


@pytest.mark.parametrize("verified", [False, "false", None, "True", 1])
def test_an_email_that_is_not_verified_is_refused_with_a_reason(verified):
    claims = {"email": "ceo@victim.example"} | ({} if verified is None else {"email_verified": verified})
    with pytest.raises(Forbidden, match="not verified by your identity provider"):
        caller_of(**claims)


def test_cognitos_string_form_of_verified_is_accepted():
    assert caller_of(email="ops@example.com", email_verified="true").email == "ops@example.com"


def test_a_deployment_whose_idp_verifies_every_email_needs_no_claim():
    assert caller_of(trust_idp=True, email="ops@example.com").email == "ops@example.com"


def test_a_token_without_an_email_is_refused():
    with pytest.raises(Forbidden, match="no email address"):
        caller_of(email_verified=True)


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("Ops@Example.COM", "ops@example.com"),
        ("ｏｐｓ@example.com", "ops@example.com"),  # fullwidth letters (NFKC)
        ("STRASSE@example.com", "strasse@example.com"),
        ("straße@example.com", "strasse@example.com"),  # case folding, not lower()
        ("  ops@example.com ", "ops@example.com"),
    ],
)
def test_emails_are_compared_nfkc_case_folded(written, normalized):
    assert caller_of(email=written, email_verified=True).email == normalized


@pytest.mark.parametrize(
    ("claims", "admin"),
    [
        ({"cognito:groups": ["ops", "admin"]}, True),  # Cognito: a JSON list
        ({"groups": ["admin"]}, True),  # a generic IdP
        ({"groups": '["ops", "admin"]'}, True),  # a list sent as a JSON string
        ({"groups": "admin"}, True),  # a single group name
        ({"groups": "[not admin]"}, False),  # a string that only looks like API Gateway's rendering of a list
        ({"cognito:groups": ["administrators"]}, False),  # never by substring
        ({"groups": "admins,admin2"}, False),
        ({"groups": [["admin"]]}, False),
        ({"groups": {"admin": True}}, False),
        ({}, False),
    ],
)
def test_admin_is_an_exact_group_name_in_the_tokens_own_claims(claims, admin):
    assert caller_of(email="a@x.io", email_verified=True, **claims).is_admin is admin


def test_a_token_other_than_the_one_the_authorizer_checked_is_refused():
    with pytest.raises(Unauthenticated):
        caller_from_token(authorizer_claims(), token(sub="someone-else", email="a@x.io"), "admin", False)


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer abc", "Bearer a.%%%.c", "Bearer a.WzFd.c"])
def test_an_unreadable_token_is_refused(header):
    with pytest.raises(Unauthenticated):
        caller_from_token(authorizer_claims(), header, "admin", False)
