"""The local DynamoDB stream mapping: read from template.yaml, Lambda's record shape, partial batch
responses, bisecting, retries and the on-failure destination."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra import streams
from infra.http_api import local_issuer_parameters
from infra.runtime import FunctionError
from infra.streams import StreamMapping, StreamPoller, failure_record, first_failure, lambda_record
from infra.template import Template

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).timestamp()


def record(sequence: str, kind: str = "keep", created: float = NOW) -> dict:
    return {
        "eventID": f"e{sequence}",
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": sequence,
            "ApproximateCreationDateTime": created,
            "NewImage": {"kind": {"S": kind}},
        },
    }


def mapping(**changes) -> StreamMapping:
    defaults = {
        "function": "Fn",
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:Fn",
        "event_name": "Stream",
        "stream_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/now",
        "starting_position": "TRIM_HORIZON",
        "batch_size": 10,
        "batching_window": 0.0,
        "report_item_failures": True,
        "bisect": True,
        "max_retries": 2,
        "max_record_age": -1,
        "on_failure_queue_url": "https://sqs.local/dlq",
        "filters": [],
    }
    return StreamMapping(**{**defaults, **changes})


class FakeSqs:
    def __init__(self):
        self.sent: list[dict] = []

    def send_message(self, QueueUrl, MessageBody):  # noqa: N803 (boto3's parameter names)
        self.sent.append({"QueueUrl": QueueUrl, "Body": json.loads(MessageBody)})


class Function:
    """Fails records of kind "poison" (reported) and raises on "crash"; records every batch."""

    def __init__(self):
        self.batches: list[list[str]] = []

    def __call__(self, function: str, event: dict):
        sequences = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        self.batches.append(sequences)
        kinds = {r["dynamodb"]["SequenceNumber"]: r["dynamodb"]["NewImage"]["kind"]["S"] for r in event["Records"]}
        if "crash" in kinds.values():
            raise FunctionError(function, {"errorType": "RuntimeError", "errorMessage": "crash"})
        return {"batchItemFailures": [{"itemIdentifier": s} for s, kind in kinds.items() if kind == "poison"]}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(streams, "RETRY_BACKOFF", (0.0,))


def deliver(batch, **changes):
    function, sqs = Function(), FakeSqs()
    StreamPoller(mapping(**changes), streams=None, sqs=sqs, invoke=function)._deliver("shard-1", batch)
    return function.batches, sqs.sent


def test_the_notifier_mapping_is_read_from_the_template():
    template = Template(ROOT / "template.yaml")
    template.set_parameters(local_issuer_parameters(template))  # as the local stack runs it
    template.record("DataTable", StreamArn="arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/now")
    template.record("NotifierDeadLetterQueue", QueueUrl="https://sqs.local/notifier-dlq")
    (notifier,) = [m for m in streams.stream_mappings_from_template(template) if m.function == "NotifierFunction"]
    assert notifier.stream_arn.endswith("/stream/now")
    assert (notifier.starting_position, notifier.batch_size, notifier.batching_window) == ("TRIM_HORIZON", 20, 0)
    assert notifier.report_item_failures
    assert notifier.bisect
    assert (notifier.max_retries, notifier.max_record_age) == (10, 86400)
    assert notifier.on_failure_queue_url == "https://sqs.local/notifier-dlq"
    assert len(notifier.filters) == 3


@pytest.mark.parametrize(
    ("result", "failed_at"),
    [
        (None, None),
        ({}, None),
        ({"batchItemFailures": []}, None),
        ({"batchItemFailures": [{"itemIdentifier": "3"}]}, 2),
        ({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}, 1),  # the lowest
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, 0),  # the whole batch
        ({"batchItemFailures": [{"itemIdentifier": None}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": "9"}]}, 0),
        ({"batchItemFailures": [{"id": "2"}]}, 0),
        ("not a response", 0),
    ],
)
def test_partial_batch_responses_of_streams(result, failed_at):
    batch = [record("1"), record("2"), record("3")]
    assert first_failure(batch, result, report_item_failures=True) == failed_at


def test_failures_are_ignored_unless_reported():
    assert first_failure([record("1")], {"batchItemFailures": [{"itemIdentifier": "1"}]}, False) is None


def test_records_have_lambdas_shape():
    raw = {
        "eventID": "e1",
        "eventName": "MODIFY",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 1, 2, tzinfo=UTC),
            "SequenceNumber": "7",
            "NewImage": {"blob": {"B": b"\x01\x02"}, "set": {"BS": [b"\x03"]}},
        },
    }
    converted = lambda_record(raw, "arn:stream")
    assert converted["eventSourceARN"] == "arn:stream"
    assert converted["dynamodb"]["ApproximateCreationDateTime"] == datetime(2026, 1, 2, tzinfo=UTC).timestamp()
    assert converted["dynamodb"]["NewImage"] == {"blob": {"B": "AQI="}, "set": {"BS": ["Aw=="]}}
    json.dumps(converted)


def test_a_reported_failure_retries_from_that_record_only():
    batches, sent = deliver([record("1"), record("2"), record("3", "poison"), record("4")], max_retries=1)
    # the records before the failure are done; the retry starts at the failure, until retries run out
    assert batches == [["1", "2", "3", "4"], ["3", "4"]]
    assert [s["Body"]["DDBStreamBatchInfo"]["startSequenceNumber"] for s in sent] == ["3"]


def test_a_crash_is_bisected_down_to_the_record_that_causes_it_without_using_retries():
    batches, sent = deliver([record("1"), record("2", "crash"), record("3"), record("4")], max_retries=1)
    assert batches == [["1", "2", "3", "4"], ["1", "2"], ["1"], ["2"], ["2"], ["3", "4"]]
    (failure,) = sent
    info = failure["Body"]["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("2", "2", 1)
    assert failure["Body"]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["QueueUrl"] == "https://sqs.local/dlq"


def test_without_bisect_the_whole_batch_is_retried_and_discarded():
    batches, sent = deliver([record("1"), record("2", "crash")], bisect=False, max_retries=2)
    assert batches == [["1", "2"]] * 3
    assert sent[0]["Body"]["DDBStreamBatchInfo"]["batchSize"] == 2


def test_records_older_than_the_maximum_age_are_discarded():
    batches, sent = deliver([record("1", "poison", created=NOW - 100)], max_retries=-1, max_record_age=60)
    assert batches == [["1"]]
    assert sent[0]["Body"]["requestContext"]["condition"] == "RecordAgeExceeded"


def test_the_failure_record_describes_the_batch():
    batch = [record("5", created=NOW - 2), record("6", created=NOW)]
    body = failure_record(mapping(), "shard-1", batch, "RetryAttemptsExhausted", 3)
    assert body["requestContext"]["functionArn"].endswith(":function:Fn")
    assert body["requestContext"]["approximateInvokeCount"] == 3
    info = body["DDBStreamBatchInfo"]
    assert info["shardId"] == "shard-1"
    assert info["streamArn"] == mapping().stream_arn
    assert info["approximateArrivalOfFirstRecord"] < info["approximateArrivalOfLastRecord"]
