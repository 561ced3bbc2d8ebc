"""Faults the emulator injects around functions, which never know: what AWS itself does to a
function now and then, played on purpose so tests can show that nothing is lost.

* **Throttling at the endpoint**: a share of a principal's calls (optionally of one service and
  operation, optionally only requests whose body holds some text, a room's id say) is answered with
  the service's throttling error, as AWS answers a call over its rate. The choice is made per call,
  not per attempt: the SDK's retries of a throttled call (the same `amz-sdk-invocation-id`) are
  throttled too, so the call fails as one that stayed throttled through its retries would.
* **Duplicate deliveries** by an SQS event source mapping: each batch goes to two invocations at
  once, as at-least-once delivery may do.
* **A disabled mapping**, as `UpdateEventSourceMapping Enabled=false`: the queue keeps its messages
  (a task stays pending) until the mapping is enabled again.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

REMEMBERED_CALLS = 10_000  # per rule: how many calls' decisions are kept for their retries


@dataclass
class Throttle:
    principal: str
    service: str | None = None
    operation: str | None = None
    share: float = 1.0
    matching: str | None = None  # only requests whose body contains this text
    seed: int | None = None
    throttled: int = 0  # calls throttled so far
    _random: random.Random = field(init=False, repr=False)
    _decided: OrderedDict[str, bool] = field(init=False, repr=False, default_factory=OrderedDict)

    def __post_init__(self) -> None:
        if not 0 <= self.share <= 1:
            raise ValueError("a share is between 0 and 1")
        self._random = random.Random(self.seed)

    def applies(self, principal: str, service: str, operation: str, body: bytes) -> bool:
        return (
            principal == self.principal
            and self.service in (None, service)
            and self.operation in (None, operation)
            and (self.matching is None or self.matching.encode() in body)
        )

    def decide(self, call_id: str | None) -> bool:
        if call_id is None:
            return self._random.random() < self.share
        if call_id not in self._decided:
            self._decided[call_id] = self._random.random() < self.share
            if self._decided[call_id]:
                self.throttled += 1
            if len(self._decided) > REMEMBERED_CALLS:
                self._decided.popitem(last=False)
        return self._decided[call_id]


class Mapping:
    """An event source mapping's switch: enabled or not, and whether its batches are delivered twice."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._enabled = True
        self._in_flight = 0
        self.duplicate = False

    @property
    def enabled(self) -> bool:
        return self._enabled

    @contextlib.contextmanager
    def batch(self) -> Iterator[bool]:
        """Around a poller's receive and delivery: yields whether the mapping is enabled; while it
        is, disabling it waits for this batch to be done."""
        with self._changed:
            enabled = self._enabled
            self._in_flight += enabled
        try:
            yield enabled
        finally:
            if enabled:
                with self._changed:
                    self._in_flight -= 1
                    self._changed.notify_all()

    def wait_enabled(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._enabled, timeout)

    def disable(self) -> None:
        with self._changed:
            self._enabled = False
            self._changed.wait_for(lambda: not self._in_flight)

    def enable(self) -> None:
        with self._changed:
            self._enabled = True
            self._changed.notify_all()


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._throttles: list[Throttle] = []
        self._mappings: dict[str, list[Mapping]] = {}

    # ------------------------------------------------------------------ throttling

    def throttle(
        self,
        principal: str,
        service: str | None = None,
        operation: str | None = None,
        share: float = 1.0,
        matching: str | None = None,
        seed: int | None = None,
    ) -> Throttle:
        rule = Throttle(principal, service, operation, share, matching, seed)
        with self._lock:
            self._throttles.append(rule)
        return rule

    def remove(self, rule: Throttle) -> None:
        with self._lock:
            self._throttles.remove(rule)

    def clear(self) -> None:
        """No throttling, every mapping enabled, no duplicates."""
        with self._lock:
            self._throttles.clear()
            switches = [switch for group in self._mappings.values() for switch in group]
        for switch in switches:
            switch.duplicate = False
            switch.enable()

    def throttled(self, principal: str, service: str, operation: str, body: bytes, call_id: str | None) -> bool:
        """Whether this request is answered with a throttling error."""
        with self._lock:
            return any(
                rule.decide(call_id) for rule in self._throttles if rule.applies(principal, service, operation, body)
            )

    # ------------------------------------------------------------------ event source mappings

    def mapping(self, function: str) -> Mapping:
        """A new switch for one of the function's mappings (the emulator's pollers take one each)."""
        switch = Mapping()
        with self._lock:
            self._mappings.setdefault(function, []).append(switch)
        return switch

    def _switches(self, function: str) -> list[Mapping]:
        with self._lock:
            if function not in self._mappings:
                raise KeyError(f"{function} has no event source mapping")
            return list(self._mappings[function])

    def disable_mapping(self, function: str) -> None:
        """Returns once no batch of the function's mappings is in flight: from then on the queue keeps
        what arrives."""
        for switch in self._switches(function):
            switch.disable()

    def enable_mapping(self, function: str) -> None:
        for switch in self._switches(function):
            switch.enable()

    @contextlib.contextmanager
    def mapping_disabled(self, function: str) -> Iterator[None]:
        self.disable_mapping(function)
        try:
            yield
        finally:
            self.enable_mapping(function)

    def duplicate_deliveries(self, function: str, duplicate: bool = True) -> None:
        for switch in self._switches(function):
            switch.duplicate = duplicate
