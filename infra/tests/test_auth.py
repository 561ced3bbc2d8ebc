"""The JWT authorizer's checks, with real tokens signed by real RSA keys."""

import time

import jwt
import pytest

from template_emulator.auth import (
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    JwtAuthorizer,
    SigningKey,
    Unauthorized,
    request_context_claims,
)


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return SigningKey.load_or_create(tmp_path_factory.mktemp("keys") / "key.pem")


@pytest.fixture(scope="module")
def authorizer(key):
    return JwtAuthorizer(LOCAL_ISSUER, [LOCAL_AUDIENCE], key.jwks())


def bearer(token):
    return {"authorization": f"Bearer {token}"}


def test_a_good_token_yields_its_claims(key, authorizer):
    claims = authorizer.authorize(bearer(key.mint("ana@example.com", admin=True)))

    assert claims["email"] == "ana@example.com"
    assert claims["cognito:groups"] == ["admin"]
    assert claims["sub"] == jwt.decode(key.mint("ANA@example.com"), options={"verify_signature": False})["sub"]


def test_a_raw_access_token_with_client_id_is_accepted(key, authorizer):
    now = int(time.time())
    access_token = jwt.encode(  # Cognito access tokens carry client_id instead of aud
        {
            "iss": LOCAL_ISSUER,
            "client_id": LOCAL_AUDIENCE,
            "sub": "u1",
            "iat": now,
            "exp": now + 60,
            "token_use": "access",
        },
        key.private_key,
        algorithm="RS256",
        headers={"kid": key.kid},
    )

    assert authorizer.authorize({"authorization": access_token})["client_id"] == LOCAL_AUDIENCE


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 5},
        {"aud": "another-app"},
        {"iss": "https://issuer.example.com/"},
        {"nbf": int(time.time()) + 86400},  # a day: the suite may run long after collection
    ],
)
def test_invalid_claims_are_unauthorized(key, authorizer, claims):
    with pytest.raises(Unauthorized) as error:
        authorizer.authorize(bearer(key.mint("ana@example.com", **claims)))
    assert 'error="invalid_token"' in error.value.www_authenticate


def test_a_forged_signature_is_unauthorized(key, authorizer, tmp_path):
    forger = SigningKey.load_or_create(tmp_path / "forger.pem")
    forger.kid = key.kid  # claims to be signed by the trusted key

    with pytest.raises(Unauthorized, match="Signature verification failed"):
        authorizer.authorize(bearer(forger.mint("eve@example.com")))


def test_a_missing_token_is_unauthorized(authorizer):
    with pytest.raises(Unauthorized) as error:
        authorizer.authorize({})
    assert error.value.www_authenticate == "Bearer"


def test_claims_reach_the_function_as_strings():
    claims = {"exp": 1700000000, "groups": ["admin", "ops"], "verified": True, "name": "Ana", "x": {"b": 1, "a": 2}}

    assert request_context_claims(claims) == {
        "exp": "1700000000",
        "groups": "[admin ops]",
        "verified": "true",
        "name": "Ana",
        "x": "map[a:2 b:1]",
    }


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": [{"not": "a string"}]},
        {"aud": [["room-snapshots-local"]]},
        {"aud": 42},
        {"iat": "yesterday"},
        {"exp": "later"},
        {"iat": None},
    ],
)
def test_a_signed_but_malformed_token_is_a_401_not_a_crash(key, authorizer, claims):
    with pytest.raises(Unauthorized):
        authorizer.authorize(bearer(key.mint("ana@example.com", **claims)))


def test_a_token_valid_for_longer_than_an_idp_issues_is_refused(key, authorizer):
    # Given a token valid for a year (IdPs cap ID tokens at a day)
    with pytest.raises(Unauthorized, match="longer than"):
        authorizer.authorize(bearer(key.mint("ana@example.com", ttl=365 * 86_400)))
    # And a day is accepted
    assert authorizer.authorize(bearer(key.mint("ana@example.com", ttl=86_400)))["email"] == "ana@example.com"


def test_minted_tokens_carry_a_verified_email(key, authorizer):
    assert authorizer.authorize(bearer(key.mint("ana@example.com")))["email_verified"] is True
