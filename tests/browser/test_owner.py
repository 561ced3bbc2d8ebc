"""An owner's day: sign in, create a room, add a vessel and a document, make a snapshot, watch it finish,
preview it, download it and read it."""

import re
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from tests.browser.helpers import screenshot

IMO = "9074729"


def test_an_owner_creates_a_room_and_a_snapshot_and_downloads_it(stack, sign_in):
    session = sign_in("owner.browser@example.com")
    page = session.page
    bulk_status_calls = []
    page.on("request", lambda request: "/tasks/bulk-status" in request.url and bulk_status_calls.append(request))
    screenshot(page, "rooms")

    page.get_by_label("Title").fill("STS Malta")
    page.get_by_label("Location").fill("Hurd's Bank")
    page.get_by_label("Operation time (UTC)").fill("2026-12-05T06:00")
    page.get_by_role("button", name="Create room").click()
    page.get_by_role("heading", name="STS Malta").wait_for()
    assert re.fullmatch(rf"{re.escape(stack.base_url)}/rooms/[0-9a-z]{{26}}", page.url)

    vessel = page.get_by_role("form", name="Add a vessel")
    vessel.get_by_label("Name").fill("MT Seawise")
    vessel.get_by_label("IMO number").fill(IMO)
    vessel.get_by_label("Type").fill("crude tanker")
    vessel.get_by_label("Flag").fill("MT")
    vessel.get_by_role("button", name="Add vessel").click()
    page.get_by_role("cell", name=IMO, exact=True).wait_for()

    expiring = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    document = page.get_by_role("form", name="Add a document")
    document.get_by_label("Name").fill("Q88")
    document.get_by_label("Type").fill("questionnaire")
    document.get_by_label("Expires on").fill(expiring)
    document.get_by_label("Vessel").select_option(IMO)
    document.get_by_role("button", name="Add document").click()
    documents = page.get_by_role("table", name="Documents")
    documents.get_by_role("cell", name="Q88", exact=True).wait_for()
    assert documents.get_by_text("expires in 10 days").is_visible()
    assert document.get_by_label("Status").input_value() == "uploaded"  # the form started afresh
    screenshot(page, "room-data")

    page.get_by_role("link", name="Snapshots", exact=True).click()
    create = page.get_by_role("form", name="Create a snapshot")
    create.get_by_label("Title").fill("Before transfer")
    create.get_by_label("Activity").uncheck()
    create.get_by_role("button", name="Create snapshot").click()

    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Before transfer"))
    bar = item.get_by_role("progressbar", name="Progress of Before transfer")
    bar.wait_for()
    page.wait_for_function("bar => bar.value === 100", arg=bar.element_handle(), timeout=30_000)
    assert item.get_by_text("100 % · Completed").is_visible()
    assert item.get_by_text("completed", exact=True).is_visible()
    assert "parties, vessels, documents, approvals" in item.inner_text()
    # Told by the room's channel (at most a reconcile), or, were it down, polled as Retry-After says: no fast loop.
    assert len(bulk_status_calls) <= 10

    item.get_by_role("button", name="Preview of Before transfer").click()
    preview = item.locator("iframe[title='Preview of Before transfer']")
    preview.wait_for()
    assert preview.get_attribute("src").startswith("blob:")
    page.wait_for_timeout(1000)  # the PDF viewer paints
    screenshot(page, "snapshots")

    with page.expect_download() as downloading:
        item.get_by_role("button", name="Download PDF of Before transfer").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = PdfReader(download.path())
    text = "\n".join(pdf_page.extract_text() for pdf_page in pdf.pages)
    for printed in ("Before transfer", "STS Malta", "Hurd's Bank", "MT Seawise", IMO, "Q88", session.email):
        assert printed in text

    page.get_by_role("link", name="Activity", exact=True).click()
    log = page.get_by_role("table", name="Activity")
    log.get_by_role("cell", name="vessel.added", exact=True).wait_for()
    assert log.get_by_role("cell", name=re.compile("^snapshot.downloaded")).count() >= 1
    screenshot(page, "activity")

    assert session.problems.seen == []


def test_an_expired_document_is_flagged_and_its_status_can_be_changed(sign_in, api):
    owner = api("owner.documents@example.com")
    room_id = owner.create_room("STS Documents")["id"]
    owner.add(room_id, "documents", {"name": "Old P&I", "document_type": "insurance", "expires_on": "2020-01-31"})
    far = (datetime.now(UTC).date() + timedelta(days=400)).isoformat()
    owner.add(room_id, "documents", {"name": "Class certificate", "document_type": "class", "expires_on": far})
    session = sign_in("owner.documents@example.com")
    page = session.page

    page.get_by_role("link", name="STS Documents").click()
    documents = page.get_by_role("table", name="Documents")
    old = documents.get_by_role("row").filter(has_text="Old P&I")
    old.locator(".flag").wait_for()
    assert old.locator(".flag").inner_text() == "expired"
    assert documents.get_by_role("row").filter(has_text="Class certificate").locator(".flag").count() == 0

    old.get_by_label("Status of Old P&I").select_option("rejected")
    old.get_by_role("button", name="Set status of Old P&I").click()
    page.get_by_role("link", name="Activity", exact=True).click()
    page.get_by_role("table", name="Activity").get_by_text("rejected").wait_for()

    assert session.problems.seen == []
