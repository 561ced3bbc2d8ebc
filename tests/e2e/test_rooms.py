"""Rooms over real HTTP on the local stack: the room domain and the five permission levels."""

import time

import jwt
import requests

from tests.support import IMOS


def test_health_is_public_and_reports_every_dependency(stack):
    response = requests.get(f"{stack.base_url}/api/v1/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"table": True, "bucket": True, "render_queue": True, "dead_letter_queue": True},
    }


def test_an_owner_builds_a_room_and_reads_it_back(as_user):
    # Given an operator who creates a room
    owner = as_user("owner.rooms@x.io")
    room = owner.create_room("STS Ceuta", company="Owner Co")
    # When they add a party, a vessel, a document and an approval
    owner.add(room["id"], "parties", {"email": "Broker@X.io", "company": "Broker & Co", "role": "broker"})
    owner.add(
        room["id"], "vessels", {"name": "MT Example", "imo": f"IMO {IMOS[0]}", "vessel_type": "tanker", "flag": "MT"}
    )
    document = owner.add(
        room["id"],
        "documents",
        {
            "name": "Q88",
            "document_type": "questionnaire",
            "status": "uploaded",
            "expires_on": "2027-03-01",
            "vessel_imo": IMOS[0],
        },
    )
    owner.ok("PATCH", f"/rooms/{room['id']}/documents/{document['id']}", json={"status": "approved"})
    owner.add(room["id"], "approvals", {"status": "approved", "comment": "berthing plan agreed"})
    # Then the room reads back with everything in it
    detail = owner.ok("GET", f"/rooms/{room['id']}")
    assert {p["email"]: p["role"] for p in detail["parties"]} == {"owner.rooms@x.io": "owner", "broker@x.io": "broker"}
    assert [v["imo"] for v in detail["vessels"]] == [IMOS[0]]
    assert [(d["name"], d["status"]) for d in detail["documents"]] == [("Q88", "approved")]
    assert detail["approvals"][0]["by"] == "owner.rooms@x.io"
    assert detail["updated_at"] > room["updated_at"]
    # And every change is in the activity log, newest first, a page at a time
    first = owner.request("GET", f"/rooms/{room['id']}/activity", params={"limit": 3})
    assert [e["action"] for e in first.json()] == ["approval.recorded", "document.status", "document.added"]
    rest = owner.ok("GET", f"/rooms/{room['id']}/activity", params={"cursor": first.headers["X-Next-Cursor"]})
    assert [e["action"] for e in rest] == ["vessel.added", "party.added", "room.created"]
    # And the room is listed as theirs, and the broker's too
    assert room["id"] in [r["id"] for r in owner.ok("GET", "/rooms")]
    assert room["id"] in [r["id"] for r in as_user("broker@x.io").ok("GET", "/rooms")]


def test_tokens_are_checked_as_api_gateway_does(stack, as_user):
    room_url = f"{stack.base_url}/api/v1/rooms"
    good = stack.mint_token("someone@x.io")
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, "a-secret-that-is-not-the-signing-key", algorithm="HS256")
    expired = stack.mint_token("someone@x.io", exp=int(time.time()) - 60)
    wrong_audience = stack.mint_token("someone@x.io", aud="someone-else")
    for headers in (
        {},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {wrong_audience}"},
        {"Authorization": "Bearer garbage"},
    ):
        response = requests.get(room_url, headers=headers, timeout=10)
        assert response.status_code == 401, headers
        assert response.json() == {"message": "Unauthorized"}
    assert requests.get(room_url, headers={"Authorization": f"Bearer {good}"}, timeout=10).status_code == 200


def test_non_members_get_404_and_a_viewer_cannot_write(as_user):
    owner = as_user("owner.perm@x.io")
    room_id = owner.create_room()["id"]
    owner.add(room_id, "parties", {"email": "viewer.perm@x.io", "company": "V", "role": "viewer"})
    stranger, viewer = as_user("stranger@x.io"), as_user("viewer.perm@x.io")
    # A non-member learns nothing, not even that the room exists
    assert stranger.request("GET", f"/rooms/{room_id}").status_code == 404
    assert (
        stranger.request(
            "POST", f"/rooms/{room_id}/vessels", json={"name": "X", "imo": IMOS[1], "vessel_type": "t", "flag": "MT"}
        ).status_code
        == 404
    )
    # A viewer reads but may not change anything
    assert viewer.request("GET", f"/rooms/{room_id}").status_code == 200
    for section, body in (
        ("vessels", {"name": "X", "imo": IMOS[1], "vessel_type": "t", "flag": "MT"}),
        ("parties", {"email": "p@x.io", "company": "P", "role": "viewer"}),
        ("approvals", {"status": "approved"}),
        ("snapshots", {"title": "mine"}),
    ):
        response = viewer.request("POST", f"/rooms/{room_id}/{section}", json=body)
        assert response.status_code == 403, section
        assert "viewer" in response.json()["detail"] or "role" in response.json()["detail"]
    # An admin sees every room
    assert as_user("root@x.io", admin=True).request("GET", f"/rooms/{room_id}").status_code == 200
    assert room_id in [r["id"] for r in as_user("root@x.io", admin=True).ok("GET", "/rooms")]


def test_bad_input_gets_a_4xx_with_a_json_body(as_user):
    owner = as_user("owner.bad@x.io")
    room_id = owner.create_room()["id"]
    cases = [
        ("POST", "/rooms", {"title": "x"}),
        ("POST", "/rooms", {"title": "x", "location": "y", "operation_time": "not a time"}),
        ("POST", f"/rooms/{room_id}/vessels", {"name": "X", "imo": "1234568", "vessel_type": "t", "flag": "MT"}),
        ("POST", f"/rooms/{room_id}/parties", {"email": "not-an-email", "company": "P", "role": "viewer"}),
        ("POST", f"/rooms/{room_id}/parties", {"email": "a@b.io", "company": "P", "role": "captain"}),
        ("POST", f"/rooms/{room_id}/documents", {"name": "D", "document_type": "t", "status": "lost"}),
        ("POST", f"/rooms/{room_id}/snapshots", {"title": "t", "unknown": 1}),
        ("GET", "/rooms/not-an-id", None),
        ("GET", f"/rooms/{room_id}/activity?limit=0", None),
        ("GET", f"/rooms/{room_id}/activity?cursor=bm90LWEtY3Vyc29y", None),
    ]
    for method, path, body in cases:
        response = owner.request(method, path, json=body)
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
        assert response.headers["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == response.status_code
        assert problem["title"]
        assert problem["detail"]
        assert problem["request_id"]
        assert response.json()
    malformed = owner.request("POST", "/rooms", data="{not json", headers={"Content-Type": "application/json"})
    assert 400 <= malformed.status_code < 500
    huge = owner.request("POST", f"/rooms/{room_id}/approvals", json={"status": "approved", "comment": "x" * 70_000})
    assert huge.status_code == 413
    assert huge.json()["status"] == 413
    assert owner.request("GET", "/no/such/route").json()["status"] == 404
    # A duplicate party is a conflict, and nothing was lost: the room still reads back whole
    owner.add(room_id, "parties", {"email": "dup@x.io", "company": "D", "role": "viewer"})
    assert (
        owner.request(
            "POST", f"/rooms/{room_id}/parties", json={"email": "dup@x.io", "company": "D", "role": "viewer"}
        ).status_code
        == 409
    )
    assert len(owner.ok("GET", f"/rooms/{room_id}")["parties"]) == 2
