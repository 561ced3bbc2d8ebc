"""Every route of the API × every kind of caller, with the status each must get. The routes come
from the API's own OpenAPI description, so a route added without a row here fails the first test.

Destructive requests (delete, cancel, remove a party, withdraw an approval) and corrections act on a
target made for that one case, so cases never depend on each other. An approval is corrected or
withdrawn by whoever recorded it: each caller that may record approvals acts on one of its own
(others' approvals are the owner's alone: tests/e2e/test_corrections.py)."""

import itertools
import time
from contextlib import nullcontext

import jwt
import pytest
import requests
from template_emulator.emulator import Emulator

from scripts.local import emulate
from tests.support import API, accepting_receiver

TOKEN_FAILURES = ("no token", "forged", "expired")
ROOM_ROLES = ("viewer", "inspector", "operator", "broker", "owner")
CALLERS = (*TOKEN_FAILURES, "unverified", "stranger", *ROOM_ROLES, "admin")


def room_route(allowed_roles: set[str], success: int) -> dict[str, int]:
    """A route on a room: strangers learn nothing (404), roles without the right get 403."""
    return {
        "stranger": 404,
        "admin": success,
        **{role: success if role in allowed_roles else 403 for role in ROOM_ROLES},
    }


READERS = set(ROOM_ROLES)
EDITORS = {"operator", "broker", "owner"}
APPROVERS = {"inspector", "operator", "broker", "owner"}
SNAPSHOTTERS = {"inspector", "operator", "broker", "owner"}

# operationId -> expected status by caller (callers not named: see `expected`)
EXPECTED: dict[str, dict[str, int]] = {
    "health": dict.fromkeys(CALLERS, 200),
    # Open to anyone holding a file: no token is fine; a token given must be valid (401) and name a
    # verified email (403), as everywhere; strangers get the verdict but not the room's title.
    "verify": {"no token": 200, "stranger": 200, "admin": 200, **dict.fromkeys(ROOM_ROLES, 200)},
    "listRooms": {"stranger": 200, "admin": 200, **dict.fromkeys(ROOM_ROLES, 200)},
    "createRoom": {"stranger": 201, "admin": 201, **dict.fromkeys(ROOM_ROLES, 201)},
    "getRoom": room_route(READERS, 200),
    "listActivity": room_route(READERS, 200),
    "addApproval": room_route(APPROVERS, 201),
    "addDocument": room_route(EDITORS, 201),
    "setDocumentStatus": room_route(EDITORS, 200),
    "deleteDocument": room_route(EDITORS, 204),
    "updateRoom": room_route(EDITORS, 200),
    "updateVessel": room_route(EDITORS, 200),
    "deleteVessel": room_route(EDITORS, 204),
    "updateApproval": room_route(APPROVERS, 200),
    "withdrawApproval": room_route(APPROVERS, 204),
    "addParty": room_route({"broker", "owner"}, 201),
    "changePartyRole": room_route({"owner"}, 200),
    "removeParty": room_route({"owner"}, 204),
    "addVessel": room_route(EDITORS, 201),
    "listSnapshots": room_route(READERS, 200),
    "createSnapshot": room_route(SNAPSHOTTERS, 201),
    "getSnapshot": room_route(READERS, 200),
    "deleteSnapshot": room_route(SNAPSHOTTERS, 204),
    "downloadSnapshot": room_route(READERS, 200),
    "getTask": room_route(READERS, 200),
    "cancelTask": room_route(SNAPSHOTTERS, 200),
    "bulkTaskStatus": {"stranger": 200, "admin": 200, **dict.fromkeys(ROOM_ROLES, 200)},
    "getMetricsSummary": {"stranger": 403, "admin": 200, **dict.fromkeys(ROOM_ROLES, 403)},
    "getMetricsSeries": {"stranger": 403, "admin": 200, **dict.fromkeys(ROOM_ROLES, 403)},
    "retryTask": room_route(SNAPSHOTTERS, 201),
    "redriveDeadLetters": {"stranger": 403, "admin": 200, **dict.fromkeys(ROOM_ROLES, 403)},
    "listWebhooks": room_route({"owner"}, 200),
    "createWebhook": room_route({"owner"}, 201),
    "getWebhook": room_route({"owner"}, 200),
    "updateWebhook": room_route({"owner"}, 200),
    "deleteWebhook": room_route({"owner"}, 204),
    "rotateWebhookSecret": room_route({"owner"}, 200),
    "testWebhook": room_route({"owner"}, 202),
    "listWebhookDeliveries": room_route({"owner"}, 200),
    "retryWebhookDelivery": room_route({"owner"}, 202),
}


