"""Snapshots end to end over real HTTP: create without waiting, render in the background, reuse
by content hash, download a real PDF."""

import io
import time

import requests
from pypdf import PdfReader

from tests.support import IMOS

NAMES = {
    "party": "Ελληνική Ναυτιλία Α.Ε.",
    "company": "Совкомфлот",
    "vessel": "Işıklar Denizcilik Ağ",
    "document": "中远海运 检验证书",
    "markup": '<b>A&B "Ltd"</b>',
}


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def room_with_data(api) -> str:
    room_id = api.create_room("STS Lisbon")["id"]
    api.add(room_id, "parties", {"email": "greek@x.io", "company": NAMES["party"], "role": "operator"})
    api.add(room_id, "parties", {"email": "ru@x.io", "company": NAMES["company"], "role": "inspector"})
    api.add(room_id, "parties", {"email": "viewer.snap@x.io", "company": NAMES["markup"], "role": "viewer"})
    api.add(room_id, "vessels", {"name": NAMES["vessel"], "imo": IMOS[2], "vessel_type": "tanker", "flag": "TR"})
    api.add(
        room_id,
        "documents",
        {"name": NAMES["document"], "document_type": "certificate", "status": "approved", "expires_on": "2027-05-01"},
    )
    return room_id


def test_a_snapshot_is_created_at_once_rendered_in_the_background_and_downloaded(stack, as_user):
    owner = as_user("owner.snap@x.io")
    room_id = room_with_data(owner)
    # When the owner asks for a snapshot, the answer comes at once, in the legacy shape
    response = owner.request(
        "POST", f"/rooms/{room_id}/snapshots", json={"title": "Before transfer", "snapshot_type": "pdf"}
    )
    assert response.status_code == 201
    snapshot = response.json()
    assert snapshot["status"] == "generating"
    assert snapshot["file_size"] == 0
    assert snapshot["task_id"] == f"snapshot-{snapshot['id']}"
    assert snapshot["download_url"] == f"/api/v1/rooms/{room_id}/snapshots/{snapshot['id']}/download"
    assert response.headers["Location"] == f"/api/v1/rooms/{room_id}/snapshots/{snapshot['id']}"
    for field in ("id", "room_id", "title", "created_by", "created_at", "snapshot_type"):
        assert snapshot[field]
    # Then the task completes in the background
    task = owner.wait_for_task(snapshot["task_id"])
    assert task["status"] == "completed"
    assert task["progress"] == 100
    assert task["error"] is None
    assert task["task_type"] == "generate_pdf"
    assert task["started_at"]
    assert task["completed_at"]
    assert task["stage"]
    done = owner.ok("GET", f"/rooms/{room_id}/snapshots/{snapshot['id']}")
    assert done["status"] == "completed"
    assert done["file_size"] > 1000
    assert done["cache_layer"] == "rendered"
    assert len(done["content_hash"]) == 64
    assert {"queue_wait_ms", "gather_ms", "render_ms", "store_ms", "total_ms"} <= {
        k for k, v in done["timings"].items() if v is not None
    }
    # And the download is a real PDF holding the room's names as written, in any script
    pdf = owner.request("GET", done["download_url"].removeprefix("/api/v1"))
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith('attachment; filename="Before-transfer-')
    assert pdf.content.startswith(b"%PDF-")
    assert len(pdf.content) == done["file_size"]
    text = pdf_text(pdf.content)
    for name in ("STS Lisbon", "Before transfer", *NAMES.values()):
        assert name in text, name


def test_a_second_identical_snapshot_is_served_from_the_cache_and_shares_the_pdf(stack, as_user):
    owner = as_user("owner.cache@x.io")
    room_id = room_with_data(owner)
    first = owner.create_snapshot(room_id, "Same title")
    first_done = owner.wait_for_task(first["task_id"])
    second = owner.create_snapshot(room_id, "Same title")
    owner.wait_for_task(second["task_id"])
    a = owner.ok("GET", f"/rooms/{room_id}/snapshots/{first['id']}")
    b = owner.ok("GET", f"/rooms/{room_id}/snapshots/{second['id']}")
    assert first_done["result"]["cache_layer"] == "rendered"
    assert b["cache_layer"] in ("memory", "s3")
    assert b["timings"]["render_ms"] is None
    assert a["content_hash"] == b["content_hash"]
    s3 = stack.client("s3")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=stack.resources["PdfBucket"], Prefix=f"pdf/{a['content_hash']}")["Contents"]
    ]
    assert keys == [f"pdf/{a['content_hash']}.pdf"]
    # A change to the room gives a new hash and a new PDF that shows the change
    owner.add(room_id, "vessels", {"name": "MT Newcomer", "imo": IMOS[3], "vessel_type": "tanker", "flag": "MT"})
    third = owner.create_snapshot(room_id, "Same title")
    owner.wait_for_task(third["task_id"])
    c = owner.ok("GET", f"/rooms/{room_id}/snapshots/{third['id']}")
    assert c["content_hash"] != a["content_hash"]
    assert c["cache_layer"] == "rendered"
    assert "MT Newcomer" in pdf_text(owner.request("GET", f"/rooms/{room_id}/snapshots/{third['id']}/download").content)
    # Snapshots list newest first, a page at a time
    page = owner.request("GET", f"/rooms/{room_id}/snapshots", params={"limit": 2})
    assert [s["id"] for s in page.json()] == [third["id"], second["id"]]
    rest = owner.ok("GET", f"/rooms/{room_id}/snapshots", params={"cursor": page.headers["X-Next-Cursor"]})
    assert [s["id"] for s in rest] == [first["id"]]


