"""An owner changes a party's role and removes a party; against an API without those routes yet, the page
says so instead of failing."""

from tests.browser.helpers import seed_room

OWNER = "owner.parties@example.com"
BROKER = "broker.parties@example.com"


def test_an_owner_changes_a_role_and_removes_a_party_or_is_told_the_server_cannot_yet(sign_in, api):
    room_id, _ = seed_room(api, OWNER, "STS Parties")
    owner = api(OWNER)
    owner.add(room_id, "parties", {"email": BROKER, "company": "Brokers Ltd", "role": "broker"})
    probe = owner.request("PATCH", f"/rooms/{room_id}/parties/nobody@example.com", json={"role": "viewer"})
    supported = not (probe.status_code == 405 or probe.json().get("detail") == "no such route")
    session = sign_in(OWNER)
    page = session.page
    page.get_by_role("link", name="STS Parties").click()
    row = page.get_by_role("table", name="Parties").get_by_role("row").filter(has_text=BROKER)

    row.get_by_label(f"New role of {BROKER}").select_option("inspector")
    row.get_by_role("button", name=f"Change role of {BROKER}").click()
    if not supported:
        row.get_by_text("This server cannot change parties yet.").wait_for()
        return
    row.get_by_role("cell", name="inspector", exact=True).wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=f"Remove {BROKER}").click()
    row.wait_for(state="detached")
    assert session.problems.seen == []