def expected(operation: str, caller: str) -> int:
    if caller in EXPECTED[operation]:
        return EXPECTED[operation][caller]
    return 401 if caller in TOKEN_FAILURES else 403  # "unverified": a valid token, not a verified email


@pytest.fixture(scope="module")
def matrix_stack():
    # Failed snapshots fail by transient failures, retried after 1 s (4 attempts within seconds).
    with emulate(
        port=0,
        start_schedules=False,
        stack_name="room-snapshots-matrix",
        env_overrides={"RendererFunction": {"RETRY_BACKOFF_SECONDS": "1"}},
    ) as running:
        yield running


class World:
    """A room with one party of each role, a document, a completed snapshot, and helpers that make
    a fresh target for a destructive case."""

    def __init__(self, stack: Emulator, receiver: str):
        self.stack, self.receiver = stack, receiver
        self.owner = self.session("owner")
        self.room_id = self.call(self.owner, "POST", "/rooms", json=room_body()).json()["id"]
        for role in ROOM_ROLES[:-1]:
            party = {"email": email_of(role), "company": role.title(), "role": role}
            self.call(self.owner, "POST", f"/rooms/{self.room_id}/parties", json=party)
        document = {"name": "Q88", "document_type": "questionnaire"}
        self.document_id = self.call(self.owner, "POST", f"/rooms/{self.room_id}/documents", json=document).json()["id"]
        self.snapshot = self.new_snapshot("Matrix")
        self.wait(self.snapshot["task_id"])
        path = f"/rooms/{self.room_id}/snapshots/{self.snapshot['id']}"
        self.snapshot = self.call(self.owner, "GET", path).json()  # completed: its PDF's SHA-256 known
        self.counter = itertools.count()
        self.webhook, self.doomed = self.new_webhook(), []

    def session(self, caller: str) -> requests.Session:
        session = requests.Session()
        token = {
            "no token": None,
            "forged": jwt.encode(
                jwt.decode(self.stack.mint_token("x@example.com"), options={"verify_signature": False}),
                "a secret that is not the stack signing key",
                algorithm="HS256",
            ),
            "expired": self.stack.mint_token("owner@matrix.example", exp=int(time.time()) - 60),
            "unverified": self.stack.mint_token("owner@matrix.example", email_verified=False),
            "admin": self.stack.mint_token("admin@matrix.example", admin=True),
        }.get(caller, self.stack.mint_token(email_of(caller)) if caller not in TOKEN_FAILURES else None)
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        return session

    def call(self, session: requests.Session, method: str, path: str, **kwargs) -> requests.Response:
        return session.request(method, f"{self.stack.base_url}{API}{path}", timeout=30, **kwargs)

    def new_snapshot(self, title: str) -> dict:
        return self.call(self.owner, "POST", f"/rooms/{self.room_id}/snapshots", json={"title": title}).json()

    def webhook_body(self) -> dict:
        return {"url": self.receiver, "events": ["snapshot.completed"]}

    def new_webhook(self) -> dict:
        return self.call(self.owner, "POST", f"/rooms/{self.room_id}/webhooks", json=self.webhook_body()).json()

    def doomed_webhook(self) -> str:
        """A webhook for one delete case; the one of the case before is removed if it survived,
        since a room holds at most 10."""
        for earlier in self.doomed:
            self.call(self.owner, "DELETE", f"/rooms/{self.room_id}/webhooks/{earlier}")
        self.doomed = [self.new_webhook()["id"]]
        return self.doomed[0]

    def delivered_message(self) -> str:
        """The id of a test message the receiver has taken (one that may be re-sent), fresh for each case."""
        hook = f"/rooms/{self.room_id}/webhooks/{self.webhook['id']}"
        message_id = self.call(self.owner, "POST", f"{hook}/test").json()["message_id"]
        deadline, path = time.monotonic() + 60, f"{hook}/deliveries"
        while not any(
            d["message_id"] == message_id and d["outcome"] == "succeeded"
            for d in self.call(self.owner, "GET", path).json()
        ):
            assert time.monotonic() < deadline, "the test event was never delivered"
            time.sleep(0.1)
        return message_id

    def failed_snapshot(self) -> str:
        """The task id of a snapshot that failed (each attempt failed; nothing in the room would fail it
        again): the renderer's reads of it are throttled (the emulator's fault, registered while the
        queue mapping holds its message back), so every attempt fails until the last gives up."""
        faults = self.stack.faults
        with faults.mapping_disabled("RendererFunction"):
            task_id = self.new_snapshot("Fails on every attempt")["task_id"]
            throttled = faults.throttle(
                "RendererFunction", "dynamodb", "GetItem", matching=task_id.removeprefix("snapshot-")
            )
        try:
            self.wait(task_id, "failed")
        finally:
            faults.remove(throttled)
        return task_id

    def new_vessel(self) -> str:
        imo = imo_number(next(self.counter))
        vessel = {"name": "MT Zhoushan", "imo": imo, "vessel_type": "crude tanker", "flag": "PA"}
        self.call(self.owner, "POST", f"/rooms/{self.room_id}/vessels", json=vessel)
        return imo

    def new_document(self) -> str:
        document = {"name": "SIRE report", "document_type": "inspection"}
        return self.call(self.owner, "POST", f"/rooms/{self.room_id}/documents", json=document).json()["id"]

    def new_approval(self, caller: str) -> str:
        """An approval recorded by the caller where it may record one, else by the owner."""
        recorder = self.session(caller) if caller in APPROVERS | {"admin"} else self.owner
        body = {"status": "approved", "comment": "ok 👍"}
        return self.call(recorder, "POST", f"/rooms/{self.room_id}/approvals", json=body).json()["id"]

    def new_party(self) -> str:
        email = f"target{next(self.counter)}@matrix.example"
        self.call(
            self.owner,
            "POST",
            f"/rooms/{self.room_id}/parties",
            json={"email": email, "company": "T", "role": "viewer"},
        )
        return email

    def wait(self, task_id: str, status: str = "completed") -> None:
        deadline = time.monotonic() + 180  # a failure takes 4 attempts, each through the SDK's retries
        while self.call(self.owner, "GET", f"/snapshots/tasks/{task_id}").json()["status"] != status:
            assert time.monotonic() < deadline
            time.sleep(0.05)

    def request_for(self, operation: str, caller: str) -> tuple[str, str, dict]:
        room, snapshot, n = f"/rooms/{self.room_id}", self.snapshot, next(self.counter)
        hook = f"{room}/webhooks/{self.webhook['id']}"
        vessel = {"name": f"MT {n}", "imo": imo_number(n), "vessel_type": "t", "flag": "MT"}
        requests_by_operation = {
            "health": lambda: ("GET", "/health", {}),
            "verify": lambda: ("POST", "/verify", {"json": {"sha256": snapshot["pdf_sha256"]}}),
            "listRooms": lambda: ("GET", "/rooms", {}),
            "createRoom": lambda: ("POST", "/rooms", {"json": room_body()}),
            "getRoom": lambda: ("GET", room, {}),
            "listActivity": lambda: ("GET", f"{room}/activity", {}),
            "addApproval": lambda: ("POST", f"{room}/approvals", {"json": {"status": "approved"}}),
            "addDocument": lambda: ("POST", f"{room}/documents", {"json": {"name": f"D{n}", "document_type": "c"}}),
            "setDocumentStatus": lambda: (
                "PATCH",
                f"{room}/documents/{self.document_id}",
                {"json": {"status": "approved"}},
            ),
            "deleteDocument": lambda: ("DELETE", f"{room}/documents/{self.new_document()}", {}),
            "updateRoom": lambda: ("PATCH", room, {"json": {"location": f"Off Malta, berth {n}"}}),
            "updateVessel": lambda: ("PATCH", f"{room}/vessels/{self.new_vessel()}", {"json": {"flag": "MT"}}),
            "deleteVessel": lambda: ("DELETE", f"{room}/vessels/{self.new_vessel()}", {}),
            "updateApproval": lambda: (
                "PATCH",
                f"{room}/approvals/{self.new_approval(caller)}",
                {"json": {"comment": "ok 👍🏽"}},
            ),
            "withdrawApproval": lambda: ("DELETE", f"{room}/approvals/{self.new_approval(caller)}", {}),
            "addParty": lambda: (
                "POST",
                f"{room}/parties",
                {"json": {"email": f"new{n}@x.io", "company": "N", "role": "viewer"}},
            ),
            "changePartyRole": lambda: ("PATCH", f"{room}/parties/{self.new_party()}", {"json": {"role": "inspector"}}),
            "removeParty": lambda: ("DELETE", f"{room}/parties/{self.new_party()}", {}),
            "addVessel": lambda: ("POST", f"{room}/vessels", {"json": vessel}),
            "listSnapshots": lambda: ("GET", f"{room}/snapshots", {}),
            "createSnapshot": lambda: ("POST", f"{room}/snapshots", {"json": {"title": f"By role {n}"}}),
            "getSnapshot": lambda: ("GET", f"{room}/snapshots/{snapshot['id']}", {}),
            "deleteSnapshot": lambda: ("DELETE", f"{room}/snapshots/{self.new_snapshot('Doomed')['id']}", {}),
            "downloadSnapshot": lambda: ("GET", f"{room}/snapshots/{snapshot['id']}/download", {}),
            "getTask": lambda: ("GET", f"/snapshots/tasks/{snapshot['task_id']}", {}),
            "cancelTask": lambda: (
                "POST",
                f"/snapshots/tasks/{self.new_snapshot('Stays pending')['task_id']}/cancel",
                {},
            ),
            "bulkTaskStatus": lambda: (
                "POST",
                "/snapshots/tasks/bulk-status",
                {"json": {"task_ids": [snapshot["task_id"]]}},
            ),
            "getMetricsSummary": lambda: ("GET", "/snapshots/metrics/summary", {}),
            "getMetricsSeries": lambda: ("GET", "/snapshots/metrics/series", {}),
            "retryTask": lambda: ("POST", f"/snapshots/tasks/{self.failed_snapshot()}/retry", {}),
            "redriveDeadLetters": lambda: ("POST", "/admin/dead-letters/redrive", {}),
            "listWebhooks": lambda: ("GET", f"{room}/webhooks", {}),
            "createWebhook": lambda: ("POST", f"{room}/webhooks", {"json": self.webhook_body()}),
            "getWebhook": lambda: ("GET", f"{hook}", {}),
            "updateWebhook": lambda: ("PATCH", f"{hook}", {"json": {"description": f"by role {n}"}}),
            "deleteWebhook": lambda: ("DELETE", f"{room}/webhooks/{self.doomed_webhook()}", {}),
            "rotateWebhookSecret": lambda: ("POST", f"{hook}/rotate-secret", {}),
            "testWebhook": lambda: ("POST", f"{hook}/test", {}),
            "listWebhookDeliveries": lambda: ("GET", f"{hook}/deliveries", {}),
            "retryWebhookDelivery": lambda: ("POST", f"{hook}/deliveries/{self.delivered_message()}/retry", {}),
        }
        return requests_by_operation[operation]()


