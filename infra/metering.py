"""Counts what the local stack's AWS would bill: every request at the embedded endpoint, by who made
it (each function's worker signs with an access key id of its own), service and operation;
DynamoDB read and write request units from the items' sizes; each invocation's duration; the bytes
each function logs; the HTTP API requests a client makes. `make cost` (scripts/cost.py) prices it.

The counter is generic: a new function, service or operation needs no change here, only a price
in infra/prices.toml. Quantities are plain names (requests, rru, wru, wru_index, chunks, bytes,
duration_ms, gb_s, ...), so a line reads "ApiFunction dynamodb UpdateItem wru 2".

DynamoDB's sizing rules, as documented for on-demand capacity:
* an item's size is the UTF-8 length of its attribute names plus their values' sizes (strings by
  UTF-8 length, numbers by about one byte per two significant digits plus one, binary by length,
  booleans and nulls 1, lists and maps 3 plus 1 per element, sets by their members);
* a write is 1 WRU per KB of the larger of the item before and after it (a failed conditional
  write too, on the item as it is); a transactional write is 2x; every global secondary index
  whose entry changes costs 1 WRU per KB of the entry (2 writes when the index key changes);
* a read is 1 RRU per 4 KB (strongly consistent or transactional x2: 2 RRU; eventually
  consistent: 0.5), a GetItem of nothing still 1 (or 0.5); a Query or Scan is sized by the items
  it read, before any filter or projection, rounded up to 4 KB once per request.
(moto's own Item.size() counts numbers by their digits and lists and maps without overhead.)
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

KB = 1024
READ_UNIT = 4 * KB
SQS_CHUNK = 64 * KB  # SQS bills each 64 KB of a request's payload as one request
HTTP_API_CHUNK = 512 * KB  # HTTP API requests are metered in 512 KB increments
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/")
SETUP = "local stack"  # the stack itself and test code: provisioning, fixtures, benchmarks
CLIENT = "client"  # the API's callers (HTTP API requests)

Line = tuple[str, str, str]  # (principal, service, operation)
# (principal, operation, where: "table" or an index name, the partition key's value): DynamoDB's
# units by the partition they fell on, for a capacity model to find the keys many requests share.
KeyLine = tuple[str, str, str, str]
TABLE = "table"


class Meter:
    """What was counted, by (principal, service, operation), each with named quantities."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: defaultdict[Line, Counter[str]] = defaultdict(Counter)
        self._keys: defaultdict[KeyLine, Counter[str]] = defaultdict(Counter)
        self._principals: dict[str, str] = {}

    def access_key(self, principal: str) -> str:
        """A 20-character access key id that names `principal` in the requests it signs (moto
        accepts any key; it then uses its default account)."""
        key = ("AKIA" + hashlib.sha256(principal.encode()).hexdigest().upper())[:20]
        with self._lock:
            self._principals[key] = principal
        return key

    def principal_of(self, access_key: str | None) -> str:
        return self._principals.get(access_key or "", SETUP)

    def add(self, principal: str, service: str, operation: str, **quantities: float) -> None:
        with self._lock:
            self._lines[(principal, service, operation)].update(quantities)

    def lines(self) -> dict[Line, dict[str, float]]:
        with self._lock:
            return {line: dict(quantities) for line, quantities in self._lines.items()}

    def add_key(self, principal: str, operation: str, where: str, partition: str, **quantities: float) -> None:
        with self._lock:
            self._keys[(principal, operation, where, partition)].update(quantities)

    def keys(self) -> dict[KeyLine, dict[str, float]]:
        """DynamoDB's request units by partition key value (of the table or of an index)."""
        with self._lock:
            return {line: dict(quantities) for line, quantities in self._keys.items()}

    def reset(self) -> None:
        with self._lock:
            self._lines.clear()
            self._keys.clear()


METER = Meter()  # one per process: moto's server (and its DynamoDB hook) is process-wide too


# ---------------------------------------------------------------------- DynamoDB item sizes


def number_size(text: str) -> int:
    digits = str(Decimal(text).normalize()).lstrip("-").replace(".", "")
    digits = digits.split("E")[0].strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(typed: Any) -> int:
    """The size of one attribute value given as DynamoDB JSON ({"S": ...}) or as a moto DynamoType."""
    if not isinstance(typed, dict):  # a moto DynamoType
        typed = {typed.type: typed.value}
    ((kind, value),) = typed.items()
    if kind == "S":
        return len(value.encode())
    if kind == "N":
        return number_size(value)
    if kind == "B":
        return len(value) if isinstance(value, bytes) else len(base64.b64decode(value))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(member.encode()) for member in value)
    if kind == "NS":
        return sum(number_size(member) for member in value)
    if kind == "BS":
        return sum(len(m) if isinstance(m, bytes) else len(base64.b64decode(m)) for m in value)
    if kind == "L":
        return 3 + sum(1 + value_size(member) for member in value)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(member) for name, member in value.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(attributes: dict[str, Any] | None) -> int:
    if not attributes:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in attributes.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    return units if consistent else units / 2


