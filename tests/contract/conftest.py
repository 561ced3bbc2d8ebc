"""Contract tests: the API against its own OpenAPI description, on a local stack (real HTTP, real JWTs)."""

import pytest

from tests.support import IMOS, ApiClient

OWNER = "owner@contract.example"
ADMIN = "admin@contract.example"


@pytest.fixture(scope="package")
def tokens(stack) -> dict[str, str]:
    return {"owner": stack.mint_token(OWNER), "admin": stack.mint_token(ADMIN, admin=True)}


@pytest.fixture(scope="package")
def seeded(stack, tokens) -> dict[str, str]:
    """Path parameter values that exist: a room the owner owns, a vessel, a document, an approval and
    a party (the owner) in it, a completed snapshot and a webhook with a message, so that operations
    on them can reach their success responses. (The webhook's receiver is a loopback port nobody
    serves: its attempts fail.)"""
    owner = ApiClient(stack.base_url, tokens["owner"])
    room_id = owner.create_room("Contract STS")["id"]
    vessel = owner.add(
        room_id, "vessels", {"name": "ناقلة الخليج", "imo": IMOS[0], "vessel_type": "VLCC", "flag": "AE"}
    )
    document = owner.add(room_id, "documents", {"name": "Q88", "document_type": "questionnaire", "status": "uploaded"})
    approval = owner.add(room_id, "approvals", {"status": "approved", "comment": "ok 👍"})
    snapshot = owner.create_snapshot(room_id, "Seeded")
    owner.wait_for_task(snapshot["task_id"])
    webhook = owner.ok(
        "POST", f"/rooms/{room_id}/webhooks", 201, json={"url": "http://127.0.0.1:9/", "events": ["snapshot.failed"]}
    )
    message = owner.ok("POST", f"/rooms/{room_id}/webhooks/{webhook['id']}/test", 202)
    return {
        "room_id": room_id,
        "document_id": document["id"],
        "imo": vessel["imo"],
        "approval_id": approval["id"],
        "email": OWNER,
        "snapshot_id": snapshot["id"],
        "task_id": snapshot["task_id"],
        "webhook_id": webhook["id"],
        "message_id": message["message_id"],
    }