def imo_number(n: int) -> str:
    """A valid IMO number of its own for each n (its check digit holds)."""
    digits = f"{930_000 + n:06d}"
    return digits + str(sum(int(d) * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10)


def email_of(role: str) -> str:
    return f"{role}@matrix.example"


def room_body() -> dict:
    return {"title": "Matrix", "location": "Off Malta", "operation_time": "2026-12-01T06:00:00Z"}


@pytest.fixture(scope="module")
def world(matrix_stack):
    with accepting_receiver() as receiver:
        yield World(matrix_stack, receiver)


def test_every_route_of_the_api_has_a_row_in_the_matrix(matrix_stack):
    description = requests.get(f"{matrix_stack.base_url}{API}/openapi.json", timeout=30).json()
    operations = {operation["operationId"] for path in description["paths"].values() for operation in path.values()}
    assert operations == set(EXPECTED), "add a row for each new route (and remove rows of routes that are gone)"


@pytest.mark.parametrize(("operation", "caller"), list(itertools.product(EXPECTED, CALLERS)))
def test_each_caller_gets_exactly_what_the_route_allows(world, operation, caller):
    # A task to cancel stays pending: the renderer's queue mapping is disabled meanwhile.
    held = world.stack.faults.mapping_disabled("RendererFunction") if operation == "cancelTask" else nullcontext()
    with held:
        method, path, kwargs = world.request_for(operation, caller)
        response = world.call(world.session(caller), method, path, **kwargs)
    assert response.status_code == expected(operation, caller), (operation, caller, response.text[:300])
