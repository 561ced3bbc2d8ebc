"""A viewer reads and downloads, sees no control it may not use, and a write it forges is refused."""

import re

from tests.browser.helpers import screenshot, seed_room

VIEWER = "viewer.browser@example.com"
FORGE = """async ([path, body]) => {
  const key = Object.keys(sessionStorage).find((name) => name.startsWith("oidc.user:"));
  const token = JSON.parse(sessionStorage.getItem(key)).id_token;
  const response = await fetch(path, {
    method: "POST",
    headers: {Authorization: `Bearer ${token}`, "Content-Type": "application/json"},
    body: JSON.stringify(body),
  });
  return {status: response.status, type: response.headers.get("content-type"), body: await response.json()};
}"""


def test_a_viewer_sees_no_write_controls_and_a_forged_write_is_refused(sign_in, api):
    room_id, _ = seed_room(api, "owner.viewer@example.com", "STS Viewer", viewer=VIEWER)
    session = sign_in(VIEWER)
    page = session.page

    page.get_by_role("link", name="STS Viewer").click()
    page.get_by_role("heading", name="STS Viewer").wait_for()
    page.get_by_role("cell", name="Q88", exact=True).wait_for()
    assert page.get_by_text("Your role: viewer").is_visible()
    assert page.get_by_role("form").count() == 0
    assert page.get_by_role("combobox").count() == 0
    assert page.get_by_role("button", name=re.compile("Change role|Remove|Set status")).count() == 0
    assert page.get_by_role("link", name="Webhooks").count() == 0
    screenshot(page, "viewer-room")

    page.get_by_role("link", name="Snapshots", exact=True).click()
    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Seeded snapshot"))
    item.get_by_role("button", name="Download PDF of Seeded snapshot").wait_for()
    assert page.get_by_role("form", name="Create a snapshot").count() == 0
    assert item.get_by_role("button", name=re.compile("^(Delete|Cancel)")).count() == 0
    assert session.problems.seen == []

    vessel = {"name": "MT Forged", "imo": "9176187", "vessel_type": "tanker", "flag": "PA"}
    for path, body in [
        (f"/api/v1/rooms/{room_id}/vessels", vessel),
        (f"/api/v1/rooms/{room_id}/snapshots", {"title": "Forged"}),
    ]:
        forged = page.evaluate(FORGE, [path, body])
        assert forged["status"] == 403, forged
        assert forged["type"] == "application/problem+json"
        assert "viewer" in forged["body"]["detail"]
        assert forged["body"]["request_id"]
