"""make bench-live: how soon an open room page shows a finished snapshot, pushed over the room's channel.

An emulated stack of its own, Chromium on a room's snapshots page, then N snapshots made one after another
through the API. For each: the delay from the renderer's completion (the task's completed_at, the server's
clock, which is this machine's) to the moment the page's bar for it shows 100 % or its status says completed
(Date.now() in the page, taken by a MutationObserver installed before the app loads). Prints p50/p95/max,
and apart the part from completion to the socket's delivery of the completed event (taken by a listener on
the page's WebSocket), the channel's data messages per snapshot and the bulk-status calls the page made. It
measures; it asserts nothing. `python -m scripts.live_delay [N]`.
"""

import contextlib
import json
import os
import statistics
import sys
import time
from datetime import datetime

from playwright.sync_api import sync_playwright
from template_emulator.emulator import Emulator

from scripts.local import emulate
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, REALTIME
from tests.support import ApiClient

OWNER = "owner.live-delay@example.com"
SNAPSHOTS = 30
TIMEOUT_S = 60

# Records, per snapshot title, when its item first shows a full bar or the completed status; and, per snapshot
# id, when the page's socket delivered its completed event.
OBSERVER = """
window.__shownAt = {};
window.__completedEventAt = {};
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type !== "data") return;
      const event = JSON.parse(frame.event);
      if (event.status === "completed") window.__completedEventAt[event.snapshot_id] ??= Date.now();
    });
  }
};
new MutationObserver(() => {
  for (const item of document.querySelectorAll("li.snapshot")) {
    const title = item.querySelector("h3")?.textContent;
    if (!title || title in window.__shownAt) continue;
    const bar = item.querySelector("progress");
    if ((bar && bar.value === 100) || item.querySelector(".status")?.textContent === "completed")
      window.__shownAt[title] = Date.now();
  }
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


def epoch_ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(count: int = SNAPSHOTS) -> None:
    with open(os.devnull, "w") as devnull:
        with contextlib.redirect_stdout(devnull):  # the functions' log lines go there for the stack's life
            stack = emulate(port=0, start_schedules=False, stack_name="room-snapshots-live-delay")
        with stack:
            measure(stack, count)


def measure(stack: Emulator, count: int) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.add_init_script(OBSERVER)
        frames: list[dict] = []
        bulk_status: list[str] = []

        def opened(socket) -> None:
            if REALTIME.search(socket.url):
                socket.on("framereceived", lambda payload: frames.append(json.loads(payload)))

        page.on("websocket", opened)
        page.on("request", lambda request: "/tasks/bulk-status" in request.url and bulk_status.append(request.url))

        owner = ApiClient(stack.base_url, stack.mint_token(OWNER))
        room_id = owner.create_room("STS Live delay")["id"]
        page.goto(f"{stack.base_url}/_local/sign-in?email={OWNER}")
        page.wait_for_url(f"{stack.base_url}/")
        page.goto(f"{stack.base_url}/rooms/{room_id}/snapshots")
        page.get_by_text("No snapshots of this room yet.").wait_for()
        subscribed = wait(page, lambda: any(frame.get("type") == "subscribe_success" for frame in frames), 30)
        print(f"channel {'up' if subscribed else 'NOT up (the page polls)'}; {count} snapshots, one after another")

        delays: list[float] = []
        to_socket: list[float] = []
        finished: list[str] = []
        missing = 0
        for number in range(1, count + 1):
            title = f"Snapshot {number}"
            snapshot = owner.create_snapshot(room_id, title)
            task = owner.wait_for_task(snapshot["task_id"], timeout=TIMEOUT_S)
            shown = wait(page, lambda t=title: page.evaluate("t => window.__shownAt[t] ?? null", t), TIMEOUT_S)
            if task["status"] != "completed" or not shown:
                missing += 1
                print(f"  {title}: {task['status']}, shown: {shown}")
                continue
            completed_ms = epoch_ms(task["completed_at"])
            delays.append(shown - completed_ms)
            finished.append(snapshot["id"])
            if at := page.evaluate("id => window.__completedEventAt[id] ?? null", snapshot["id"]):
                to_socket.append(at - completed_ms)

        page.wait_for_timeout(2000)  # the last frames reach this process
        data_per_snapshot = [sum(1 for event in events(frames) if event.get("snapshot_id") == id) for id in finished]
        if delays:
            print(
                f"completion → shown (ms): p50 {percentile(delays, 0.5):.0f}  p95 {percentile(delays, 0.95):.0f}  "
                f"max {max(delays):.0f}  (n={len(delays)}, min {min(delays):.0f})"
            )
        if to_socket:
            print(
                f"  of which completion → completed event at the socket (ms): p50 {percentile(to_socket, 0.5):.0f}  "
                f"p95 {percentile(to_socket, 0.95):.0f}  max {max(to_socket):.0f}  (n={len(to_socket)})"
            )
            print(
                f"channel data messages per snapshot: mean {statistics.mean(data_per_snapshot):.1f}  "
                f"min {min(data_per_snapshot)}  max {max(data_per_snapshot)}"
            )
        print(f"bulk-status requests: {len(bulk_status)}; not shown as completed: {missing}")
        browser.close()


def events(frames: list[dict]) -> list[dict]:
    return [json.loads(frame["event"]) for frame in frames if frame.get("type") == "data"]


def wait(page, condition, timeout: float):
    """The condition's value once truthy, letting the page (and Playwright's events) run meanwhile; None if never."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        page.wait_for_timeout(20)
    return None


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else SNAPSHOTS)
