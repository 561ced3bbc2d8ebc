"""An owner's webhooks: add one (its secret shown once), send a test, see the delivery and send it again. It
needs the webhook routes of issue 11 and a stack that lets 127.0.0.1 receivers through (a local-only setting),
and skips itself until the routes answer. Deliveries go only to a receiver on 127.0.0.1."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser.helpers import screenshot

OWNER = "owner.webhooks@example.com"


class Receiver(ThreadingHTTPServer):
    """Records each delivery's webhook-id and answers 204."""

    def __init__(self):
        self.deliveries: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.deliveries.append(self.headers.get("webhook-id", ""))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_owner_adds_a_webhook_sees_its_secret_once_and_sends_a_delivery_again(sign_in, api, receiver):
    owner = api(OWNER)
    room_id = owner.create_room("STS Webhooks")["id"]
    if owner.request("GET", f"/rooms/{room_id}/webhooks").status_code == 404:
        pytest.skip("the webhook routes are not in this API yet (issue 11)")
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks/room-snapshots"
    session = sign_in(OWNER)
    page = session.page
    page.get_by_role("link", name="STS Webhooks").click()
    page.get_by_role("link", name="Webhooks", exact=True).click()

    form = page.get_by_role("form", name="Add a webhook")
    form.get_by_label("Endpoint URL").fill(url)
    form.get_by_label("document.expiring").check()
    form.get_by_role("button", name="Add webhook").click()
    secret = page.locator(".secret-value")
    secret.wait_for()
    assert secret.inner_text().startswith("whsec_")
    screenshot(page, "webhooks")
    page.get_by_role("button", name="I have stored it").click()
    page.reload()
    hook = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=url))
    hook.wait_for()
    assert page.locator(".secret-value").count() == 0

    hook.get_by_role("button", name="Send test").click()
    hook.get_by_role("button", name="Deliveries").click()
    deliveries = hook.get_by_role("table", name="Deliveries")
    for _ in range(20):
        if deliveries.count() and deliveries.get_by_text("webhook.test").count():
            break
        page.wait_for_timeout(500)
        hook.get_by_role("button", name="Refresh").click()
    deliveries.get_by_role("button", name="Send again").first.click()
    for _ in range(20):
        if len(receiver.deliveries) >= 2:
            break
        page.wait_for_timeout(500)
    assert len(receiver.deliveries) >= 2
    assert len(set(receiver.deliveries)) == 1  # the same message, sent again
    assert session.problems.seen == []
