"""`make run` keeps its state across a restart, as AWS would: the stack runs as `make run` runs it
(python -m scripts.local run, its own process, a state folder), is stopped while a snapshot is being
generated, and started again on the same folder."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from standardwebhooks import Webhook
from template_emulator.auth import KEY_FILE, SigningKey, local_issuer

from scripts.local import PROFILE
from tests.support import ApiClient, capturing_receiver

pytestmark = pytest.mark.slow  # two start-ups of the whole stack
ROOT = Path(__file__).resolve().parents[2]
START_S = 180  # a start-up on a loaded machine: provisioning, then the first requests
OWNER = "kapetanios@naftiliaki.gr"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """`python -m scripts.local run` on a port and a state folder, stopped with Ctrl-C (SIGINT)."""

    def __init__(self, port: int, state: Path, log: Path):
        self.base_url = f"http://127.0.0.1:{port}"
        self._log = open(log, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scripts.local", "run", "--port", str(port), "--state-dir", str(state)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "infra")},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_S
        while True:
            assert self.process.poll() is None, f"the stack ended at start-up: see {log}"
            try:
                if requests.get(f"{self.base_url}/api/v1/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or not answering yet
                pass
            assert time.monotonic() < deadline, f"the stack did not start in {START_S} s: see {log}"
            time.sleep(0.5)

    def control(self, method: str, path: str, **kwargs) -> None:
        response = requests.request(method, f"{self.base_url}/_local/{path}", timeout=60, **kwargs)
        assert response.ok, response.text

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            assert self.process.wait(timeout=120) == 0
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self._log.close()


def wait_until(condition, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.2)
    return value


@pytest.fixture
def receiver():
    with capturing_receiver() as receiving:
        yield receiving


def test_a_restart_keeps_every_room_pdf_and_key_and_finishes_the_snapshot_it_interrupted(tmp_path, receiver):
    receiver_url, deliveries = receiver
    port, state = free_port(), tmp_path / "state"
    stack = Stack(port, state, tmp_path / "stack.log")
    try:
        # Given a room, a finished snapshot and a webhook (its secret encrypted with the stack's KMS key)
        token = SigningKey.load_or_create(state / KEY_FILE).mint(
            OWNER, issuer=local_issuer(port), audience=PROFILE.client_id
        )
        owner = ApiClient(stack.base_url, token)
        room_id = owner.create_room("STS Kalamata", "Kalamata anchorage")["id"]
        owner.add(
            room_id,
            "parties",
            {"email": "ops@nordsjo-tankrederi.no", "company": "Nordsjø Tankrederi", "role": "operator"},
        )
        earlier = owner.create_snapshot(room_id, "Before the restart")
        assert owner.wait_for_task(earlier["task_id"], timeout=120)["status"] == "completed"
        earlier_pdf = owner.request("GET", f"/rooms/{room_id}/snapshots/{earlier['id']}/download").content
        webhook = owner.ok(
            "POST", f"/rooms/{room_id}/webhooks", 201, json={"url": receiver_url, "events": ["snapshot.completed"]}
        )

        # And a snapshot whose render could not store its PDF (the stack's S3 throttled it), so it waits
        # for its retry, when the stack is stopped (its renderer's mapping drained first: no
        # invocation is left in flight)
        stack.control("POST", "faults", json={"throttle": {"principal": "RendererFunction", "service": "s3"}})
        interrupted = owner.create_snapshot(room_id, "Across the restart")
        wait_until(lambda: "retrying" in (owner.ok("GET", f"/snapshots/tasks/{interrupted['task_id']}")["stage"] or ""))
        stack.control("POST", "mappings/RendererFunction/disable")
    finally:
        stack.stop()

    # When the stack starts again on the same folder
    stack = Stack(port, state, tmp_path / "stack.log")
    try:
        # Then the same token is accepted (the development key was kept), the interrupted snapshot completes
        task = owner.wait_for_task(interrupted["task_id"], timeout=180)
        assert task["status"] == "completed", task
        # And every earlier room, party and PDF is still there, byte for byte
        room = owner.ok("GET", f"/rooms/{room_id}")
        assert "Nordsjø Tankrederi" in [party["company"] for party in room["parties"]]
        listed = {snapshot["id"] for snapshot in owner.ok("GET", f"/rooms/{room_id}/snapshots")}
        assert {earlier["id"], interrupted["id"]} <= listed
        assert owner.request("GET", f"/rooms/{room_id}/snapshots/{earlier['id']}/download").content == earlier_pdf
        # And the webhook's secret still decrypts (the KMS key material was kept): a delivery verifies
        owner.ok("POST", f"/rooms/{room_id}/webhooks/{webhook['id']}/test", 202)
        body, headers = wait_until(lambda: deliveries and deliveries[-1], timeout=60)
        assert Webhook(webhook["secret"]).verify(body, headers)["type"]
    finally:
        stack.stop()
