"""What the browser tests do to a page besides clicking: screenshots, axe-core, walking it by keyboard, watching
its live channel."""

import json
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / ".local" / "screenshots"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
# Chromium as root in a sandbox-less container, with nothing reaching out to the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The AppSync Events realtime endpoint the page connects to (/config.json's events.realtime).
REALTIME = re.compile(r"/event/realtime$")

# Everything a person can operate; disabled controls and those inside closed <details> are not reachable.
FOCUSABLE = "a[href], button, input, select, textarea, summary, iframe, [tabindex]:not([tabindex='-1'])"


def screenshot(page, name: str) -> None:
    """Kept under .local/screenshots/ (ignored by git) for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(page, impacts: tuple[str, ...] = ("critical",)) -> list[str]:
    """axe-core's violations of these impacts, one line each (the page's context must bypass its CSP)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['impact']}: {violation['id']} ({violation['help']}) at "
        + ", ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in impacts
    ]


def operable_elements(page) -> list[str]:
    """A description of every visible, enabled control, marking each with data-keyboard-id to recognise it."""
    return page.evaluate(
        """selector => [...document.querySelectorAll(selector)]
            .filter(element => !element.disabled && element.getClientRects().length && !element.closest('[hidden]'))
            .map((element, index) => {
              element.dataset.keyboardId = String(index);
              return `${element.tagName.toLowerCase()} "${(element.innerText || element.value || element.name ||
                element.getAttribute('aria-label') || '').trim().slice(0, 40)}"`;
            })""",
        FOCUSABLE,
    )


def tab_through(page, limit: int) -> list[dict]:
    """Presses Tab up to `limit` times from the top of the page; for each focus: its keyboard id and outline."""
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => {
              const element = document.activeElement;
              const style = getComputedStyle(element);
              // Focus inside a date input but not on it is on its calendar button, ringed by the browser itself.
              const onCalendarButton = /^(date|datetime-local)$/.test(element.type) && !element.matches(':focus');
              const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
              return {id: element.dataset.keyboardId ?? null, tag: element.tagName.toLowerCase(),
                      outline: onCalendarButton || outlined};
            }"""
        )
        if stop["tag"] == "body":
            break
        stops.append(stop)
    return stops


def tab_to(page, selector: str, text: str | None = None, limit: int = 200) -> None:
    """Presses Tab until the focused element matches the selector (and has this text), as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "([selector, text]) => document.activeElement.matches(selector) &&"
            " (text === null || document.activeElement.textContent === text)",
            [selector, text],
        ):
            return
    raise AssertionError(f"Tab never reached {selector} {text or ''}")


def seed_room(api, owner: str, title: str, viewer: str | None = None) -> tuple[str, dict]:
    """A room with a party, a vessel, a document, an approval and a completed snapshot, made through the API."""
    client = api(owner)
    room_id = client.create_room(title)["id"]
    if viewer:
        client.add(room_id, "parties", {"email": viewer, "company": "Vetting Ltd", "role": "viewer"})
    vessel = {"name": "MT Seawise", "imo": "9074729", "vessel_type": "crude tanker", "flag": "MT"}
    client.add(room_id, "vessels", vessel)
    client.add(room_id, "documents", {"name": "Q88", "document_type": "questionnaire", "status": "uploaded"})
    client.add(room_id, "approvals", {"status": "approved", "comment": "Mooring plan checked"})
    snapshot = client.create_snapshot(room_id, "Seeded snapshot")
    client.wait_for_task(snapshot["task_id"])
    return room_id, snapshot


class ChannelFrames:
    """What the page's realtime sockets received, each frame parsed (page.on("websocket")), and waiting for one."""

    def __init__(self, page):
        self.page = page
        self.received: list[dict] = []
        self.sockets = 0
        page.on("websocket", self._opened)

    def _opened(self, socket) -> None:
        if REALTIME.search(socket.url):
            self.sockets += 1
            socket.on("framereceived", lambda payload: self.received.append(json.loads(payload)))

    def of_type(self, kind: str) -> list[dict]:
        return [frame for frame in self.received if frame.get("type") == kind]

    def events(self) -> list[dict]:
        """The events the data frames carried (each frame's "event" is a JSON string)."""
        return [json.loads(frame["event"]) for frame in self.of_type("data")]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 30) -> None:
        wait_until(self.page, lambda: len(self.of_type(kind)) >= count, timeout, f"{count} {kind} frame(s)")


def wait_until(page, condition, timeout: float, what: str) -> None:
    """Lets the page run (and Playwright deliver its events) until the condition holds; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        page.wait_for_timeout(50)
