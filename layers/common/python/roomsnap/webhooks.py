"""Webhooks as records: a room's endpoints, the messages sent to them and the log of attempts.

A message is one event for one endpoint. Its id is derived from the event and the endpoint, so
whatever the stream or the queue redelivers, the same event for the same endpoint is always the
same message (and the same `webhook-id` header, which receivers deduplicate on). Payloads follow
Standard Webhooks: `{"type", "timestamp", "data"}`, thin (links, never PDFs), under 20 kB.
"""

import base64
import hashlib
import json
import os
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

from roomsnap.ids import new_id
from roomsnap.models import Activity, Input, Model, Printable, utc_now

SubscribableEvent = Literal["snapshot.completed", "snapshot.failed", "snapshot.cancelled", "document.expiring"]
EventType = SubscribableEvent | Literal["webhook.test"]
MESSAGE_ID_PATTERN = r"^msg_[0-9a-f]{32}$"
MAX_WEBHOOKS_PER_ROOM = 10
MAX_PAYLOAD_BYTES = 20_000
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 random bytes
RESPONSE_BODY_BYTES = 1024  # how much of a receiver's answer the delivery log keeps
SYSTEM_ACTOR = "room-snapshots"  # the actor of activity lines the service writes itself

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), Printable()]
Events = Annotated[list[SubscribableEvent], Field(min_length=1, max_length=4)]


def message_id(event_type: str, subject_id: str, webhook_id: str) -> str:
    """The one id of an event for an endpoint: the same inputs always give the same message."""
    digest = hashlib.sha256(f"{event_type}\n{subject_id}\n{webhook_id}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def event_body(event_type: EventType, timestamp: str, data: dict) -> str:
    body = json.dumps({"type": event_type, "timestamp": timestamp, "data": data}, separators=(",", ":"))
    if len(body) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a {event_type} payload is {len(body)} bytes; the bound is {MAX_PAYLOAD_BYTES}")
    return body


def system_audit(action: str, detail: str) -> Activity:
    """An audit line the service writes on its own (not on behalf of a caller)."""
    return Activity(id=new_id(), at=utc_now(), actor=SYSTEM_ACTOR, action=action, detail=detail, category="audit")


# ------------------------------------------------------------------ requests


def _distinct(events: list[SubscribableEvent] | None) -> list[SubscribableEvent] | None:
    return list(dict.fromkeys(events)) if events is not None else None


class WebhookIn(Input):
    url: Url = Field(description="https only; every address the host resolves to must be public")
    events: Events
    description: Description = ""

    _distinct_events = field_validator("events")(_distinct)


class WebhookPatch(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    events: Events | None = None
    description: Description | None = None
    enabled: bool | None = Field(default=None, description="Enabling an endpoint also forgets why it was disabled")

    _distinct_events = field_validator("events")(_distinct)

    @model_validator(mode="after")
    def something_to_change(self) -> "WebhookPatch":
        if not self.model_dump(exclude_none=True):
            raise ValueError("give at least one of events, description, enabled")
        return self


# ------------------------------------------------------------------ stored records


class Webhook(Model):
    """An endpoint of a room. Its signing secret is stored encrypted (KMS); after a rotation the
    previous one stays valid, and is signed with too, until `previous_secret_expires_at`."""

    id: str
    room_id: str
    url: str
    events: list[SubscribableEvent]
    description: str = ""
    enabled: bool = True
    created_by: str
    created_at: str
    updated_at: str
    secret_ciphertext: str
    previous_secret_ciphertext: str | None = None
    previous_secret_expires_at: int | None = None  # epoch seconds
    disabled_reason: str | None = None
    failing_since: str | None = None  # the first failed attempt since the last success

    def subscribes_to(self, event_type: EventType) -> bool:
        return self.enabled and event_type in self.events


class MessageState(StrEnum):
    PENDING = "pending"  # waiting for its first attempt or a retry
    REPLAYING = "replaying"  # re-sent on request: one attempt, no retries
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Message(Model):
    """One event for one endpoint, and where its delivery stands. `ticket` names the queue message
    that delivers it (the first to claim it); any other copy of that queue message is dropped."""

    id: str
    webhook_id: str
    room_id: str
    event_type: EventType
    body: str
    created_at: str
    delivery_status: MessageState = MessageState.PENDING
    attempts: int = 0
    next_attempt_at: int = 0  # epoch ms
    claim_until: int | None = None  # epoch ms: an attempt is in progress until then
    ticket: str | None = None
    replays: int = 0


AttemptOutcome = Literal["succeeded", "retrying", "failed"]


class DeliveryAttempt(Model):
    """One line of an endpoint's delivery log: one HTTP request (or the error that prevented it)."""

    message_id: str
    event_type: EventType
    attempt: int = Field(description="1 for the first attempt of a message, 2 for its first retry, ...")
    at: str
    status_code: int | None = Field(default=None, description="The receiver's HTTP status; None when no answer came")
    error: str | None = Field(default=None, description="Why no answer came (refused address, timeout, TLS, ...)")
    duration_ms: float
    outcome: AttemptOutcome = Field(description="failed: the message gets no more attempts")
    next_attempt_at: str | None = Field(default=None, description="When the message is tried again (retrying only)")
    response_body: str = Field(default="", description=f"The first {RESPONSE_BODY_BYTES} bytes of the answer")


class ExpiryAlert(Model):
    """A document expiring soon, announced once per document per day: written with its audit line
    by the daily expiry run, and published as a `document.expiring` event from the table's stream."""

    room_id: str
    document_id: str
    day: str  # the day of the run that announced it
    created_at: str
    data: dict  # the event's data: room, document, vessel, days_left

    @property
    def subject_id(self) -> str:
        return f"{self.document_id}@{self.day}"
