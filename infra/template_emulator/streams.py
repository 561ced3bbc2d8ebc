"""Drives the template's DynamoDB stream event source mappings as Lambda's pollers do.

moto keeps a table's stream records (one shard) but invokes nothing; this plays the mapping: one
poller per mapping reads every shard from the starting position, drops the records its
FilterCriteria reject, invokes the function with batches of at most BatchSize, and checkpoints.
On a failure it retries from the first failed record (ReportBatchItemFailures), splits a failed
batch in two (BisectBatchOnFunctionError, which consumes no retry), and once MaximumRetryAttempts
or MaximumRecordAgeInSeconds is exceeded sends the batch's description to the on-failure
destination and moves on, as Lambda does.

The poller follows each shard's iterator from read to read, and keeps its own checkpoint (the last
sequence number done): when an iterator is refused (DynamoDB's expire after 15 minutes), it starts
a fresh one after the checkpoint.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from template_emulator.event_filters import compile_filters, passes
from template_emulator.event_sources import enabled_events
from template_emulator.runtime import FunctionError
from template_emulator.template import Template

log = logging.getLogger("template_emulator.streams")

READ_LIMIT = 1000  # records per GetRecords
POLL_INTERVAL = 0.25  # seconds between reads of an idle shard: Lambda polls a shard 4 times a second
SHARD_REFRESH = 10.0  # seconds between listings of the stream's shards
RETRY_BACKOFF = (0.5, 1.0, 2.0, 4.0)  # seconds before the 1st, 2nd, ... retry of a failed batch
SUPPORTED_PROPERTIES = {
    "Stream",
    "StartingPosition",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "FunctionResponseTypes",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "DestinationConfig",
    "FilterCriteria",
    "Enabled",
}


@dataclass(frozen=True)
class StreamMapping:
    function: str
    function_arn: str
    event_name: str
    stream_arn: str
    starting_position: str
    batch_size: int
    batching_window: float
    report_item_failures: bool
    bisect: bool
    max_retries: int  # -1: until the record expires
    max_record_age: int  # seconds; -1: until the record expires
    on_failure_queue_url: str | None
    filters: list[dict]


def stream_mappings_from_template(template: Template) -> list[StreamMapping]:
    mappings = []
    for function, name, table, event in enabled_events(template, "DynamoDB", "Stream", SUPPORTED_PROPERTIES):
        destination = function.events[name]["Properties"].get("DestinationConfig", {}).get("OnFailure", {})
        queue = template.referenced_resource(destination["Destination"]) if destination else None
        mappings.append(
            StreamMapping(
                function=function.logical_id,
                function_arn=function.arn,
                event_name=name,
                stream_arn=template.attribute(table, "StreamArn"),
                starting_position=event["StartingPosition"],
                batch_size=int(event.get("BatchSize", 100)),
                batching_window=float(event.get("MaximumBatchingWindowInSeconds", 0)),
                report_item_failures="ReportBatchItemFailures" in event.get("FunctionResponseTypes", []),
                bisect=event.get("BisectBatchOnFunctionError") in (True, "true"),
                max_retries=int(event.get("MaximumRetryAttempts", -1)),
                max_record_age=int(event.get("MaximumRecordAgeInSeconds", -1)),
                on_failure_queue_url=template.attribute(queue, "QueueUrl") if queue else None,
                filters=compile_filters(event.get("FilterCriteria")),
            )
        )
    return mappings


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record, as boto3 parses it, in the shape Lambda hands to the function (JSON:
    the creation time in epoch seconds, binary values in base64)."""
    return {**_jsonable(record), "eventSourceARN": stream_arn}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    return value


def first_failure(records: list[dict[str, Any]], result: Any, report_item_failures: bool) -> int | None:
    """Where the retry starts, under Lambda's partial batch response rules for streams: None when
    the batch succeeded, else the index of the failed record with the lowest sequence number (0
    when the whole batch failed: an invalid response, or an empty or unknown itemIdentifier)."""
    if not report_item_failures or result is None or result == {}:
        return None
    if not isinstance(result, dict):
        return 0
    failures = result.get("batchItemFailures")
    if not failures:
        return None
    positions = {record["dynamodb"]["SequenceNumber"]: index for index, record in enumerate(records)}
    failed = [failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures]
    if any(identifier not in positions for identifier in failed):
        return 0
    return min(positions[identifier] for identifier in failed)


def failure_record(mapping: StreamMapping, shard_id: str, batch: list[dict], condition: str, invokes: int) -> dict:
    """What Lambda sends to an on-failure destination for a stream batch it gave up on."""
    arrivals = [datetime.fromtimestamp(record["dynamodb"]["ApproximateCreationDateTime"], UTC) for record in batch]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": mapping.function_arn,
            "condition": condition,
            "approximateInvokeCount": invokes,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": min(arrivals).isoformat(),
            "approximateArrivalOfLastRecord": max(arrivals).isoformat(),
            "batchSize": len(batch),
            "streamArn": mapping.stream_arn,
        },
    }


