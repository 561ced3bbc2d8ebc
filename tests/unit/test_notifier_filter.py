"""The notifier's stream mapping as template.yaml declares it and the emulator reads it: its settings,
and its FilterCriteria by Lambda's event filtering rules (every snapshot write and expiry alerts
reach the notifier, and nothing else)."""

import json
from pathlib import Path

import pytest
from template_emulator import streams
from template_emulator.event_filters import compile_filters, passes
from template_emulator.template import Template
from template_emulator.web import record_distribution_attributes

ROOT = Path(__file__).resolve().parents[2]
# Parameters without a default, which a deployment (or the emulator) gives.
ISSUER = {"JwtIssuer": "https://issuer.example", "JwtAudience": "room-snapshots"}


def stream_record(event_name="MODIFY", old=None, new=None):
    images = {key: value for key, value in (("OldImage", old), ("NewImage", new)) if value is not None}
    return {"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": {"SequenceNumber": "1", **images}}


def snapshot_image(status):
    return {"PK": {"S": "SNAP#1"}, "entity": {"S": "snapshot"}, "task_status": {"S": status}, "progress": {"N": "10"}}


@pytest.fixture(scope="module")
def notifier_filters():
    template = Template(ROOT / "template.yaml", parameter_overrides=ISSUER)
    record_distribution_attributes(template, "127.0.0.1:3000")  # the emulator serves the web app
    event = template.function("NotifierFunction").events["TableStream"]["Properties"]
    return compile_filters(template.resolve(event["FilterCriteria"]))


@pytest.mark.parametrize(
    ("record", "passed"),
    [
        (stream_record(old=snapshot_image("running"), new=snapshot_image("completed")), True),
        (stream_record(old=snapshot_image("running"), new=snapshot_image("failed")), True),
        (stream_record(old=snapshot_image("pending"), new=snapshot_image("cancelled")), True),
        (stream_record(old=snapshot_image("pending"), new=snapshot_image("failed")), True),
        (stream_record(old=snapshot_image("pending"), new=snapshot_image("running")), True),  # claim
        (stream_record(old=snapshot_image("running"), new=snapshot_image("running")), True),  # progress
        (stream_record(old=snapshot_image("completed"), new=snapshot_image("completed")), True),  # touched again
        (stream_record("INSERT", new=snapshot_image("pending")), True),  # created
        (stream_record("REMOVE", old=snapshot_image("completed")), True),  # deleted
        (stream_record("INSERT", new={"entity": {"S": "document_expiry"}, "room_id": {"S": "r"}}), True),
        (
            stream_record("MODIFY", old={"entity": {"S": "document_expiry"}}, new={"entity": {"S": "document_expiry"}}),
            False,
        ),
        (stream_record("INSERT", new={"entity": {"S": "activity"}}), False),
        (stream_record("INSERT", new={"entity": {"S": "webhook_message"}}), False),
        (stream_record("REMOVE", old={"entity": {"S": "activity"}}), False),
    ],
)
def test_the_notifier_sees_every_snapshot_write_and_expiry_alerts_only(notifier_filters, record, passed):
    assert passes(notifier_filters, json.loads(json.dumps(record))) is passed


def test_the_notifier_mapping_is_read_from_the_template():
    template = Template(ROOT / "template.yaml", parameter_overrides=ISSUER)
    record_distribution_attributes(template, "127.0.0.1:3000")  # the emulator serves the web app
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
