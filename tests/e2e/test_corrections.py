"""Correcting a room over real HTTP on the local stack, with real JWTs: the rooms of real operations
(Arabic names, emoji), every correction's before → after in the activity log, a vessel's documents
when it is re-numbered or deleted, approvals withdrawn, what text and times may hold, the
clearance the API answers, snapshots that keep what they recorded, and a retry that waits for the
correction that removes its failure's cause."""

import json

import pytest

from infra.stack import LocalStack
from tests.support import IMOS, ApiClient


def activity_of(client: ApiClient, room_id: str) -> list[dict]:
    return client.ok("GET", f"/rooms/{room_id}/activity", params={"limit": 100})


def test_the_rooms_of_real_operations_are_corrected_and_each_audit_line_says_from_what_to_what(as_user):
    # Given a room off Fujairah as first entered: an Arabic company and vessel, an emoji comment
    owner = as_user("owner.fujairah@corrections.example")
    room_id = owner.create_room("STS Fujairah", location="Fujairah anchorage", company="Emirates Tankers")["id"]
    owner.add(room_id, "parties", {"email": "broker@gulf.example", "company": "شركة الخليج للشحن", "role": "broker"})
    owner.add(room_id, "parties", {"email": "inspector@sohar.example", "company": "Sohar Marine", "role": "inspector"})
    vessel = {"name": "ناقلة الخليج", "imo": IMOS[2], "vessel_type": "crude tanker", "flag": "AE"}
    owner.add(room_id, "vessels", vessel)
    q88 = owner.add(
        room_id,
        "documents",
        {
            "name": "Q88",
            "document_type": "questionnaire",
            "status": "approved",
            "expires_on": "2027-06-01",
            "vessel_imo": IMOS[2],
        },
    )
    inspector = as_user("inspector@sohar.example")
    approval = inspector.add(
        room_id,
        "approvals",
        {"status": "approved", "comment": "ok 👍", "party": "inspector@sohar.example", "document_id": q88["id"]},
    )
    assert (approval["party"], approval["document_id"]) == ("inspector@sohar.example", q88["id"])
    # When the broker corrects its company, an editor the vessel's name, the inspector its comment
    # and the owner the room's own details
    broker = as_user("broker@gulf.example")
    party = broker.ok("PATCH", f"/rooms/{room_id}/parties/broker@gulf.example", json={"company": "Gulf Shipping LLC"})
    owner.ok("PATCH", f"/rooms/{room_id}/vessels/{IMOS[2]}", json={"name": "Gulf Tanker ناقلة ٢"})
    inspector.ok("PATCH", f"/rooms/{room_id}/approvals/{approval['id']}", json={"comment": "ok 👍🏽\nhoses checked"})
    room = owner.ok(
        "PATCH",
        f"/rooms/{room_id}",
        json={"title": "STS Khor Fakkan", "operation_time": "2026-12-20T06:00:00+04:00"},
    )
    # Then the room reads back corrected
    assert party["company"] == "Gulf Shipping LLC"
    assert (room["title"], room["location"], room["operation_time"]) == (
        "STS Khor Fakkan",
        "Fujairah anchorage",
        "2026-12-20T06:00:00+04:00",
    )
    detail = owner.ok("GET", f"/rooms/{room_id}")
    assert {p["email"]: p["company"] for p in detail["parties"]}["broker@gulf.example"] == "Gulf Shipping LLC"
    assert [v["name"] for v in detail["vessels"]] == ["Gulf Tanker ناقلة ٢"]
    assert [a["comment"] for a in detail["approvals"]] == ["ok 👍🏽\nhoses checked"]
    # And each correction is an audit line of what it was and what it became, by whom
    lines = {entry["action"]: entry for entry in activity_of(owner, room_id)}
    assert lines["party.changed"]["detail"] == "broker@gulf.example: company: شركة الخليج للشحن → Gulf Shipping LLC"
    assert lines["party.changed"]["actor"] == "broker@gulf.example"
    assert (
        lines["vessel.changed"]["detail"] == f"ناقلة الخليج (IMO {IMOS[2]}): name: ناقلة الخليج → Gulf Tanker ناقلة ٢"
    )
    assert lines["approval.changed"]["detail"] == f"{approval['id']}: comment: ok 👍 → ok 👍🏽\nhoses checked"
    assert lines["approval.changed"]["actor"] == "inspector@sohar.example"
    assert lines["room.changed"]["detail"] == (
        "title: STS Fujairah → STS Khor Fakkan; operation_time: 2026-12-01T06:00:00+00:00 → 2026-12-20T06:00:00+04:00"
    )


