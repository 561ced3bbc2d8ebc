"""The AWS endpoint the local stack runs on: an embedded moto server, or AWS_ENDPOINT_URL when set (LocalStack)."""

from __future__ import annotations

import copy
import logging
import os
import threading
from typing import Any

import boto3
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
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


def _keep_streams_out_of_transaction_backups() -> None:
    """moto backs a table up (a deep copy) before every transaction and puts the copy in its place
    when the transaction fails. With a stream, the copy would include every stream record ever
    written: transactions grew slower with each write (0.1 ms per record) until botocore's read
    timeout retried them, and a retried write then conflicted with its own first attempt (moto
    ignores ClientRequestToken). The backup now shares the stream shard; when a transaction fails,
    the records its partial writes appended are dropped, as DynamoDB never writes them. Safe because
    the embedded server runs DynamoDB requests one at a time (above)."""
    if getattr(DynamoDBBackend.transact_write_items, "keeps_streams", False):
        return

    def deepcopy_sharing_stream(table: Table, memo: dict) -> Table:
        if table.stream_shard is not None:
            memo[id(table.stream_shard)] = table.stream_shard
        clone = object.__new__(type(table))
        memo[id(table)] = clone
        clone.__dict__.update(copy.deepcopy(table.__dict__, memo))
        return clone

    transact_write_items = DynamoDBBackend.transact_write_items

    def transact_keeping_streams(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        lengths = {name: len(table.stream_shard.items) for name, table in backend.tables.items() if table.stream_shard}
        try:
            transact_write_items(backend, transact_items)
        except Exception:
            for name, length in lengths.items():
                table = backend.tables[name]  # the restored backup, sharing the shard
                shard = table.stream_shard
                if shard is not None:
                    del shard.items[length:]
                    shard.table = table
            raise

    transact_keeping_streams.keeps_streams = True  # type: ignore[attr-defined]
    Table.__deepcopy__ = deepcopy_sharing_stream  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_keeping_streams  # type: ignore[method-assign, assignment]


class Endpoint:
    def __init__(self):
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        given = {name: os.environ[name] for name in CREDENTIAL_VARIABLES if os.environ.get(name)}
        self.credentials = given if "AWS_ACCESS_KEY_ID" in given else DUMMY_CREDENTIALS
        self.url = os.environ.get("AWS_ENDPOINT_URL", "")
        self._moto = None
        if not self.url:
            _serialize_moto_dynamodb()
            _keep_streams_out_of_transaction_backups()
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
