"""The AWS endpoint the local stack runs on: an embedded moto server, or AWS_ENDPOINT_URL when set (LocalStack)."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import boto3
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer

DEFAULT_REGION = "us-east-1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def _serialize_moto_dynamodb() -> None:
    """moto's DynamoDB is not thread-safe: a transaction deep-copies the table for its rollback
    while other request threads change it ("dictionary changed size during iteration", a 500).
    DynamoDB itself has no such limit, so the embedded server runs its DynamoDB requests one at a
    time, which is what the product may assume of the real service."""
    if getattr(DynamoHandler.call_action, "serialized", False):
        return
    lock = threading.Lock()
    call_action = DynamoHandler.call_action

    def serialized(handler: DynamoHandler) -> Any:
        with lock:
            return call_action(handler)

    serialized.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = serialized  # type: ignore[method-assign]


class Endpoint:
    def __init__(self):
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        given = {name: os.environ[name] for name in CREDENTIAL_VARIABLES if os.environ.get(name)}
        self.credentials = given if "AWS_ACCESS_KEY_ID" in given else DUMMY_CREDENTIALS
        self.url = os.environ.get("AWS_ENDPOINT_URL", "")
        self._moto = None
        if not self.url:
            _serialize_moto_dynamodb()
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request at INFO
            self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._moto.start()
            host, port = self._moto.get_host_and_port()
            self.url = f"http://{host}:{port}"
        self._session = boto3.session.Session(
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=self.credentials.get("AWS_SESSION_TOKEN"),
            region_name=self.region,
        )

    @property
    def embedded(self) -> bool:
        return self._moto is not None

    def environment(self) -> dict[str, str]:
        """The variables that point an AWS SDK (boto3 reads AWS_ENDPOINT_URL) at this endpoint."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **self.credentials,
        }

    def client(self, service: Any) -> Any:
        return self._session.client(service, endpoint_url=self.url)

    def stop(self) -> None:
        if self._moto:
            self._moto.stop()
            if self._moto._server:  # stop() leaves the listening socket open
                self._moto._server.server_close()
            self._moto = None