def test_the_api_answers_whether_the_transfer_is_cleared_in_the_room_and_the_room_list(as_user):
    # Given an approved room for a transfer on 20 Dec
    owner = as_user("owner.clearance@corrections.example")
    room_id = owner.create_room("STS Ras Tanura", location="Ras Tanura")["id"]
    owner.ok("PATCH", f"/rooms/{room_id}", json={"operation_time": "2026-12-20T06:00:00Z"})
    owner.add(room_id, "approvals", {"status": "approved", "comment": "berthing plan agreed"})
    assert owner.ok("GET", f"/rooms/{room_id}")["clearance"]["status"] == "cleared"
    # When a P&I certificate is added that is valid today but expires on 10 Dec
    pni = owner.add(
        room_id,
        "documents",
        {"name": "P&I certificate", "document_type": "insurance", "status": "approved", "expires_on": "2026-12-10"},
    )
    # Then the room is not cleared, and the blocker names the certificate and its expiry day
    clearance = owner.ok("GET", f"/rooms/{room_id}")["clearance"]
    assert clearance["status"] == "not_cleared"
    assert clearance["operation_time"] == "2026-12-20T06:00:00.000Z"
    assert clearance["blockers"] == [
        {
            "kind": "expires_before_operation",
            "item": "document",
            "id": pni["id"],
            "name": "P&I certificate",
            "date": "2026-12-10",
            "status": "approved",
        }
    ]
    # And the room list says the same, without the time it was judged at mattering
    (listed,) = [room for room in owner.ok("GET", "/rooms") if room["id"] == room_id]
    assert {**listed["clearance"], "judged_at": None} == {**clearance, "judged_at": None}
    # And renewing the certificate clears it, in both
    owner.ok("PATCH", f"/rooms/{room_id}/documents/{pni['id']}", json={"expires_on": "2027-12-10"})
    assert owner.ok("GET", f"/rooms/{room_id}")["clearance"]["status"] == "cleared"
    (listed,) = [room for room in owner.ok("GET", "/rooms") if room["id"] == room_id]
    assert listed["clearance"] == {**listed["clearance"], "status": "cleared", "blockers": []}


def test_a_vessel_s_documents_follow_a_new_imo_number_and_keep_it_from_being_deleted(as_user):
    owner = as_user("owner.vessels@corrections.example")
    room_id = owner.create_room("STS Zhoushan", location="Zhoushan")["id"]
    owner.add(room_id, "vessels", {"name": "中远海运 Glory", "imo": IMOS[3], "vessel_type": "VLCC", "flag": "CN"})
    q88 = owner.add(room_id, "documents", {"name": "Q88", "document_type": "questionnaire", "vessel_imo": IMOS[3]})
    # A document names only a vessel of the room
    refused = owner.request(
        "POST", f"/rooms/{room_id}/documents", json={"name": "SIRE", "document_type": "x", "vessel_imo": IMOS[4]}
    )
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(f"vessel_imo: no vessel with IMO {IMOS[4]}")
    # When the vessel is re-numbered, its document follows it, and the audit line says so
    renumbered = owner.ok("PATCH", f"/rooms/{room_id}/vessels/{IMOS[3]}", json={"imo": f"IMO {IMOS[4]}"})
    assert renumbered["imo"] == IMOS[4]
    detail = owner.ok("GET", f"/rooms/{room_id}")
    assert [v["imo"] for v in detail["vessels"]] == [IMOS[4]]
    assert [d["vessel_imo"] for d in detail["documents"]] == [IMOS[4]]
    assert activity_of(owner, room_id)[0]["detail"].endswith(f"its documents moved with it: Q88 ({q88['id']})")
    assert owner.request("PATCH", f"/rooms/{room_id}/vessels/{IMOS[3]}", json={"flag": "PA"}).status_code == 404
    # And it cannot be deleted while the document names it: 409, naming it
    conflict = owner.request("DELETE", f"/rooms/{room_id}/vessels/{IMOS[4]}")
    assert conflict.status_code == 409
    assert conflict.headers["Content-Type"] == "application/problem+json"
    assert f"Q88 ({q88['id']})" in conflict.json()["detail"]
    # Until the document goes; then the vessel goes too, and the log keeps both
    assert owner.request("DELETE", f"/rooms/{room_id}/documents/{q88['id']}").status_code == 204
    assert owner.request("DELETE", f"/rooms/{room_id}/vessels/{IMOS[4]}").status_code == 204
    detail = owner.ok("GET", f"/rooms/{room_id}")
    assert (detail["vessels"], detail["documents"]) == ([], [])
    actions = [entry["action"] for entry in activity_of(owner, room_id)]
    assert actions[:3] == ["vessel.deleted", "document.deleted", "vessel.changed"]


