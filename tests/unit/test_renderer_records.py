"""The renderer's record handling: hand-back when time runs short, and what users read of a failure."""

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

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