class StreamPoller:
    """One thread for the mapping, reading every shard of the stream in turn."""

    def __init__(self, mapping: StreamMapping, streams, sqs, invoke: Callable[[str, Any], Any]):
        self.mapping = mapping
        self._streams = streams
        self._sqs = sqs
        self._invoke = invoke
        self._checkpoints: dict[str, str | None] = {}  # shard id -> last sequence number done
        self._iterators: dict[str, str | None] = {}  # shard id -> where the next read starts
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    @property
    def name(self) -> str:
        return f"{self.mapping.function}.{self.mapping.event_name}"

    def positions(self) -> dict[str, str | None]:
        """Where each shard's reading resumes (Lambda keeps this for a mapping): shard id -> last done."""
        return dict(self._checkpoints)

    def resume_from(self, positions: dict[str, str | None]) -> None:
        self._checkpoints.update(positions)

    def start(self) -> None:
        self._thread.start()

    def _poll(self) -> None:
        shards: list[str] = []
        listed_at = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() - listed_at > SHARD_REFRESH:
                    described = self._streams.describe_stream(StreamArn=self.mapping.stream_arn)
                    shards, listed_at = (
                        [s["ShardId"] for s in described["StreamDescription"]["Shards"]],
                        time.monotonic(),
                    )
                found = [self._poll_shard(shard_id) for shard_id in shards]  # every shard, each time
                if not any(found):
                    self._stopping.wait(POLL_INTERVAL)
            except (BotoCoreError, ClientError) as error:
                log.warning("%s: reading %s failed: %s", self.mapping.function, self.mapping.stream_arn, error)
                self._stopping.wait(1)

    def _poll_shard(self, shard_id: str) -> bool:
        """Processes what the shard holds after its checkpoint; False when it held nothing new."""
        records = self._read(shard_id)
        if not records:
            return False
        if self.mapping.batching_window and len(self._matching(records)) < self.mapping.batch_size:
            self._stopping.wait(self.mapping.batching_window)
            records += self._read(shard_id)
        batch = self._matching(records)
        for start in range(0, len(batch), self.mapping.batch_size):
            self._deliver(shard_id, batch[start : start + self.mapping.batch_size])
        self._checkpoints[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        return True

    def _read(self, shard_id: str) -> list[dict[str, Any]]:
        iterator = self._iterators.get(shard_id) or self._fresh_iterator(shard_id)
        try:
            page = self._streams.get_records(ShardIterator=iterator, Limit=READ_LIMIT)
        except ClientError:  # an expired or unknown iterator: start again after the checkpoint
            page = self._streams.get_records(ShardIterator=self._fresh_iterator(shard_id), Limit=READ_LIMIT)
        self._iterators[shard_id] = page.get("NextShardIterator")
        return page["Records"]

    def _fresh_iterator(self, shard_id: str) -> str:
        checkpoint = self._checkpoints.get(shard_id)
        position = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": checkpoint}
            if checkpoint
            else {"ShardIteratorType": self.mapping.starting_position}
        )
        iterator = self._streams.get_shard_iterator(StreamArn=self.mapping.stream_arn, ShardId=shard_id, **position)
        return str(iterator["ShardIterator"])

    def _matching(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        converted = (lambda_record(record, self.mapping.stream_arn) for record in records)
        return [record for record in converted if passes(self.mapping.filters, record)]

    def _deliver(self, shard_id: str, batch: list[dict], retries: int = 0) -> None:
        """Invokes the function until the batch is done, split, or given up on."""
        mapping = self.mapping
        while batch and not self._stopping.is_set():
            try:
                result = self._invoke(mapping.function, {"Records": batch})
                failed_at = first_failure(batch, result, mapping.report_item_failures)
                if failed_at is None:
                    return
                batch = batch[failed_at:]  # the records before the first failure are done
                log.info("%s: retrying %d stream record(s) from the first failure", mapping.function, len(batch))
            except FunctionError as error:
                log.warning("%s: batch of %d stream record(s) failed: %s", mapping.function, len(batch), error)
                if mapping.bisect and len(batch) > 1:
                    half = len(batch) // 2
                    self._deliver(shard_id, batch[:half], retries)
                    self._deliver(shard_id, batch[half:], retries)
                    return
            retries += 1
            condition = self._exhausted(batch, retries)
            if condition:
                self._discard(shard_id, batch, condition, retries)
                return
            self._stopping.wait(RETRY_BACKOFF[min(retries, len(RETRY_BACKOFF)) - 1])

    def _exhausted(self, batch: list[dict], retries: int) -> str | None:
        if 0 <= self.mapping.max_retries < retries:
            return "RetryAttemptsExhausted"
        oldest = min(record["dynamodb"]["ApproximateCreationDateTime"] for record in batch)
        if 0 <= self.mapping.max_record_age < datetime.now(UTC).timestamp() - oldest:
            return "RecordAgeExceeded"
        return None

    def _discard(self, shard_id: str, batch: list[dict], condition: str, invokes: int) -> None:
        log.warning("%s: %d stream record(s) discarded (%s)", self.mapping.function, len(batch), condition)
        if self.mapping.on_failure_queue_url:
            record = failure_record(self.mapping, shard_id, batch, condition, invokes)
            self._sqs.send_message(QueueUrl=self.mapping.on_failure_queue_url, MessageBody=json.dumps(record))

    def stop(self) -> None:
        self._stopping.set()

    def join(self) -> None:
        if self._thread.is_alive():
            self._thread.join()
