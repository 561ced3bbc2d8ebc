"""The verification page, as someone holding a snapshot's PDF uses it: signed out, they learn whether the
service issued the file (and nothing of the room); a tampered copy is not issued; a party signed in also sees
the room's title. At a desktop's and a phone's size."""

import pytest

from tests.browser.helpers import screenshot, seed_room
from tests.signatures import flipped

OWNER = "owner.verify@example.com"


@pytest.fixture
def issued_pdf(api, tmp_path):
    room_id, snapshot = seed_room(api, OWNER, "STS Ras Tanura — 拉斯坦努拉")
    pdf = api(OWNER).request("GET", f"/rooms/{room_id}/snapshots/{snapshot['id']}/download").content
    genuine, tampered = tmp_path / "snapshot.pdf", tmp_path / "snapshot-edited.pdf"
    genuine.write_bytes(pdf)
    tampered.write_bytes(flipped(pdf, len(pdf) // 3))
    return {"snapshot": snapshot, "genuine": genuine, "tampered": tampered}


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_anyone_tells_an_issued_pdf_from_a_tampered_copy(stack, browser, issued_pdf, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{stack.base_url}/verify")
    page.get_by_role("heading", name="Verify a snapshot").wait_for()
    chooser = page.get_by_label("PDF file")

    chooser.set_input_files(str(issued_pdf["genuine"]))
    verdict = page.get_by_role("heading", name="Issued by this service", exact=True)
    verdict.wait_for()
    assert page.get_by_text(issued_pdf["snapshot"]["id"]).first.is_visible()
    assert page.get_by_text("Ras Tanura").count() == 0  # nothing of the room to someone not signed in
    screenshot(page, f"verify-issued-{width}")

    chooser.set_input_files(str(issued_pdf["tampered"]))
    page.get_by_role("heading", name="Not issued by this service").wait_for()
    assert page.get_by_role("heading", name="Issued by this service", exact=True).count() == 0
    screenshot(page, f"verify-not-issued-{width}")
    context.close()


def test_a_party_signed_in_also_sees_the_room(sign_in, issued_pdf):
    session = sign_in(OWNER)
    page = session.page
    page.get_by_role("link", name="Verify a PDF").click()
    page.get_by_label("PDF file").set_input_files(str(issued_pdf["genuine"]))
    page.get_by_role("heading", name="Issued by this service", exact=True).wait_for()
    assert page.get_by_text("STS Ras Tanura — 拉斯坦努拉").is_visible()
    assert session.problems.seen == []
    screenshot(page, "verify-party")
