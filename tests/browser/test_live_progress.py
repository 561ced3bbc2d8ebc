"""Progress pushed over the room's channel (AppSync Events, emulated by the local stack): what a colleague does
shows up on an open page without polling; when the channel dies the page polls until it is back, then catches
up with one call; a stranger's subscribe is refused."""

import json
import re

from tests.browser.helpers import REALTIME, ChannelFrames, screenshot, wait_until

OWNER = "owner.live@example.com"
BROKER = "broker.live@example.com"
STRANGER = "stranger.live@example.com"
RENDER_TIMEOUT_S = 60  # a real render on a loaded machine


def shared_room(api, title: str) -> str:
    """A room of OWNER's with BROKER as a party: BROKER's snapshots are a colleague's to OWNER."""
    owner = api(OWNER)
    room_id = owner.create_room(title)["id"]
    owner.add(room_id, "parties", {"email": BROKER, "company": "Brokers Ltd", "role": "broker"})
    return room_id


def count_requests(page, pattern: str) -> list[str]:
    """The URLs of the page's requests matching the pattern, from now on."""
    seen: list[str] = []
    page.on("request", lambda request: re.search(pattern, request.url) and seen.append(request.url))
    return seen


def test_a_colleagues_snapshot_appears_finishes_and_goes_over_the_channel_with_no_polling(stack, sign_in, api):
    room_id = shared_room(api, "STS Live")
    session = sign_in(OWNER)
    page = session.page
    frames = ChannelFrames(page)
    page.goto(f"{stack.base_url}/rooms/{room_id}/snapshots")
    page.get_by_text("No snapshots of this room yet.").wait_for()
    frames.wait_for("subscribe_success")
    page.wait_for_load_state("networkidle")  # the reconcile, had there been anything to reconcile
    bulk_status = count_requests(page, r"/tasks/bulk-status")
    fetched = count_requests(page, rf"/rooms/{room_id}/snapshots/[0-9a-z]+$")

    snapshot = api(BROKER).create_snapshot(room_id, "Broker's check")
    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Broker's check"))
    item.get_by_text(re.compile(r"^100 % · ")).wait_for(timeout=RENDER_TIMEOUT_S * 1000)
    item.get_by_text("completed", exact=True).wait_for()
    assert "by broker.live@example.com" in item.inner_text()
    screenshot(page, "live-colleague")

    statuses = [event["status"] for event in frames.events() if event["snapshot_id"] == snapshot["id"]]
    assert statuses[0] == "pending", statuses
    assert statuses[-1] == "completed", statuses
    assert bulk_status == []  # the channel carried it all
    assert 1 <= len(fetched) <= 2, fetched  # once to list it, once for its size when it finished: no loop

    api(BROKER).ok("DELETE", f"/rooms/{room_id}/snapshots/{snapshot['id']}", 204)
    page.get_by_text("No snapshots of this room yet.").wait_for(timeout=30_000)  # its deletion came through
    assert bulk_status == []
    assert session.problems.seen == []


class Relay:
    """Routes the page's realtime socket through the test. Frames go both ways until the channel is cut: at the
    first event (withheld: the channel dies mid-way through a snapshot) when cut_at_first_event, or by cut().
    From then on every connection is refused, until restore()."""

    def __init__(self, cut_at_first_event: bool = True, drop_completions: bool = False):
        self.cut_at_first_event = cut_at_first_event
        self.drop_completions = drop_completions  # as a publish the notifier dropped: the socket stays up
        self.dropped = 0
        self.down = False
        self.refused = 0
        self.subscribed = 0
        self.sides: list = []

    def route(self, socket) -> None:
        if self.down:
            self.refused += 1
            socket.close()
            return
        server = socket.connect_to_server()
        self.sides += [socket, server]
        socket.on_message(lambda message: not self.down and server.send(message))
        server.on_message(lambda message: self._from_server(socket, message))

    def _from_server(self, socket, message) -> None:
        frame = json.loads(message)
        if self.down:
            return
        if frame.get("type") == "data" and self.cut_at_first_event:
            self.down = True
            return
        if frame.get("type") == "data" and self.drop_completions and '"completed"' in frame["event"]:
            self.dropped += 1
            return
        self.subscribed += frame.get("type") == "subscribe_success"
        socket.send(message)

    def cut(self) -> None:
        self.down = True
        self.close()

    def close(self) -> None:
        """Closes both sides of every socket so far (the page's sees the server close it)."""
        for side in self.sides:
            side.close()
        self.sides = []

    def restore(self) -> None:
        self.down = False


