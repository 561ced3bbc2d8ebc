"""The page's polled progress source, as it runs while the room's channel is down (here: every connection to it
refused): one bulk-status call for every unfinished snapshot on screen, polled less often while nothing moves,
and not at all once everything has finished. The page's clock is Playwright's, and the task answers are held
still (routed), so the schedule is measured, not waited for. The pushed source: test_live_progress.py."""

import json

from tests.browser.helpers import REALTIME

OWNER = "owner.progress@example.com"


def test_one_call_covers_every_unfinished_snapshot_backs_off_while_nothing_moves_and_stops_at_the_end(
    stack, sign_in, api
):
    owner = api(OWNER)
    room_id = owner.create_room("STS Progress")["id"]
    snapshots = [owner.create_snapshot(room_id, title) for title in ("First", "Second")]
    task_ids = sorted(snapshot["task_id"] for snapshot in snapshots)
    for task_id in task_ids:  # done for real, so that only the routed fields below ever change
        owner.wait_for_task(task_id)
    page = sign_in(OWNER).page
    state = {"status": "running", "progress": 30}
    calls: list[list[str]] = []

    def as_generating(route):  # the list as it was while both rendered
        response = route.fetch()
        listed = [{**snapshot, "status": "generating"} for snapshot in response.json()]
        route.fulfill(response=response, body=json.dumps(listed))

    def bulk_status(route):
        asked = json.loads(route.request.post_data)["task_ids"]
        calls.append(sorted(asked))
        tasks = [
            {
                **owner.ok("GET", f"/snapshots/tasks/{task_id}"),
                **state,
                "stage": "Room data gathered" if state["status"] == "running" else "Completed",
            }
            for task_id in asked
        ]
        route.fulfill(json={"tasks": tasks, "not_found": []})

    page.route(f"**/api/v1/rooms/{room_id}/snapshots?*", as_generating)
    page.route("**/api/v1/snapshots/tasks/bulk-status", bulk_status)
    refused = []
    page.route_web_socket(REALTIME, lambda socket: refused.append(socket.close()))
    page.clock.install()
    page.goto(f"{stack.base_url}/rooms/{room_id}/snapshots")
    page.get_by_role("heading", name="Second").wait_for()

    def advance(seconds: float) -> None:
        for _ in range(int(seconds * 4)):
            page.clock.run_for(250)
            page.wait_for_timeout(5)  # lets the routed answer arrive and the next poll be scheduled

    advance(60)
    assert refused  # the page tried its channel (and keeps trying, with backoff)
    assert all(asked == task_ids for asked in calls)  # one call for both
    # At 0, 1, 2.5, 4.75, 8.1, 13.2, 20.8, 30.8, 40.8 and 50.8 s: 1 s, then ×1.5 up to 10 s, not a fast loop.
    assert 9 <= len(calls) <= 11, len(calls)
    assert page.get_by_text("30 % · Room data gathered").count() == 2

    state.update(status="completed", progress=100)
    advance(15)
    page.get_by_text("100 % · Completed").first.wait_for()
    finished_at = len(calls)
    advance(60)
    assert len(calls) == finished_at  # nothing left to watch: no more polling
