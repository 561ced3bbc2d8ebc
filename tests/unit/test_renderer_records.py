"""The renderer's record handling: hand-back when time runs short, and what users read of a failure."""

import re

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.stub import Stubber

from roomsnap.dal import signing_key
from roomsnap.dal.signing_key import KEY_UNUSABLE
from roomsnap.errors import SigningUnavailable

from tests.unit.function_modules import load

SNAPSHOT_ID, ROOM_ID = "01m8gj9p3fzgz3gbmpmz9xbb6z", "01m8gj9p3fzgz3gbmpmz9xbb6a"


@pytest.fixture(scope="module")
def renderer_handler():
    return load("renderer")


def record(deliveries: int = 1) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": "m-1",
            "receiptHandle": "receipt-1",
            "body": f'{{"snapshot_id": "{SNAPSHOT_ID}", "room_id": "{ROOM_ID}"}}',
            "attributes": {"ApproximateReceiveCount": str(deliveries), "SentTimestamp": "1764600000000"},
            "messageAttributes": {"correlation_id": {"stringValue": "corr-42", "dataType": "String"}},
        }
    )


class Context:
    def __init__(self, remaining_ms: int):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Recorder:
    """Stands in for the queue and the snapshot repository: records what it is asked to do."""

    def __init__(self):
        self.calls: list[tuple] = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))


@pytest.fixture
def effects(renderer_handler, monkeypatch):
    queue, snapshots = Recorder(), Recorder()
    monkeypatch.setattr(renderer_handler, "render_queue", queue)
    monkeypatch.setattr(renderer_handler, "snapshots", snapshots)
    return queue, snapshots


def test_a_record_is_handed_back_when_too_little_time_is_left(renderer_handler, effects, monkeypatch):
    # Given an invocation with less time left than the slowest allowed render
    queue, _ = effects
    monkeypatch.setattr(renderer_handler.renderer, "process", lambda *_: pytest.fail("must not start"))

    # When the record comes up
    with pytest.raises(renderer_handler.HandedBack):
        renderer_handler.record_handler(record(), Context(remaining_ms=5_000))

    # Then it returns to the queue at once, not after a timeout
    assert queue.calls == [("retry_in", ("receipt-1", 0), {})]


def test_a_failure_before_the_last_delivery_tells_users_only_that_it_is_retried(renderer_handler, effects):
    queue, snapshots = effects
    error = AttributeError("'CellParagraph' object has no attribute 'blPara'")

    renderer_handler.retry_later(record(deliveries=1), SNAPSHOT_ID, error)

    ((name, args, kwargs),) = snapshots.calls
    assert name == "release"
    assert "AttributeError" not in kwargs["stage"]
    assert "blPara" not in kwargs["stage"]
    assert "attempt 1 of 4" in kwargs["stage"]
    assert "AttributeError" in kwargs["last_error"]  # kept for operators, never shown in the task
    assert queue.calls == [("retry_in", ("receipt-1", 10), {})]


def test_the_last_delivery_fails_the_snapshot_with_a_reason_written_for_users(renderer_handler, effects):
    _, snapshots = effects
    renderer_handler.logger.set_correlation_id("corr-42")
    error = RuntimeError("botocore.exceptions.ClientError: arn:aws:dynamodb:us-east-1:123456789012:table/x")

    renderer_handler.retry_later(record(deliveries=4), SNAPSHOT_ID, error)

    ((name, (snapshot_id, reason), _),) = snapshots.calls
    assert (name, snapshot_id) == ("fail", SNAPSHOT_ID)
    assert "could not be rendered (4 attempts)" in reason
    assert "reference corr-42" in reason
    for internal in ("RuntimeError", "botocore", "arn:aws", "Traceback"):
        assert internal not in reason


def test_a_pdf_that_cannot_be_signed_fails_with_a_plain_reason_and_is_not_issued(renderer_handler, effects):
    # Given a render whose signing keeps failing because the KMS key is disabled
    _, snapshots = effects
    renderer_handler.logger.set_correlation_id("corr-43")
    error = SigningUnavailable(KEY_UNUSABLE["DisabledException"])

    # When its attempts are retried, then the last one fails
    renderer_handler.retry_later(record(deliveries=1), SNAPSHOT_ID, error)
    renderer_handler.retry_later(record(deliveries=4), SNAPSHOT_ID, error)

    # Then users read that signing failed and that nothing was issued, and why, without internals
    (_, _, released), (name, (_, reason), _) = snapshots.calls
    assert released["stage"].startswith("Signing failed (attempt 1 of 4)")
    assert name == "fail"
    assert "could not be signed, so none was issued" in reason
    assert "the signing key is disabled" in reason
    assert "reference corr-43" in reason
    for internal in ("SigningUnavailable", "DisabledException", "arn:aws", "kms:"):
        assert internal not in reason


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("DisabledException", "the signing key is disabled"),
        ("KMSInvalidStateException", "pending deletion"),
        ("AccessDeniedException", "may not use the signing key"),
        ("ThrottlingException", "KMS refused to sign (ThrottlingException)"),
    ],
)
def test_kms_refusals_become_signing_unavailable_with_a_reason(monkeypatch, code, reason):
    # Given KMS refusing every request with this error (the boundary, faked with botocore's Stubber)
    kms = boto3.client("kms", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(kms)
    stubber.add_client_error("sign", service_error_code=code, http_status_code=400)
    stubber.add_client_error("get_public_key", service_error_code=code, http_status_code=400)
    monkeypatch.setattr(signing_key, "client", lambda service: kms)
    key = signing_key.SigningKey("alias/room-snapshots-pdf-signing")
    # Then signing and resolving the key both raise SigningUnavailable with that reason
    with stubber, pytest.raises(SigningUnavailable, match=re.escape(reason)):
        key.sign("arn:aws:kms:us-east-1:123456789012:key/1", "ECC_NIST_P256", b"signed attributes")
    with stubber, pytest.raises(SigningUnavailable, match=re.escape(reason)):
        key.identity()
