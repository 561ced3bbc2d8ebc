"""moto's DynamoDB made fit for a stack that runs for days: no request slows with the table's size,
and requests run side by side where moto's data structures allow it.

* **Transactions cost what their items cost.** moto backs up every table a TransactWriteItems
  touches with a deep copy (19 ms a transaction at 1k items, 303 ms at 10k, 948 ms at 30k) and puts
  the copy back when it fails. Here each item is copied before its change instead, and a failed
  transaction puts those items back and drops the stream records it appended (DynamoDB never
  writes them).
* **A Query reads its partition, not the table.** moto sorts every item of the table to find one
  partition's; here it is handed that partition alone (what it would have kept anyway).
* **Locks per table, shared by readers.** moto is not thread-safe (a write during a scan: "dictionary
  changed size during iteration"), so each table has a readers-writer lock: reads of a table run
  together, a write has the table to itself, and requests to different tables never wait for each
  other. Requests about the table list (CreateTable, ListTables...) have the whole backend to
  themselves. Locks are taken in one order (the backend, then tables by name), so nothing deadlocks.
* **ClientRequestToken** is honoured as DynamoDB does (moto ignores it): the same TransactWriteItems
  with the same token within 10 minutes answers success without running again; the same token
  with another request is refused.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    ConditionalCheckFailed,
    DynamodbException,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

TOKEN_WINDOW_S = 600  # DynamoDB's idempotency window for ClientRequestToken
MAX_TRANSACTION_ITEMS = 100
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable", "DescribeTimeToLive"}
TRANSACTION_OPERATIONS = {"ConditionCheck", "Put", "Delete", "Update"}

# A DynamoDB request as moto's handler runs it: the handler, then what runs it (moto's call_action).
Call = Callable[[DynamoHandler], Any]


# ---------------------------------------------------------------------- locks


class ReadWriteLock:
    """Many readers or one writer. A waiting writer holds back new readers, so a steady stream of
    reads never starves a write."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self._changed:
            while self._writing or self._writers_waiting:
                self._changed.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._changed:
                self._readers -= 1
                if not self._readers:
                    self._changed.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self._changed:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._changed.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._changed:
                self._writing = False
                self._changed.notify_all()


def table_name(name: str) -> str:
    """A table's name, also when given as its ARN (arn:aws:dynamodb:region:account:table/name)."""
    return name.split(":table/", 1)[1].split("/")[0] if name.startswith("arn:") else name


def tables_of(operation: str, params: dict[str, Any]) -> set[str] | None:
    """The tables a request reads or writes; None for a request about the table list or one this
    cannot tell (it then has the whole backend to itself)."""
    if operation in ("BatchGetItem", "BatchWriteItem"):
        names = set(params.get("RequestItems") or {})
    elif operation in ("TransactWriteItems", "TransactGetItems"):
        names = {body.get("TableName", "") for entry in params.get("TransactItems") or [] for body in entry.values()}
    elif operation in ("CreateTable", "DeleteTable", "ListTables", "RestoreTableFromBackup", "ExecuteStatement"):
        return None
    else:
        names = {params["TableName"]} if isinstance(params.get("TableName"), str) else set()
    names = {table_name(name) for name in names if isinstance(name, str) and name}
    return names or None


class TableLocks:
    def __init__(self) -> None:
        self._backend = ReadWriteLock()
        self._tables: dict[str, ReadWriteLock] = {}
        self._guard = threading.Lock()

    def _lock(self, name: str) -> ReadWriteLock:
        with self._guard:
            return self._tables.setdefault(name, ReadWriteLock())

    @contextlib.contextmanager
    def holding(self, operation: str, params: dict[str, Any]) -> Iterator[None]:
        tables = tables_of(operation, params)
        if tables is None:
            with self._backend.writing():
                yield
            return
        with self._backend.reading(), contextlib.ExitStack() as held:
            for name in sorted(tables):
                lock = self._lock(name)
                held.enter_context(lock.reading() if operation in READS else lock.writing())
            yield

    @contextlib.contextmanager
    def everything(self) -> Iterator[None]:
        """No DynamoDB request runs meanwhile (a consistent copy of the state, say)."""
        with self._backend.writing():
            yield


# ---------------------------------------------------------------------- transactions


class Journal:
    """What a transaction changed: each item as it was before, and each stream's length."""

    def __init__(self) -> None:
        self._items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
        self._streams: dict[int, tuple[Any, int]] = {}

    def remember(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None, before: Item | None) -> None:
        if table.stream_shard is not None and id(table.stream_shard) not in self._streams:
            self._streams[id(table.stream_shard)] = (table.stream_shard, len(table.stream_shard.items))
        self._items.append((table, hash_key, range_key, copy.deepcopy(before)))  # an update changes it in place

    def undo(self) -> None:
        for table, hash_key, range_key, before in reversed(self._items):
            if range_key is not None:
                partition = table.items.get(hash_key)
                if before is not None:
                    table.items[hash_key][range_key] = before
                elif partition is not None:
                    partition.pop(range_key, None)
                    if not partition:
                        del table.items[hash_key]
            elif before is not None:
                table.items[hash_key] = before  # type: ignore[assignment]  # a table without sort key: items by hash
            else:
                table.items.pop(hash_key, None)
        for shard, length in self._streams.values():
            del shard.items[length:]


