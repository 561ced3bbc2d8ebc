"""Small clients of the emulated stack for the e2e tests and the benchmarks (real HTTP, real JWTs): the HTTP
API, the live channel (AppSync Events' WebSocket protocol), and an accepting webhook receiver."""

import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from websockets.sync.client import ClientConnection, connect

API = "/api/v1"
# Generous: the renderer and the stream poller share the machine with whatever else runs.
CHANNEL_WAIT_S = 60


class ApiClient:
    def __init__(self, base_url: str, token: str | None):
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.base_url}{API}{path}", timeout=30, **kwargs)

    def ok(self, method: str, path: str, expected: int = 200, **kwargs):
        response = self.request(method, path, **kwargs)
        assert response.status_code == expected, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def create_room(self, title: str = "STS Malta", location: str = "Hurd's Bank", **extra) -> dict:
        return self.ok(
            "POST",
            "/rooms",
            201,
            json={"title": title, "location": location, "operation_time": "2026-12-01T06:00:00Z", **extra},
        )

    def add(self, room_id: str, section: str, body: dict) -> dict:
        return self.ok("POST", f"/rooms/{room_id}/{section}", 201, json=body)

    def create_snapshot(self, room_id: str, title: str = "Pre-transfer check", **flags) -> dict:
        return self.ok(
            "POST", f"/rooms/{room_id}/snapshots", 201, json={"title": title, "snapshot_type": "pdf", **flags}
        )

    def wait_for_task(self, task_id: str, timeout: float = 60, terminal=("completed", "failed", "cancelled")) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            task = self.ok("GET", f"/snapshots/tasks/{task_id}")
            if task["status"] in terminal:
                return task
            assert time.monotonic() < deadline, f"task {task_id} still {task['status']} after {timeout} s"
            time.sleep(0.05)


# Valid IMO numbers (their check digits hold).
IMOS = ["9074729", "9176187", "9321483", "9395044", "9462691", "9505118", "9612612", "9703291", "9811000", "9866770"]


def reference_room(
    api: ApiClient,
    title: str = "Reference STS",
    parties: int = 10,
    vessels: int = 5,
    documents: int = 40,
    approvals: int = 20,
    activity: int = 100,
) -> str:
    """The benchmark's reference room. Adding its records writes activity lines too; extra
    document status changes top the log up to `activity` lines."""
    room_id = api.create_room(title)["id"]
    for i in range(parties - 1):
        api.add(
            room_id,
            "parties",
            {
                "email": f"party{i}@fleet{i}.example",
                "company": f"Fleet {i} Shipping",
                "role": ["broker", "operator", "inspector", "viewer"][i % 4],
            },
        )
    for i in range(vessels):
        api.add(
            room_id,
            "vessels",
            {
                "name": f"MT Vessel {i}",
                "imo": IMOS[i],
                "vessel_type": "crude tanker",
                "flag": ["MT", "PA", "LR", "MH", "GR"][i],
            },
        )
    document_ids = []
    for i in range(documents):
        document = api.add(
            room_id,
            "documents",
            {
                "name": f"Certificate {i}",
                "document_type": "certificate",
                "status": "uploaded",
                "expires_on": f"2027-0{1 + i % 9}-15",
                "vessel_imo": IMOS[i % vessels],
            },
        )
        document_ids.append(document["id"])
    for i in range(approvals):
        api.add(
            room_id, "approvals", {"status": ["approved", "pending", "rejected"][i % 3], "comment": f"Checked item {i}"}
        )
    written = parties + vessels + documents + approvals  # one line per change, including the room's creation
    for i in range(max(0, activity - written)):
        api.ok(
            "PATCH",
            f"/rooms/{room_id}/documents/{document_ids[i % documents]}",
            json={"status": ["approved", "uploaded"][i % 2]},
        )
    return room_id


class _Accepting(BaseHTTPRequestHandler):
    server: "_Receiver"

    def do_POST(self):
        self.server.deliveries.append((self.rfile.read(int(self.headers["Content-Length"])), dict(self.headers)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class _Receiver(ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Accepting)
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []


@contextmanager
def capturing_receiver() -> Iterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    """A webhook receiver on 127.0.0.1 that accepts every delivery (204); yields its URL and the
    (body, headers) of each delivery, as they arrive."""
    server = _Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", server.deliveries
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def accepting_receiver() -> Iterator[str]:
    """A webhook receiver on 127.0.0.1 that accepts every delivery (204); yields its URL."""
    with capturing_receiver() as (url, _):
        yield url


def realtime_header(authority: str, token: str) -> str:
    """The connection's authorization, as AppSync Events reads it from a subprotocol."""
    encoded = base64.urlsafe_b64encode(json.dumps({"host": authority, "Authorization": token}).encode())
    return "header-" + encoded.decode().rstrip("=")


class Channel:
    """One realtime connection, its messages read as they come."""

    def __init__(self, stack, token: str, sockets: contextlib.ExitStack):
        self.stack, self.token = stack, token
        self.socket: ClientConnection = sockets.enter_context(
            connect(
                f"ws://{stack.authority}/event/realtime",
                subprotocols=["aws-appsync-event-ws", realtime_header(stack.authority, token)],  # type: ignore[list-item]
                open_timeout=CHANNEL_WAIT_S,
            )
        )
        self.send({"type": "connection_init"})
        assert self.next()["type"] == "connection_ack"

    def send(self, message: dict) -> None:
        self.socket.send(json.dumps(message))

    def next(self, timeout: float = CHANNEL_WAIT_S) -> dict:
        return json.loads(self.socket.recv(timeout=timeout))

    def subscribe(self, channel: str) -> dict:
        subscription_id = str(uuid.uuid4())
        authorization = {"host": self.stack.authority, "Authorization": self.token}
        self.send({"type": "subscribe", "id": subscription_id, "channel": channel, "authorization": authorization})
        answer = self.next()
        assert answer["id"] == subscription_id
        return answer

    def events_until(self, done, timeout: float = CHANNEL_WAIT_S) -> list[dict]:
        """The data events received until one satisfies `done`."""
        deadline, events = time.monotonic() + timeout, []
        while True:
            message = self.next(timeout=max(0.1, deadline - time.monotonic()))
            if message["type"] == "data":
                events.append(json.loads(message["event"]))
                if done(events[-1]):
                    return events

    def close(self) -> None:
        self.socket.close()