def test_when_the_channel_dies_mid_way_the_page_polls_and_the_snapshot_still_finishes(stack, sign_in, api):
    room_id = shared_room(api, "STS Live cut")
    session = sign_in(OWNER)
    page = session.page
    relay = Relay()
    page.route_web_socket(REALTIME, relay.route)
    page.goto(f"{stack.base_url}/rooms/{room_id}/snapshots")
    page.get_by_text("No snapshots of this room yet.").wait_for()
    wait_until(page, lambda: relay.subscribed, 30, "subscribe_success")
    bulk_status = count_requests(page, r"/tasks/bulk-status")

    create = page.get_by_role("form", name="Create a snapshot")
    create.get_by_label("Title").fill("Cut off")
    create.get_by_role("button", name="Create snapshot").click()
    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Cut off"))
    item.wait_for()
    wait_until(page, lambda: relay.down, RENDER_TIMEOUT_S, "event of the snapshot")
    relay.close()  # only polls can tell the page the rest

    item.get_by_text(re.compile(r"^100 % · ")).wait_for(timeout=RENDER_TIMEOUT_S * 1000)
    item.get_by_text("completed", exact=True).wait_for()
    assert len(bulk_status) >= 1  # polled, as without a channel
    wait_until(page, lambda: relay.refused, 30, "attempt to reconnect")  # and it keeps trying (1 s, 2 s, …)
    assert [problem for problem in session.problems.seen if problem.startswith("exception")] == []


def test_back_after_an_outage_the_page_catches_up_with_one_call_and_stops_polling(stack, sign_in, api):
    room_id = shared_room(api, "STS Live outage")
    session = sign_in(OWNER)
    page = session.page
    relay = Relay(cut_at_first_event=False)
    page.route_web_socket(REALTIME, relay.route)
    calls: list[int] = []  # for each bulk-status call: how many subscribes had succeeded when it was made

    def bulk_status(route):
        calls.append(relay.subscribed)
        if relay.subscribed >= 2:  # back up
            route.continue_()
            return
        response = route.fetch()  # until then the task is held still, unfinished
        held = [
            {**task, "status": "running", "progress": 40, "stage": "Rendering", "completed_at": None, "result": None}
            for task in response.json()["tasks"]
        ]
        route.fulfill(response=response, json={**response.json(), "tasks": held})

    page.route("**/api/v1/snapshots/tasks/bulk-status", bulk_status)
    page.goto(f"{stack.base_url}/rooms/{room_id}/snapshots")
    page.get_by_text("No snapshots of this room yet.").wait_for()
    wait_until(page, lambda: relay.subscribed, 30, "subscribe_success")
    relay.cut()

    create = page.get_by_role("form", name="Create a snapshot")
    create.get_by_label("Title").fill("Through an outage")
    create.get_by_role("button", name="Create snapshot").click()
    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Through an outage"))
    item.get_by_text("40 % · Rendering").wait_for(timeout=30_000)  # polled while the channel is down
    task = api(OWNER).ok("GET", f"/rooms/{room_id}/snapshots")[0]
    api(OWNER).wait_for_task(task["task_id"], timeout=RENDER_TIMEOUT_S)  # its completion is published, and missed

    relay.restore()
    wait_until(page, lambda: relay.subscribed >= 2, 90, "subscribe_success after the outage")  # (backoff, max 60 s)
    item.get_by_text("100 % · Completed").wait_for(timeout=30_000)  # caught up by the reconcile
    api(BROKER).create_snapshot(room_id, "After the outage")
    after = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="After the outage"))
    after.get_by_text(re.compile(r"^100 % · ")).wait_for(timeout=RENDER_TIMEOUT_S * 1000)

    assert calls.count(1) >= 1  # polled during the outage
    assert calls.count(2) == 1  # back up: ONE call to reconcile, then the channel alone
    assert [problem for problem in session.problems.seen if problem.startswith("exception")] == []