def _key_of(table: Table, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    attributes = op["Item"]
    key = {table.hash_key_attr: attributes[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attributes[table.range_key_attr]
    return key


def _checked(transact_items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The (operation, body) pairs, refused as a whole before anything runs, as DynamoDB does."""
    if len(transact_items) > MAX_TRANSACTION_ITEMS:
        raise TooManyTransactionsException()
    if any(len(entry) != 1 for entry in transact_items):
        raise TransactWriteSingleOpException()
    return [next(iter(entry.items())) for entry in transact_items]


def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems with the same checks and answers, rolled back item by item."""
    operations = _checked(transact_items)
    journal = Journal()
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    try:
        for op_type, op in operations:
            original: dict[str, Any] | None = None
            try:
                if op_type not in TRANSACTION_OPERATIONS:
                    raise ValueError("Unsupported transaction operation")
                table = backend.get_table(op["TableName"])
                key = _key_of(table, op_type, op)
                target = (table.name, str(dict(sorted(key.items()))))
                if target in targets:
                    raise MultipleTransactionsException()
                targets.add(target)
                hash_key, range_key = backend.get_keys_value(table, key)
                current = table.get_item(hash_key, range_key)
                condition = op.get("ConditionExpression")
                names, values = op.get("ExpressionAttributeNames") or {}, op.get("ExpressionAttributeValues") or {}
                if condition is not None and not get_filter_expression(condition, names, values).expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original)
                if op_type != "ConditionCheck":
                    journal.remember(table, hash_key, range_key, current)
                if op_type == "Put":
                    backend.put_item(
                        op["TableName"],
                        op["Item"],
                        condition_expression=condition,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Delete":
                    backend.delete_item(
                        op["TableName"],
                        key,
                        condition_expression=condition,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Update":
                    backend.update_item(
                        op["TableName"],
                        key,
                        update_expression=op["UpdateExpression"],
                        condition_expression=condition,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as error:
                errors.append(("ConditionalCheckFailed", str(error.message), original))
            except Exception as error:  # as moto: any other failure cancels the transaction with its name
                errors.append((type(error).__name__, str(error), original))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
    except BaseException:
        journal.undo()
        raise


# ---------------------------------------------------------------------- queries

_partition = threading.local()


def _range_key(item: Item) -> Any:
    return item.range_key


def _query_one_partition(query: Callable[..., Any], all_items: Callable[[Table], list[Item]]) -> tuple:
    """Table.query and Table.all_items such that a query of the table itself (not of an index)
    looks at the queried partition only: moto's query keeps the items of that hash key anyway."""
    signature = inspect.signature(query)

    def query_partition(table: Table, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(table, *args, **kwargs).arguments
        _partition.key = None if arguments.get("index_name") else arguments.get("hash_key")
        try:
            return query(table, *args, **kwargs)
        finally:
            _partition.key = None

    def partition_items(table: Table) -> list[Item]:
        key = getattr(_partition, "key", None)
        if key is None:
            return all_items(table)
        found: Any = table.items.get(key)  # the partition's items by sort key, or the item itself
        if found is None:
            return []
        return sorted(found.values(), key=_range_key) if table.range_key_attr else [found]

    return query_partition, partition_items


# ---------------------------------------------------------------------- client request tokens


class IdempotentParameterMismatch(DynamodbException):
    def __init__(self) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
            "the ClientRequestToken was used with a different request within the last 10 minutes",
        )


class ClientRequestTokens:
    """TransactWriteItems runs once per ClientRequestToken within DynamoDB's 10-minute window. A
    cancelled transaction is not remembered, so its retry runs again, as in DynamoDB."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, float, Any]] = {}
        self._lock = threading.Lock()

    def run(self, handler: DynamoHandler, transact: Call) -> Any:
        token = handler.body.get("ClientRequestToken")
        if not token:
            return transact(handler)
        request = {name: value for name, value in handler.body.items() if name != "ClientRequestToken"}
        digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            for expired in [t for t, (_, at, _) in self._seen.items() if now - at > TOKEN_WINDOW_S]:
                del self._seen[expired]
            earlier = self._seen.get(token)
        if earlier:
            if earlier[0] != digest:
                raise IdempotentParameterMismatch()
            return earlier[2]
        result = transact(handler)
        with self._lock:
            self._seen[token] = (digest, now, result)
        return result


# ---------------------------------------------------------------------- installation

LOCKS = TableLocks()  # moto's backends are process-wide, and so are their locks
_TOKENS = ClientRequestTokens()


def install(around_call: Callable[[DynamoHandler, Call], Any]) -> None:
    """Patches moto's DynamoDB in this process (once): the locks above around every request, which
    `around_call(handler, call)` then runs (the meter counts there); the transactions, queries and
    tokens above."""
    if getattr(DynamoHandler.call_action, "emulated", False):
        return
    call_action = DynamoHandler.call_action

    def locked(handler: DynamoHandler) -> Any:
        operation = (handler.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        with LOCKS.holding(operation, getattr(handler, "params", None) or {}):
            return around_call(handler, call_action)

    locked.emulated = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = locked  # type: ignore[method-assign]
    transact_handler = DynamoHandler.transact_write_items
    DynamoHandler.transact_write_items = lambda handler: _TOKENS.run(handler, transact_handler)  # type: ignore[method-assign, assignment]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign, assignment]
    Table.query, Table.all_items = _query_one_partition(Table.query, Table.all_items)  # type: ignore[method-assign]