def test_an_approval_is_withdrawn_by_whoever_recorded_it_or_an_owner_and_no_longer_counts(as_user):
    owner = as_user("owner.approvals@corrections.example")
    room_id = owner.create_room("STS Busan", location="Busan")["id"]
    for email in ("inspector.a@busan.example", "inspector.b@busan.example"):
        owner.add(room_id, "parties", {"email": email, "company": "한국해사검정", "role": "inspector"})
    first, second = as_user("inspector.a@busan.example"), as_user("inspector.b@busan.example")
    approval = first.add(room_id, "approvals", {"status": "approved", "comment": "ok 👍"})
    assert owner.ok("GET", f"/rooms/{room_id}")["clearance"]["status"] == "cleared"
    # Another inspector may neither change nor withdraw it
    assert second.request("DELETE", f"/rooms/{room_id}/approvals/{approval['id']}").status_code == 403
    assert (
        second.request("PATCH", f"/rooms/{room_id}/approvals/{approval['id']}", json={"status": "rejected"}).status_code
        == 403
    )
    # Its recorder withdraws it: it no longer counts, and the log keeps what it said
    assert first.request("DELETE", f"/rooms/{room_id}/approvals/{approval['id']}").status_code == 204
    detail = owner.ok("GET", f"/rooms/{room_id}")
    assert detail["approvals"] == []
    assert [b["kind"] for b in detail["clearance"]["blockers"]] == ["no_approval"]
    (line,) = [e for e in activity_of(owner, room_id) if e["action"] == "approval.withdrawn"]
    assert line["actor"] == "inspector.a@busan.example"
    assert line["detail"].startswith(f"{approval['id']}: approved: ok 👍, recorded by inspector.a@busan.example")
    assert first.request("DELETE", f"/rooms/{room_id}/approvals/{approval['id']}").status_code == 404
    # And an owner may withdraw another's
    other = second.add(room_id, "approvals", {"status": "rejected"})
    assert owner.request("DELETE", f"/rooms/{room_id}/approvals/{other['id']}").status_code == 204


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/approvals", '{"comment": "ok \\u0007"}', "comment"),
        ("/approvals", '{"comment": "half \\ud83d"}', "comment"),
        ("/vessels", '{"name": "MT\\nSeawise", "imo": "9074729", "vessel_type": "t", "flag": "MT"}', "name"),
        ("/parties", '{"email": "a@b.io", "company": "\\ufdd0", "role": "viewer"}', "company"),
        ("/documents", '{"name": "Q88", "document_type": "q", "expires_on": 0}', "expires_on"),
        ("/approvals", '{"party": "nobody@busan.example"}', "party"),
        ("/approvals", '{"document_id": "01j00000000000000000000000"}', "document_id"),
    ],
)
def test_bad_text_times_and_references_get_a_422_that_names_the_field(as_user, path, body, field):
    owner = as_user("owner.input@corrections.example")
    room_id = owner.create_room()["id"]
    response = owner.request(
        "POST", f"/rooms/{room_id}{path}", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in response.json()["detail"]
    assert owner.ok("GET", f"/rooms/{room_id}/activity")[0]["action"] == "room.created"  # nothing was written


def test_times_are_strings_and_a_correction_needs_a_field(as_user):
    owner = as_user("owner.times@corrections.example")
    for operation_time in (0, "1733300000", "2026-12-01"):
        body = {"title": "STS Yeosu", "location": "Yeosu", "operation_time": operation_time}
        response = owner.request("POST", "/rooms", json=body)
        assert response.status_code == 422, operation_time
        assert "operation_time" in response.json()["detail"]
    room_id = owner.create_room()["id"]
    for body in ({}, {"title": None}, {"title": "   "}):
        response = owner.request("PATCH", f"/rooms/{room_id}", json=body)
        assert response.status_code == 422, body
    assert owner.ok("GET", f"/rooms/{room_id}")["version"] == 1


def test_a_snapshot_keeps_what_it_recorded_when_the_room_is_corrected_afterwards(as_user):
    owner = as_user("owner.record@corrections.example")
    room_id = owner.create_room("STS Lomé", location="Lomé")["id"]
    owner.add(room_id, "vessels", {"name": "MT Togo Star", "imo": IMOS[5], "vessel_type": "product", "flag": "TG"})
    before = owner.create_snapshot(room_id, "Before the correction")
    assert owner.wait_for_task(before["task_id"])["status"] == "completed"
    recorded = owner.ok("GET", f"/rooms/{room_id}/snapshots/{before['id']}")
    pdf = owner.request("GET", f"/rooms/{room_id}/snapshots/{before['id']}/download").content
    # When the vessel is corrected and a new snapshot made
    owner.ok("PATCH", f"/rooms/{room_id}/vessels/{IMOS[5]}", json={"name": "MT Lomé Star"})
    after = owner.create_snapshot(room_id, "Before the correction")
    assert owner.wait_for_task(after["task_id"])["status"] == "completed"
    # Then the first still holds what it recorded, byte for byte, and the new one differs
    assert owner.ok("GET", f"/rooms/{room_id}/snapshots/{before['id']}")["content_hash"] == recorded["content_hash"]
    assert owner.request("GET", f"/rooms/{room_id}/snapshots/{before['id']}/download").content == pdf
    assert owner.ok("GET", f"/rooms/{room_id}/snapshots/{after['id']}")["content_hash"] != recorded["content_hash"]


# ---------------------------------------------------------------- retry after a correction

BUDGET_ROWS = "8"  # the render budget of this test's own stack: a room over it is a few requests away


@pytest.fixture(scope="module")
def small_budget_stack():
    budget = {"REPORT_MAX_ROWS": BUDGET_ROWS}
    with LocalStack(
        port=0,
        start_schedules=False,
        stack_name="room-snapshots-budget",
        env_overrides={"ApiFunction": budget, "RendererFunction": budget},
    ) as running:
        yield running


def test_a_room_over_the_render_budget_is_not_retried_until_a_correction_brings_it_under(small_budget_stack):
    # Given a room of 5 parties and 4 approvals (9 rows, over a budget of 8), and its failed snapshot
    owner = ApiClient(small_budget_stack.base_url, small_budget_stack.mint_token("owner@budget.example"))
    room_id = owner.create_room("STS Kalamata", location="Kalamata")["id"]
    for n in range(4):
        owner.add(room_id, "parties", {"email": f"p{n}@budget.example", "company": "Ναυτιλιακή", "role": "viewer"})
    approvals = [owner.add(room_id, "approvals", {"status": "approved", "comment": f"✔ {n}"}) for n in range(4)]
    snapshot = owner.create_snapshot(room_id, "Approvals", include_activity=False)
    failed = owner.wait_for_task(snapshot["task_id"])
    assert failed["status"] == "failed"
    assert failed["error"].startswith("the room is too large to print: 9 rows")
    # When it is retried, it is refused with the reason, as long as the room is over the budget
    refused = owner.request("POST", f"/snapshots/tasks/{snapshot['task_id']}/retry")
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("retrying would fail the same way: the room is too large to print")
    # And once an approval is withdrawn, the retry is a new snapshot that completes
    assert owner.request("DELETE", f"/rooms/{room_id}/approvals/{approvals[0]['id']}").status_code == 204
    retried = owner.request("POST", f"/snapshots/tasks/{snapshot['task_id']}/retry")
    assert retried.status_code == 201, retried.text
    assert owner.wait_for_task(retried.json()["task_id"])["status"] == "completed"
    assert json.loads(retried.text)["include_activity"] is False