# ---------------------------------------------------------------------- DynamoDB request units

READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
UNREAD = ("FilterExpression", "ProjectionExpression", "AttributesToGet", "Select", "QueryFilter", "ScanFilter")
PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


def metered_dynamodb_call(handler: Any, call: Callable[[Any], Any]) -> Any:
    """Runs one DynamoDB request on moto (under the endpoint's lock) and counts its request units
    against the principal that signed it."""
    operation = (handler.headers.get("X-Amz-Target") or "").rpartition(".")[2]
    if operation not in READS | WRITES:
        return call(handler)
    principal = METER.principal_of(_access_key(handler.headers.get("Authorization", "")))
    params: dict[str, Any] = getattr(handler, "params", None) or {}
    started = time.perf_counter()
    try:
        if operation in WRITES:
            return _metered_write(handler, call, operation, params, principal)
        return _metered_read(handler, call, operation, params, principal)
    except _Unmeasurable:
        return call(handler)
    finally:  # this runs under the endpoint's lock: how long moto's DynamoDB was busy with it
        METER.add(principal, "dynamodb", operation, locked_ms=(time.perf_counter() - started) * 1000)


class _Unmeasurable(Exception):
    """A request the counter cannot size (a malformed one, say): moto answers it as usual."""


def _access_key(authorization: str) -> str | None:
    match = CREDENTIAL.search(authorization)
    return match.group(1) if match else None


def _table(handler: Any, name: str) -> Any:
    try:
        return handler.dynamodb_backend.get_table(name)
    except Exception as error:
        raise _Unmeasurable from error


def _stored(table: Any, key: dict[str, Any]) -> dict[str, Any] | None:
    """The item with this key as DynamoDB JSON, or None."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(hash_key, range_key)
    except Exception:
        return None
    return json.loads(json.dumps(item.to_json()["Attributes"], default=_json_default)) if item else None


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    to_json = getattr(value, "to_json", None)
    if to_json:
        return to_json()
    raise TypeError(type(value).__name__)


def _key_of(table: Any, item: dict[str, Any]) -> dict[str, Any]:
    names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
    return {name: item[name] for name in names if name in item}


def _writes(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None, dict | None, int]]:
    """(table, key, item to put, multiplier) of each item a write request touches."""
    if operation == "PutItem":
        return [(params["TableName"], None, params["Item"], 1)]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params["Key"], None, 1)]
    if operation == "BatchWriteItem":
        return [
            (table, request.get("DeleteRequest", {}).get("Key"), request.get("PutRequest", {}).get("Item"), 1)
            for table, requests in params.get("RequestItems", {}).items()
            for request in requests
        ]
    touched = []
    for entry in params.get("TransactItems", []):
        ((kind, body),) = entry.items()
        touched.append((body["TableName"], body.get("Key"), body.get("Item") if kind == "Put" else None, 2))
    return touched


def _metered_write(handler: Any, call: Callable, operation: str, params: dict, principal: str) -> Any:
    try:
        touched = []
        for table_name, key, put, multiplier in _writes(operation, params):
            table = _table(handler, table_name)
            key = key or _key_of(table, put or {})
            touched.append((table, key, multiplier, _stored(table, key)))
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise _Unmeasurable from error
    result = call(handler)
    table_units = index_units = 0
    for table, key, multiplier, before in touched:
        after = _stored(table, key)
        units = multiplier * write_units(max(item_size(before), item_size(after)))
        table_units += units
        METER.add_key(principal, operation, TABLE, _partition(key.get(table.hash_key_attr)), wru=units, requests=1)
        for index in table.global_indexes:
            for partition, entry_units in _index_partition_writes(index, table, before, after):
                index_units += entry_units
                METER.add_key(principal, operation, index.name, partition, wru=entry_units, requests=1)
    METER.add(principal, "dynamodb", operation, wru=table_units, wru_index=index_units)
    return result


def _partition(typed: Any) -> str:
    """A partition key's value as text (DynamoDB JSON {"S": ...} or {"N": ...})."""
    if isinstance(typed, dict) and len(typed) == 1:
        ((kind, value),) = typed.items()
        return str(value) if kind in ("S", "N") else f"<{kind}>"
    return "?"


