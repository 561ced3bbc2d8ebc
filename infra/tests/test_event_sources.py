"""Lambda's SQS event shape and its partial batch response rules."""

import pytest

from template_emulator.event_sources import records_to_delete, sqs_event

MESSAGES = [
    {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "Body": "a",
        "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "1"},
        "MessageAttributes": {
            "kind": {"DataType": "String", "StringValue": "pdf"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x01"},
        },
    },
    {"MessageId": "m2", "ReceiptHandle": "r2", "Body": "b", "MD5OfBody": "y"},
]


def test_records_have_lambdas_shape():
    record = sqs_event(MESSAGES, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")["Records"][0]

    assert record["messageId"] == "m1"
    assert record["receiptHandle"] == "r1"
    assert record["md5OfBody"] == "x"
    assert record["attributes"] == {"ApproximateReceiveCount": "1"}
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "pdf", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "blob": {"binaryValue": "AQ==", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", "us-east-1")
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:q"


@pytest.mark.parametrize(
    ("result", "deleted"),
    [
        (None, ["m1", "m2"]),
        ({}, ["m1", "m2"]),
        ({"batchItemFailures": []}, ["m1", "m2"]),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, ["m1"]),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, []),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, []),
        ({"batchItemFailures": [{"id": "m1"}]}, []),
        ("not a response", []),
    ],
)
def test_partial_batch_responses(result, deleted):
    assert [message["MessageId"] for message in records_to_delete(MESSAGES, result, True)] == deleted


def test_batch_item_failures_are_ignored_unless_reported():
    assert records_to_delete(MESSAGES, {"batchItemFailures": [{"itemIdentifier": "m2"}]}, False) == MESSAGES
