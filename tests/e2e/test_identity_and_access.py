"""Identity and revocable access, as an attacker and as a new user would try them: verified emails,
exact admin groups, parties whose roles change or who are removed, tamper-evident cursors, and
the small refusals (body bytes, media types)."""

import base64
import json

import pytest

from tests.support import IMOS, ApiClient


@pytest.fixture(scope="module")
def room(as_user):
    """A room of the owner's with a viewer; the victim of the identity attacks."""
    owner = as_user("victim.owner@example.com")
    room_id = owner.create_room("Victim's room")["id"]
    owner.add(room_id, "parties", {"email": "victim.viewer@example.com", "company": "V", "role": "viewer"})
    return room_id


@pytest.mark.parametrize("verified", [{"email_verified": False}, {"email_verified": "false"}, {"email_verified": None}])
def test_a_token_with_someone_elses_unverified_email_gets_nothing_of_theirs(as_user, room, verified):
    # Given a token whose IdP let its holder set the victim's email without verifying it
    attacker = as_user("victim.owner@example.com", **verified)

    # When it asks for the victim's room, or for its own list of rooms
    response = attacker.request("GET", f"/rooms/{room}")

    # Then it is refused with a reason, and learns nothing
    assert response.status_code == 403
    assert "not verified" in response.json()["detail"]
    assert attacker.request("GET", "/rooms").status_code == 403


def test_emails_match_whatever_their_case_or_unicode_form(as_user, room):
    # Given the viewer signing in with their email in upper case and fullwidth letters
    viewer = as_user("ＶＩＣＴＩＭ.viewer@EXAMPLE.com")

    # Then they are the same party
    assert viewer.request("GET", f"/rooms/{room}").status_code == 200


def test_a_group_claim_that_only_looks_like_a_list_makes_no_admin(as_user):
    pretender = as_user("pretender@example.com", groups="[not admin]")
    admin = as_user("real.admin@example.com", groups=["ops", "admin"])
    assert pretender.request("GET", "/snapshots/metrics/summary").status_code == 403
    assert admin.request("GET", "/snapshots/metrics/summary").status_code == 200


def test_a_removed_or_demoted_party_loses_access_at_once_on_every_container(as_user):
    # Given an operator of a room
    owner = as_user("owner.revoke@example.com")
    room_id = owner.create_room("Revocation")["id"]
    owner.add(room_id, "parties", {"email": "ops.revoke@example.com", "company": "O", "role": "operator"})
    operator = as_user("ops.revoke@example.com")
    vessel = {"name": "MT A", "imo": IMOS[0], "vessel_type": "tanker", "flag": "MT"}
    for _ in range(8):  # every warm API container has seen the operator
        assert operator.request("GET", f"/rooms/{room_id}").status_code == 200

    # When the owner demotes them to viewer
    changed = owner.ok("PATCH", f"/rooms/{room_id}/parties/ops.revoke@example.com", json={"role": "viewer"})

    # Then their next write is refused, whichever container answers
    assert changed["role"] == "viewer"
    assert operator.request("POST", f"/rooms/{room_id}/vessels", json=vessel).status_code == 403

    # And when the owner removes them, the room is gone for them on every request
    owner.ok("DELETE", f"/rooms/{room_id}/parties/ops.revoke%40example.com", 204)
    assert {operator.request("GET", f"/rooms/{room_id}").status_code for _ in range(8)} == {404}

    # And both changes are in the room's activity log, and the party can be added again
    actions = [entry["action"] for entry in owner.ok("GET", f"/rooms/{room_id}/activity")]
    assert {"party.role_changed", "party.removed"} <= set(actions)
    owner.add(room_id, "parties", {"email": "ops.revoke@example.com", "company": "O", "role": "inspector"})
    assert operator.request("GET", f"/rooms/{room_id}").status_code == 200


def test_the_last_owner_cannot_be_removed_or_demoted(as_user):
    owner = as_user("only.owner@example.com")
    room_id = owner.create_room("One owner")["id"]
    path = f"/rooms/{room_id}/parties/only.owner@example.com"

    demoted = owner.request("PATCH", path, json={"role": "viewer"})
    removed = owner.request("DELETE", path)

    assert (demoted.status_code, removed.status_code) == (409, 409)
    assert "at least one owner" in removed.json()["detail"]
    # With a second owner, the first may step down
    owner.add(room_id, "parties", {"email": "second.owner@example.com", "company": "S", "role": "owner"})
    assert owner.request("PATCH", path, json={"role": "broker"}).status_code == 200


def test_only_owners_and_admins_change_or_remove_parties(as_user):
    owner = as_user("owner.parties@example.com")
    room_id = owner.create_room("Party rules")["id"]
    owner.add(room_id, "parties", {"email": "broker.parties@example.com", "company": "B", "role": "broker"})
    owner.add(room_id, "parties", {"email": "viewer.parties@example.com", "company": "V", "role": "viewer"})
    broker = as_user("broker.parties@example.com")
    path = f"/rooms/{room_id}/parties/viewer.parties@example.com"

    assert broker.request("PATCH", path, json={"role": "operator"}).status_code == 403
    assert broker.request("DELETE", path).status_code == 403
    assert as_user("stranger.parties@example.com").request("DELETE", path).status_code == 404
    assert owner.request("DELETE", f"/rooms/{room_id}/parties/nobody@example.com").status_code == 404
    assert as_user("admin.parties@example.com", admin=True).request("DELETE", path).status_code == 204


@pytest.mark.parametrize(
    "cursor",
    [
        {"SK": {"S": 123}, "PK": {"S": "x"}},
        {"PK": {"S": "ROOMLOG#elsewhere"}, "SK": {"S": "01"}},
        {"PK": {"N": "1"}, "SK": {"S": "01"}},
        {"PK": {"S": "x"}},
        ["not", "an", "object"],
        "plain string",
    ],
)
def test_a_cursor_the_server_did_not_issue_is_a_400(as_user, room, cursor):
    owner = as_user("victim.owner@example.com")
    forged = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
    for path in (f"/rooms/{room}/activity", f"/rooms/{room}/snapshots"):
        response = owner.request("GET", path, params={"cursor": forged})
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_cursors_the_server_issued_page_through_everything(as_user):
    owner = as_user("pager@example.com")
    room_id = owner.create_room("Pages")["id"]
    for i in range(4):
        owner.add(room_id, "documents", {"name": f"D{i}", "document_type": "certificate"})
    seen, cursor = [], None
    while True:
        response = owner.request(
            "GET", f"/rooms/{room_id}/activity", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200
        seen += [entry["id"] for entry in response.json()]
        if not (cursor := response.headers.get("X-Next-Cursor")):
            break
    assert len(seen) == len(set(seen)) == 5  # the room's creation and four documents


def test_the_body_limit_counts_bytes_not_characters(as_user, room):
    owner = as_user("victim.owner@example.com")
    # 40 000 characters, 80 000 bytes in UTF-8: over the 64 kB limit
    response = owner.request("POST", f"/rooms/{room}/approvals", json={"status": "approved", "comment": "é" * 40_000})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json; charset=utf-8", 201),
        ("Application/JSON", 201),
        ("application/jsonp", 415),
        ("text/plain", 415),
    ],
)
def test_content_type_is_read_as_a_media_type(stack, room, content_type, status):
    owner = ApiClient(stack.base_url, stack.mint_token("victim.owner@example.com"))
    body = json.dumps({"status": "pending", "comment": "by media type"})
    response = owner.request("POST", f"/rooms/{room}/approvals", data=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
