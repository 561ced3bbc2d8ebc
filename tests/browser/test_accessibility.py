"""Keyboard-only use reaches and operates every control, with a visible focus; axe-core finds nothing critical."""

import re

from tests.browser.helpers import axe_violations, operable_elements, screenshot, seed_room, tab_through, tab_to

OWNER = "owner.keyboard@example.com"


def room_pages(base_url: str, room_id: str) -> dict[str, tuple[str, str]]:
    """Each room page: its URL and a heading that shows it has loaded."""
    room = f"{base_url}/rooms/{room_id}"
    return {
        "room data": (room, "Parties"),
        "snapshots": (f"{room}/snapshots", "Snapshots"),
        "activity": (f"{room}/activity", "Activity"),
        "webhooks": (f"{room}/webhooks", "Webhooks"),
    }


def test_the_keyboard_reaches_every_control_of_every_page_with_a_visible_focus(stack, sign_in, api):
    room_id, _ = seed_room(api, OWNER, "STS Keyboard", viewer="viewer.keyboard@example.com")
    page = sign_in(OWNER).page
    pages = {"rooms": (f"{stack.base_url}/", "My rooms"), **room_pages(stack.base_url, room_id)}

    for name, (url, heading) in pages.items():
        page.goto(url)
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        page.wait_for_load_state("networkidle")
        controls = operable_elements(page)
        stops = tab_through(page, limit=3 * len(controls) + 20)  # date and time inputs have a stop per part

        reached = {stop["id"] for stop in stops}
        assert [control for index, control in enumerate(controls) if str(index) not in reached] == [], name
        assert [stop for stop in stops if not stop["outline"]] == [], f"{name}: focus not visible"


def test_a_snapshot_is_made_and_downloaded_with_the_keyboard_alone(stack, sign_in, api):
    room_id, _ = seed_room(api, OWNER, "STS Keys only")
    session = sign_in(OWNER)
    page = session.page
    page.goto(f"{stack.base_url}/rooms/{room_id}/snapshots")
    page.get_by_role("heading", name="Create a snapshot").wait_for()

    tab_to(page, "input[name=title]")
    page.keyboard.type("Typed, not clicked")
    tab_to(page, "input[name=include_activity]")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")  # submits the form

    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Typed, not clicked"))
    item.get_by_text("100 % · Completed").wait_for()
    assert "activity" not in item.inner_text().split("·")[1]
    tab_to(page, "button", text="Download PDF of Typed, not clicked")
    with page.expect_download() as downloading:
        page.keyboard.press("Enter")
    assert downloading.value.suggested_filename.endswith(".pdf")

    page.goto(f"{stack.base_url}/rooms/{room_id}")
    page.get_by_role("heading", name="Documents").wait_for()
    tab_to(page, "select:not([name])")  # the first document's status
    page.keyboard.press("End")  # the last status: expired
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_role("table", name="Documents").locator("select").first.wait_for()
    page.get_by_role("link", name="Activity", exact=True).focus()
    page.keyboard.press("Enter")
    page.get_by_role("table", name="Activity").get_by_text(re.compile("→ expired$")).wait_for()
    assert session.problems.seen == []


def test_axe_finds_no_critical_violation_on_any_page(stack, browser, sign_in, api):
    room_id, _ = seed_room(api, OWNER, "STS Axe", viewer="viewer.axe@example.com")
    found = {}

    signed_out = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = signed_out.new_page()
    page.goto(f"{stack.base_url}/")
    page.get_by_role("button", name="Sign in").wait_for()
    found["signed out"] = axe_violations(page)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Email").wait_for()
    found["development sign-in"] = axe_violations(page)
    signed_out.close()

    page = sign_in("admin.axe@example.com", admin=True, bypass_csp=True).page
    pages = {
        "rooms": (f"{stack.base_url}/", "All rooms"),
        **room_pages(stack.base_url, room_id),
        "dashboard": (f"{stack.base_url}/admin", "Dashboard"),
    }
    for name, (url, heading) in pages.items():
        page.goto(url)
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        page.wait_for_load_state("networkidle")
        found[name] = axe_violations(page)
        screenshot(page, f"admin-{name.replace(' ', '-')}")

    assert {name: violations for name, violations in found.items() if violations} == {}
