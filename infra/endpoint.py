"""The AWS endpoint the local stack runs on: an embedded moto server, or AWS_ENDPOINT_URL when set (LocalStack)."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import threading
import time
from typing import Any

import boto3
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from infra.metering import METER, MeteringMiddleware, metered_dynamodb_call

DEFAULT_REGION = "us-east-1"
TOKEN_WINDOW_S = 600  # DynamoDB's idempotency window for ClientRequestToken
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def _serialize_moto_dynamodb() -> None:
    """moto's DynamoDB is not thread-safe: a transaction deep-copies the table for its rollback
    while other request threads change it ("dictionary changed size during iteration", a 500).
    DynamoDB itself has no such limit, so the embedded server runs its DynamoDB requests one at a
    time, which is what the product may assume of the real service. Each request's read and
    write units are counted here too (infra.metering), where moto's items can be looked up."""
    if getattr(DynamoHandler.call_action, "serialized", False):
        return
    lock = threading.Lock()
    call_action = DynamoHandler.call_action

    def serialized(handler: DynamoHandler) -> Any:
        with lock:
            return metered_dynamodb_call(handler, call_action)

    serialized.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = serialized  # type: ignore[method-assign]


class IdempotentParameterMismatch(DynamodbException):
    def __init__(self) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
            "the ClientRequestToken was used with a different request within the last 10 minutes",
        )


def _honour_client_request_tokens() -> None:
    """DynamoDB runs a TransactWriteItems once per ClientRequestToken: the same token and request
    within 10 minutes answers success without applying it again (so a retry after a lost answer
    is not mistaken for a conflicting write); the same token with another request is refused.
    moto ignores the token; the local stack plays DynamoDB's part. A cancelled transaction is not
    remembered, so its retry runs again, as in DynamoDB. (Runs under the serializing lock above.)"""
    if getattr(DynamoHandler.transact_write_items, "tokens_honoured", False):
        return
    transact = DynamoHandler.transact_write_items
    seen: dict[str, tuple[str, float, Any]] = {}

    def with_tokens(handler: DynamoHandler) -> Any:
        token = handler.body.get("ClientRequestToken")
        if not token:
            return transact(handler)
        request = {name: value for name, value in handler.body.items() if name != "ClientRequestToken"}
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        now = time.monotonic()
        for expired in [t for t, (_, at, _) in seen.items() if now - at > TOKEN_WINDOW_S]:
            del seen[expired]
        if token in seen:
            if seen[token][0] != digest:
                raise IdempotentParameterMismatch()
            return seen[token][2]
        result = transact(handler)
        seen[token] = (digest, now, result)
        return result

    with_tokens.tokens_honoured = True  # type: ignore[attr-defined]
    DynamoHandler.transact_write_items = with_tokens  # type: ignore[method-assign, assignment]


class MeteredMotoServer(ThreadedMotoServer):
    """moto's threaded server with every request counted (infra.metering) before moto answers it."""

    def _server_entry(self) -> None:
        app = MeteringMiddleware(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


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
            _honour_client_request_tokens()
            _keep_streams_out_of_transaction_backups()
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request at INFO
            self._moto = MeteredMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
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

    def client(self, service: Any, principal: str | None = None) -> Any:
        """A client of this endpoint; on the embedded one, `principal` signs with an access key
        id of its own, so the meter counts its requests under that name."""
        if principal and self.embedded:
            return boto3.session.Session(
                aws_access_key_id=METER.access_key(principal),
                aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
                region_name=self.region,
            ).client(service, endpoint_url=self.url)
        return self._session.client(service, endpoint_url=self.url)

    def function_environment(self, principal: str) -> dict[str, str]:
        """What a function's worker needs beyond environment(): its own access key id (embedded only)."""
        return {"AWS_ACCESS_KEY_ID": METER.access_key(principal)} if self.embedded else {}

    def stop(self) -> None:
        if self._moto:
            self._moto.stop()
            if self._moto._server:  # stop() leaves the listening socket open
                self._moto._server.server_close()
            self._moto = None
