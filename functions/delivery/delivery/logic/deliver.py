"""One attempt of one webhook message: claim it, check the URL again, sign, send, record, decide.

Exactly one request per attempt, whatever SQS redelivers: the attempt is claimed with a
conditional write before anything is sent (see MessageRepository.claim). A queue message that
cannot claim is either a copy (the first queue message to claim the record owns it: the copy is
dropped), late (the message is settled: dropped) or early (its owner comes back when it is due).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from standardwebhooks import Webhook as Signer

from roomsnap.dal.secrets import SecretBox
from roomsnap.dal.webhooks import DeliveryLog, MessageRepository, WebhookRepository
from roomsnap.models import iso
from roomsnap.ssrf import ForbiddenUrl, Target
from roomsnap.webhooks import DeliveryAttempt, Message, MessageState, Webhook, system_audit

from delivery.logic.http import Answer, HttpSender
from delivery.logic.retries import RetryPolicy

USER_AGENT = "RoomSnapshots-Webhooks/1.0"


@dataclass(frozen=True)
class Step:
    """What becomes of the queue message: done (delete it), retry (make it visible again after
    `delay_s`) or park (move it to the dead-letter queue: the message failed for good)."""

    action: Literal["done", "retry", "park"]
    reason: str
    delay_s: float = 0


def signed_headers(message: Message, secrets: list[str], at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; one signature per valid secret, space-separated (during a
    rotation receivers may verify with either secret)."""
    at = at.replace(microsecond=0)
    signature = " ".join(Signer(secret).sign(message.id, at, message.body) for secret in secrets)
    return {
        "webhook-id": message.id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Deliverer:
    def __init__(
        self,
        messages: MessageRepository,
        webhooks: WebhookRepository,
        log: DeliveryLog,
        secrets: SecretBox,
        check_url: Callable[[str], Target],
        sender: HttpSender,
        retries: RetryPolicy,
        disable_after: timedelta,
    ):
        self.messages = messages
        self.webhooks = webhooks
        self.log = log
        self.secrets = secrets
        self.check_url = check_url
        self.sender = sender
        self.retries = retries
        self.disable_after = disable_after

    def deliver(self, message_id: str, ticket: str, lease_s: float) -> Step:
        """Makes the attempt that is due, if this queue message (`ticket`) may make it."""
        now = _now_ms()
        claimed, message = self.messages.claim(message_id, ticket, now, int(lease_s * 1000))
        if message is None:
            return Step("done", "no such message (expired or never recorded)")
        if not claimed:
            return self._not_claimed(message, ticket, now)
        webhook = self.webhooks.get(message.room_id, message.webhook_id)
        if webhook is None or not webhook.enabled:
            self.messages.settle(message, MessageState.FAILED)
            return Step("done", "the webhook was deleted or disabled")
        return self._settle(webhook, message, self._attempt(webhook, message))

    def _not_claimed(self, message: Message, ticket: str, now: int) -> Step:
        if message.delivery_status in (MessageState.SUCCEEDED, MessageState.FAILED):
            return Step("done", f"the message has {message.delivery_status.value} already")
        if message.ticket not in (None, ticket):
            return Step("done", "a copy: another queue message delivers this message")
        wake_at = max(message.claim_until or 0, message.next_attempt_at)
        return Step("retry", "not due yet, or an attempt is in progress", max(1.0, (wake_at - now) / 1000))

    def _attempt(self, webhook: Webhook, message: Message) -> Answer:
        """The URL is checked again (DNS may have changed since registration), then one request
        goes to the address just checked."""
        try:
            target = self.check_url(webhook.url)
        except ForbiddenUrl as refused:
            return Answer(status_code=None, error=f"not sent: {refused}", duration_ms=0)
        return self.sender.post(
            target, message.body, signed_headers(message, self._secrets(webhook), datetime.now(UTC))
        )

    def _secrets(self, webhook: Webhook) -> list[str]:
        ciphertexts = [webhook.secret_ciphertext]
        if webhook.previous_secret_ciphertext and (webhook.previous_secret_expires_at or 0) > time.time():
            ciphertexts.append(webhook.previous_secret_ciphertext)
        return [self.secrets.open(ciphertext, webhook.room_id, webhook.id) for ciphertext in ciphertexts]

    def _settle(self, webhook: Webhook, message: Message, answer: Answer) -> Step:
        now = datetime.now(UTC)
        if answer.succeeded:
            self._log(webhook, message, answer, "succeeded", now)
            self.messages.settle(message, MessageState.SUCCEEDED)
            if webhook.failing_since:
                self.webhooks.succeeded(webhook)
            return Step("done", f"delivered ({answer.status_code})")
        disabled = self._disable_if_due(webhook, answer, now)
        delay = None
        if not disabled and message.delivery_status is MessageState.PENDING:
            delay = self.retries.delay_after(message.attempts, answer.status_code, answer.retry_after)
        if delay is not None:
            next_at = now + timedelta(seconds=delay)
            self._log(webhook, message, answer, "retrying", now, next_at)
            self.messages.settle(message, MessageState.PENDING, int(next_at.timestamp() * 1000))
            return Step("retry", f"attempt {message.attempts} failed", delay)
        self._log(webhook, message, answer, "failed", now)
        self.messages.settle(message, MessageState.FAILED)
        if disabled or message.delivery_status is MessageState.REPLAYING:
            return Step("done", disabled or "the replay failed")
        return Step("park", f"{message.attempts} attempts failed; last: {answer.error or answer.status_code}")

    def _disable_if_due(self, webhook: Webhook, answer: Answer, now: datetime) -> str | None:
        """410 Gone disables the endpoint at once; so does failing every attempt for
        `disable_after`. Returns the reason when it did (the room's activity log says it too)."""
        failing_since = datetime.fromisoformat(self.webhooks.failing_since(webhook, iso(now)))
        if answer.status_code == 410:
            reason = "the receiver answered 410 Gone"
        elif now - failing_since >= self.disable_after:
            reason = f"every attempt failed since {iso(failing_since)}"
        else:
            return None
        self.webhooks.disable(webhook, reason, system_audit("webhook.disabled", f"{webhook.id}: {reason}"))
        return reason

    def _log(
        self,
        webhook: Webhook,
        message: Message,
        answer: Answer,
        outcome: Literal["succeeded", "retrying", "failed"],
        at: datetime,
        next_at: datetime | None = None,
    ) -> None:
        self.log.append(
            webhook.id,
            DeliveryAttempt(
                message_id=message.id,
                event_type=message.event_type,
                attempt=message.attempts,
                at=iso(at),
                status_code=answer.status_code,
                error=answer.error,
                duration_ms=answer.duration_ms,
                outcome=outcome,
                next_attempt_at=iso(next_at) if next_at else None,
                response_body=answer.body,
            ),
        )