def test_a_completion_the_channel_never_delivered_is_asked_about_once_a_minute_later(stack, sign_in, api):
    room_id = shared_room(api, "STS Live dropped")
    session = sign_in(OWNER)
    page = session.page
    relay = Relay(cut_at_first_event=False, drop_completions=True)
    page.route_web_socket(REALTIME, relay.route)

    def as_generating(route):  # however slow the machine, the snapshot reads as unfinished but to bulk-status
        response = route.fetch()
        body = response.json()
        if isinstance(body, list):
            route.fulfill(response=response, json=[{**each, "status": "generating"} for each in body])
        else:
            route.fulfill(response=response, json={**body, "status": "generating"})

    page.route(re.compile(rf"/api/v1/rooms/{room_id}/snapshots(/[0-9a-z]+)?(\?.*)?$"), as_generating)
    page.clock.install()
    page.goto(f"{stack.base_url}/rooms/{room_id}/snapshots")
    page.get_by_text("No snapshots of this room yet.").wait_for()
    wait_until(page, lambda: relay.subscribed, 30, "subscribe_success")
    bulk_status = count_requests(page, r"/tasks/bulk-status")

    api(BROKER).create_snapshot(room_id, "Unheard completion")
    item = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Unheard completion"))
    item.wait_for(timeout=30_000)
    wait_until(page, lambda: relay.dropped, RENDER_TIMEOUT_S, "the completion, withheld")
    assert item.get_by_text("generating", exact=True).is_visible()
    assert bulk_status == []  # the channel is up: nothing is polled

    page.clock.run_for(130_000)  # past the next minute's check, wherever it falls
    item.get_by_text("100 % · Completed").wait_for(timeout=30_000)
    assert len(bulk_status) == 1  # one question (none while it is asked), not a poll loop
    assert [problem for problem in session.problems.seen if problem.startswith("exception")] == []


def test_a_stranger_sees_no_room_and_their_subscribe_to_its_channel_is_refused(stack, sign_in, api):
    room_id = shared_room(api, "STS Live private")
    witness = sign_in(BROKER)
    frames = ChannelFrames(witness.page)
    witness.page.goto(f"{stack.base_url}/rooms/{room_id}/snapshots")
    frames.wait_for("subscribe_success")

    stranger = sign_in(STRANGER)
    page = stranger.page
    page.goto(f"{stack.base_url}/rooms/{room_id}/snapshots")
    page.get_by_role("heading", name="Room not found").wait_for()
    page.evaluate(RAW_SUBSCRIBE, f"/rooms/{room_id}")
    page.wait_for_function("() => window.rawFrames.some((f) => /^subscribe_|^closed$/.test(f.type))", timeout=30_000)

    snapshot = api(OWNER).create_snapshot(room_id, "Not for strangers")
    wait_until(
        witness.page,
        lambda: any(e["snapshot_id"] == snapshot["id"] and e["status"] == "completed" for e in frames.events()),
        RENDER_TIMEOUT_S,
        "completed event at a party's page",
    )
    raw = page.evaluate("() => window.rawFrames")
    types = [frame["type"] for frame in raw]
    assert "subscribe_error" in types, raw
    assert "subscribe_success" not in types, raw
    assert "data" not in types, raw
    assert page.get_by_role("heading", name="Room not found").is_visible()
    assert [problem for problem in stranger.problems.seen if problem.startswith("exception")] == []


# The protocol by hand, with the page's own token: connect, then subscribe to the room's channel.
RAW_SUBSCRIBE = """async (channel) => {
  const events = (await (await fetch("/config.json")).json()).events;
  const key = Object.keys(sessionStorage).find((name) => name.startsWith("oidc.user:"));
  const token = JSON.parse(sessionStorage.getItem(key)).id_token;
  const auth = {host: events.http, Authorization: token};
  const header = btoa(JSON.stringify(auth)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  window.rawFrames = [];
  const socket = new WebSocket(events.realtime, ["aws-appsync-event-ws", `header-${header}`]);
  socket.onopen = () => socket.send(JSON.stringify({type: "connection_init"}));
  socket.onmessage = (message) => {
    const frame = JSON.parse(message.data);
    window.rawFrames.push(frame);
    if (frame.type === "connection_ack")
      socket.send(JSON.stringify({type: "subscribe", id: crypto.randomUUID(), channel, authorization: auth}));
  };
  socket.onclose = () => window.rawFrames.push({type: "closed"});
}"""