def _index_entry(index: Any, table: Any, item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    index_keys = [key["AttributeName"] for key in index.schema]
    if any(name not in item for name in index_keys):
        return None  # not in this (sparse) index
    projection = (index.projection or {}).get("ProjectionType", "ALL")
    if projection == "ALL":
        return item
    kept = {table.hash_key_attr, table.range_key_attr, *index_keys}
    if projection == "INCLUDE":
        kept |= set(index.projection.get("NonKeyAttributes", []))
    return {name: value for name, value in item.items() if name in kept}


def _index_writes(index: Any, table: Any, before: dict | None, after: dict | None) -> int:
    return sum(units for _, units in _index_partition_writes(index, table, before, after))


def _index_partition_writes(index: Any, table: Any, before: dict | None, after: dict | None) -> list[tuple[str, int]]:
    """The index's writes for one item's change, each with the index partition it falls on: one for
    an entry updated in place, a removal and an insert when its key moves."""
    old, new = _index_entry(index, table, before), _index_entry(index, table, after)
    if old == new:
        return []
    index_keys = [key["AttributeName"] for key in index.schema]
    hash_key = next(key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH")
    if old is not None and new is not None and all(old[name] == new[name] for name in index_keys):
        return [(_partition(new[hash_key]), write_units(item_size(new)))]  # updated in place
    return [(_partition(entry[hash_key]), write_units(item_size(entry))) for entry in (old, new) if entry]


def _unfiltered(params: dict[str, Any]) -> dict[str, Any]:
    """The request without what DynamoDB applies after reading (filters, projections), and
    without the names and values only those used."""
    kept = {name: value for name, value in params.items() if name not in UNREAD}
    used = set(PLACEHOLDER.findall(kept.get("KeyConditionExpression", "")))
    for section in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        if section in kept:
            kept[section] = {name: value for name, value in kept[section].items() if name in used}
            if not kept[section]:
                del kept[section]
    return kept


def _response_items(response: Any) -> list[dict[str, Any]]:
    body = response[2] if isinstance(response, tuple) else response
    if isinstance(body, bytes):
        body = body.decode()
    try:
        return json.loads(body).get("Items", []) if body else []
    except (ValueError, AttributeError):
        return []


def _metered_read(handler: Any, call: Callable, operation: str, params: dict, principal: str) -> Any:
    if operation in ("Query", "Scan"):
        consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
        if any(name in params for name in UNREAD):
            saved = handler.params
            handler.params = _unfiltered(params)
            try:
                read = _response_items(call(handler))
            finally:
                handler.params = saved
            result = call(handler)
        else:
            result = call(handler)
            read = _response_items(result)
        units = read_units(sum(map(item_size, read)), consistent)
        METER.add(principal, "dynamodb", operation, rru=units)
        where = params.get("IndexName", TABLE)
        METER.add_key(
            principal,
            operation,
            where,
            _queried_partition(params) if operation == "Query" else "*",
            rru=units,
            requests=1,
        )
        return result
    try:
        reads: list[tuple[str, float]] = []  # (partition, units) of each item read
        if operation == "GetItem":
            table = _table(handler, params["TableName"])
            units = read_units(item_size(_stored(table, params["Key"])), bool(params.get("ConsistentRead")))
            reads.append((_partition(params["Key"].get(table.hash_key_attr)), units))
        elif operation == "BatchGetItem":
            for table_name, request in params.get("RequestItems", {}).items():
                table = _table(handler, table_name)
                consistent = bool(request.get("ConsistentRead"))
                for key in request["Keys"]:
                    units = read_units(item_size(_stored(table, key)), consistent)
                    reads.append((_partition(key.get(table.hash_key_attr)), units))
        else:  # TransactGetItems
            for entry in params.get("TransactItems", []):
                body = entry["Get"]
                table = _table(handler, body["TableName"])
                units = 2 * read_units(item_size(_stored(table, body["Key"])), True)
                reads.append((_partition(body["Key"].get(table.hash_key_attr)), units))
    except (KeyError, TypeError, AttributeError) as error:
        raise _Unmeasurable from error
    result = call(handler)
    METER.add(principal, "dynamodb", operation, rru=sum(units for _, units in reads))
    for partition, units in reads:
        METER.add_key(principal, operation, TABLE, partition, rru=units, requests=1)
    return result


KEY_EQUALS = re.compile(r"([#\w]+)\s*=\s*(:\w+)")


def _queried_partition(params: dict[str, Any]) -> str:
    """The partition a Query reads: the value its key condition binds with `=` (the partition key
    is the only one a key condition may compare with `=` and nothing else; a sort key's `=` comes
    second, so the first binding is the partition's)."""
    match = KEY_EQUALS.search(params.get("KeyConditionExpression", ""))
    if not match:
        return "?"
    return _partition(params.get("ExpressionAttributeValues", {}).get(match.group(2)))


# ---------------------------------------------------------------------- every other request


def operation_of(environ: dict[str, Any], service: str, body: bytes) -> str:
    """The API operation of a request, from its target header, its Action, or (S3) method and path."""
    if target := environ.get("HTTP_X_AMZ_TARGET"):
        return target.rpartition(".")[2]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "Action" in query:
        return query["Action"][0]
    form = body and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
    if form and (action := parse_qs(body.decode("utf-8", "replace")).get("Action")):
        return action[0]
    if service == "s3":
        method = environ.get("REQUEST_METHOD", "GET")
        has_key = "/" in environ.get("PATH_INFO", "").strip("/")
        if has_key:
            return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(
                method, method
            )
        if method == "GET":
            return "ListObjectsV2" if "list-type" in query else "GetBucket"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return {"HEAD": "HeadBucket", "PUT": "PutBucket", "DELETE": "DeleteBucket"}.get(method, method)
    return environ.get("REQUEST_METHOD", "?")


def _signer(environ: dict[str, Any]) -> tuple[str | None, str]:
    if match := CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", "")):
        return match.group(1), match.group(2)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if credential := query.get("X-Amz-Credential"):  # a presigned URL
        parts = credential[0].split("/")
        return parts[0], parts[3] if len(parts) > 3 else "?"
    return None, "?"


class MeteringMiddleware:
    """WSGI middleware before moto: one count per request, with its payload sizes. DynamoDB's
    request units are added by metered_dynamodb_call, on the same line."""

    def __init__(self, app: Callable, meter: Meter = METER):
        self.app = app
        self.meter = meter

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        access_key, service = _signer(environ)
        operation = operation_of(environ, service, body)
        status: list[str] = []

        def recording_start_response(status_line: str, headers: list, exc_info: Any = None) -> Any:
            status.append(status_line)
            return start_response(status_line, headers, exc_info)

        started = time.perf_counter()
        response = b"".join(self.app(environ, recording_start_response))
        quantities: dict[str, float] = {
            "requests": 1,
            "bytes_in": len(body),
            "bytes_out": len(response),
            "server_ms": (time.perf_counter() - started) * 1000,  # moto's time (incl. waiting for its lock)
        }
        if service == "sqs":
            quantities["chunks"] = max(1, math.ceil(max(len(body), len(response)) / SQS_CHUNK))
            if operation == "ReceiveMessage":
                received = len(json.loads(response or b"{}").get("Messages", [])) if response[:1] == b"{" else 0
                quantities["messages"] = received
                if not received:
                    quantities["empty"] = 1
        if status and not status[0].startswith(("2", "3")):
            quantities["errors"] = 1
        self.meter.add(self.meter.principal_of(access_key), service, operation, **quantities)
        return [response]


# ---------------------------------------------------------------------- the rest of AWS


def lambda_platform_lines(request_id: str, duration_ms: float, memory_mb: int, init_ms: float | None) -> list[str]:
    """The START, END and REPORT lines Lambda writes to a function's log group per invocation."""
    init = f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else ""
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: "
        f"{math.ceil(duration_ms)} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {memory_mb // 4} MB{init}\t\n"
    )
    return [f"START RequestId: {request_id} Version: $LATEST\n", f"END RequestId: {request_id}\n", report]


def record_invocation(
    function: str, request_id: str, duration_ms: float, memory_mb: int, init_ms: float | None = None
) -> None:
    """One invocation at its configured memory: a request, billed duration (1 ms steps) in GB-s,
    and the platform's log lines. An init phase is counted apart (`Init`)."""
    billed_ms = math.ceil(duration_ms)
    METER.add(function, "lambda", "Invoke", requests=1, duration_ms=billed_ms, gb_s=billed_ms / 1000 * memory_mb / 1024)
    if init_ms is not None:
        billed_init = math.ceil(init_ms)
        METER.add(
            function, "lambda", "Init", count=1, duration_ms=billed_init, gb_s=billed_init / 1000 * memory_mb / 1024
        )
    lines = lambda_platform_lines(request_id, duration_ms, memory_mb, init_ms)
    METER.add(function, "logs", "ingest", bytes=sum(len(line.encode()) for line in lines), events=len(lines))


def record_log_line(function: str, line: str) -> None:
    METER.add(function, "logs", "ingest", bytes=len(line.rstrip("\n").encode()), events=1)


def record_access_log(api: str, line: str) -> None:
    """An HTTP API access log line (the template's AccessLogSettings), ingested by CloudWatch Logs."""
    METER.add(api, "logs", "ingest", bytes=len(line.encode()), events=1)


def record_http_request(route_key: str, request_bytes: int, response_bytes: int) -> None:
    METER.add(
        CLIENT,
        "apigateway",
        route_key,
        requests=max(1, math.ceil(max(request_bytes, response_bytes) / HTTP_API_CHUNK)),
        bytes_out=response_bytes,
    )