def cancelled_snapshot(api, room_id: str, attempts: int = 5) -> dict:
    """A snapshot cancelled before it completed. The cancel races a renderer that starts within
    milliseconds; a lost race (409, already completed) is tried again with a new snapshot."""
    for attempt in range(attempts):
        snapshot = api.create_snapshot(room_id, f"Never rendered {attempt}")
        if api.request("POST", f"/snapshots/tasks/{snapshot['task_id']}/cancel").status_code == 200:
            return snapshot
    raise AssertionError(f"the renderer completed {attempts} snapshots before they could be cancelled")


def test_downloads_redirect_to_s3_on_request_and_wait_for_completion(stack, as_user):
    owner = as_user("owner.dl@x.io")
    room_id = room_with_data(owner)
    snapshot = owner.create_snapshot(room_id, "Redirected")
    cancelled = cancelled_snapshot(owner, room_id)
    owner.wait_for_task(snapshot["task_id"])
    redirect = owner.request(
        "GET",
        f"/rooms/{room_id}/snapshots/{snapshot['id']}/download",
        params={"redirect": "true"},
        allow_redirects=False,
    )
    assert redirect.status_code == 307
    presigned = requests.get(redirect.headers["Location"], timeout=10)
    assert presigned.status_code == 200
    assert presigned.content.startswith(b"%PDF-")
    assert "X-Amz-Expires=300" in redirect.headers["Location"]
    not_ready = owner.request("GET", f"/rooms/{room_id}/snapshots/{cancelled['id']}/download")
    assert not_ready.status_code == 409
    assert "cancelled" in not_ready.json()["detail"]
    # Every create, download, cancel is in the room's activity log
    actions = [e["action"] for e in owner.ok("GET", f"/rooms/{room_id}/activity", params={"limit": 100})]
    assert {"snapshot.created", "snapshot.downloaded", "snapshot.cancelled"} <= set(actions)


def test_snapshot_permissions(stack, as_user):
    owner = as_user("owner.sperm@x.io")
    room_id = room_with_data(owner)
    other_room = owner.create_room("Other")["id"]
    snapshot = owner.create_snapshot(room_id)
    viewer, stranger = as_user("viewer.snap@x.io"), as_user("stranger.snap@x.io")
    # A viewer may not create, cancel or delete, but may read and download
    assert viewer.request("POST", f"/rooms/{room_id}/snapshots", json={"title": "x"}).status_code == 403
    assert viewer.request("POST", f"/snapshots/tasks/{snapshot['task_id']}/cancel").status_code == 403
    assert viewer.request("DELETE", f"/rooms/{room_id}/snapshots/{snapshot['id']}").status_code == 403
    owner.wait_for_task(snapshot["task_id"])
    assert viewer.request("GET", f"/rooms/{room_id}/snapshots/{snapshot['id']}/download").status_code == 200
    # Another room's path does not reach this snapshot; a stranger sees neither it nor its task
    assert owner.request("GET", f"/rooms/{other_room}/snapshots/{snapshot['id']}").status_code == 404
    assert stranger.request("GET", f"/rooms/{room_id}/snapshots/{snapshot['id']}").status_code == 404
    assert stranger.request("GET", f"/snapshots/tasks/{snapshot['task_id']}").status_code == 404
    assert stranger.request("POST", f"/rooms/{room_id}/snapshots", json={"title": "x"}).status_code == 404
    # Deleting removes the snapshot, and leaves the PDF for other snapshots that share it
    twin = owner.create_snapshot(room_id)
    owner.wait_for_task(twin["task_id"])
    assert owner.request("DELETE", f"/rooms/{room_id}/snapshots/{snapshot['id']}").status_code == 204
    assert owner.request("GET", f"/rooms/{room_id}/snapshots/{snapshot['id']}").status_code == 404
    assert owner.request("GET", f"/rooms/{room_id}/snapshots/{twin['id']}/download").content.startswith(b"%PDF-")


def test_the_correlation_id_travels_from_the_request_to_the_renderer(stack, as_user):
    owner = as_user("owner.corr@x.io")
    room_id = owner.create_room("Correlated")["id"]
    snapshot = owner.create_snapshot(room_id)
    owner.wait_for_task(snapshot["task_id"])
    deadline = time.monotonic() + 10  # the renderer logs its last line just after the task completes
    while not (renderer_lines := [r for r in stack.logs("RendererFunction") if r.get("snapshot_id") == snapshot["id"]]):
        assert time.monotonic() < deadline, "the renderer logged nothing about the snapshot"
        time.sleep(0.05)
    correlation_ids = {r.get("correlation_id") for r in renderer_lines}
    api_lines = [r for r in stack.logs("ApiFunction") if r.get("snapshot_id") == snapshot["id"]]
    assert len(correlation_ids) == 1
    assert None not in correlation_ids
    assert [r["correlation_id"] for r in api_lines] == list(correlation_ids)
