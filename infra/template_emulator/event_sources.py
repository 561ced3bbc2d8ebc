"""Drives the template's SQS event source mappings as Lambda's pollers do.

Failed records are not deleted: they come back after the queue's visibility timeout, and the endpoint's
redrive policy moves them to the dead-letter queue after maxReceiveCount receives (moto does this itself).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from template_emulator.faults import Mapping
from template_emulator.runtime import FunctionError, concurrency
from template_emulator.template import Function, Template

log = logging.getLogger("template_emulator.sqs")

SQS_MAX_MESSAGES = 10  # per ReceiveMessage call
SUPPORTED_PROPERTIES = {
    "Queue",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "FunctionResponseTypes",
    "ScalingConfig",
    "Enabled",
}


@dataclass(frozen=True)
class QueueMapping:
    function: str
    event_name: str
    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window: float
    report_item_failures: bool
    pollers: int


def enabled_events(
    template: Template, event_type: str, source_key: str, supported: set[str]
) -> Iterator[tuple[Function, str, str, dict[str, Any]]]:
    """(function, event name, the source's logical id, the event's resolved properties) of each
    enabled event source of the type, warning of the properties not applied locally."""
    for function in template.functions().values():
        for name, properties in function.events_of_type(event_type).items():
            source = template.referenced_resource(properties[source_key])
            if source is None:
                raise ValueError(f"{function.logical_id}.{name}: the {source_key} must be a resource of this template")
            unsupported = set(properties) - supported
            if unsupported:
                log.warning("%s.%s: not applied locally: %s", function.logical_id, name, ", ".join(sorted(unsupported)))
            event = template.resolve(properties)
            if event.get("Enabled", True) not in (False, "false"):
                yield function, name, source, event


def mappings_from_template(template: Template) -> list[QueueMapping]:
    return [
        QueueMapping(
            function=function.logical_id,
            event_name=name,
            queue_url=template.attribute(queue, "QueueUrl"),
            queue_arn=template.attribute(queue, "Arn"),
            batch_size=int(event.get("BatchSize", 10)),
            batching_window=float(event.get("MaximumBatchingWindowInSeconds", 0)),
            report_item_failures="ReportBatchItemFailures" in event.get("FunctionResponseTypes", []),
            pollers=concurrency(function),
        )
        for function, name, queue, event in enabled_events(template, "SQS", "Queue", SUPPORTED_PROPERTIES)
    ]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda builds from received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {
                    name: _lambda_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    attribute["stringListValues"] = value.get("StringListValues", [])
    attribute["binaryListValues"] = [base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])]
    attribute["dataType"] = value["DataType"]
    return attribute


def records_to_delete(messages: list[dict[str, Any]], result: Any, report_item_failures: bool) -> list[dict]:
    """The messages a successful invocation consumed, under Lambda's partial batch response rules."""
    if not report_item_failures or result is None or result == {}:
        return messages
    if not isinstance(result, dict):
        return []  # an invalid response fails the whole batch
    failures = result.get("batchItemFailures")
    if not failures:
        return messages
    message_ids = {message["MessageId"] for message in messages}
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in message_ids:
            return []  # an empty, null or unknown itemIdentifier fails the whole batch
        failed.add(identifier)
    return [message for message in messages if message["MessageId"] not in failed]


class SqsPoller:
    """`mapping.pollers` threads, each gathering a batch and invoking the function with it. The
    switch (template_emulator.faults) disables the mapping or delivers each batch twice."""

    def __init__(
        self, mapping: QueueMapping, sqs, invoke: Callable[[str, Any], Any], region: str, switch: Mapping | None = None
    ):
        self.mapping = mapping
        self._sqs = sqs
        self._invoke = invoke
        self._region = region
        self.switch = switch or Mapping()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._poll, daemon=True) for _ in range(mapping.pollers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def _poll(self) -> None:
        while not self._stopping.is_set():
            try:
                with self.switch.batch() as enabled:
                    if enabled and (messages := self._gather()):
                        self._process(messages)
                if not enabled:
                    self.switch.wait_enabled(timeout=1)
            except (BotoCoreError, ClientError) as error:
                log.warning("%s: polling %s failed: %s", self.mapping.function, self.mapping.queue_url, error)
                self._stopping.wait(1)

    def _gather(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages, waiting at most the batching window once the first has arrived."""
        messages: list[dict[str, Any]] = []
        window_ends = None
        # A mapping being disabled stops gathering: what it has is delivered, then it rests.
        while not self._stopping.is_set() and self.switch.enabled and len(messages) < self.mapping.batch_size:
            remaining = window_ends - time.monotonic() if window_ends is not None else None
            if remaining is not None and remaining <= 0:
                break
            # One-second long polls keep stop() quick; in a window's last second, poll without waiting.
            wait = 1 if remaining is None or remaining >= 1 else 0
            received = self._sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=min(SQS_MAX_MESSAGES, self.mapping.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += received
            if messages and window_ends is None:
                window_ends = time.monotonic() + self.mapping.batching_window
            elif not received and wait == 0 and remaining is not None:
                self._stopping.wait(min(0.1, remaining))
        return messages

    def _process(self, messages: list[dict[str, Any]]) -> None:
        mapping = self.mapping
        event = sqs_event(messages, mapping.queue_arn, self._region)
        if self.switch.duplicate:  # two invocations with the same records at once
            with ThreadPoolExecutor(2) as invocations:
                outcomes = list(invocations.map(lambda _: self._deliver(event, messages), range(2)))
        else:
            outcomes = [self._deliver(event, messages)]
        consumed_ids = {message["MessageId"] for consumed in outcomes for message in consumed}
        consumed = [message for message in messages if message["MessageId"] in consumed_ids]
        for start in range(0, len(consumed), SQS_MAX_MESSAGES):
            self._sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(consumed[start : start + SQS_MAX_MESSAGES])
                ],
            )
        if len(consumed) < len(messages):
            log.info(
                "%s: %d of %d records failed, left on the queue",
                mapping.function,
                len(messages) - len(consumed),
                len(messages),
            )

    def _deliver(self, event: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One invocation with the batch: the messages it consumed."""
        try:
            result = self._invoke(self.mapping.function, event)
        except FunctionError as error:
            log.warning("%s: batch of %d failed, left on the queue: %s", self.mapping.function, len(messages), error)
            return []
        return records_to_delete(messages, result, self.mapping.report_item_failures)

    def stop(self) -> None:
        self._stopping.set()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
