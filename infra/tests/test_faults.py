"""Faults the emulator injects around functions (template_emulator.faults), on the fixture template:
throttling at the endpoint per call, duplicate deliveries, a disabled mapping; and over HTTP."""

import time
from pathlib import Path

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from template_emulator.emulator import Emulator
from template_emulator.metering import SETUP
from template_emulator.profile import Profile

FIXTURE_TEMPLATE = Path(__file__).parent / "fixtures" / "template.yaml"
ONE_ATTEMPT = Config(retries={"mode": "standard", "max_attempts": 1})


@pytest.fixture(scope="module")
def stack():
    with Emulator(FIXTURE_TEMPLATE, Profile(stack_name="fixture-faults"), port=0, start_schedules=False) as running:
        yield running


def wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)
    return value


def message_item(stack, body):
    key = {"PK": {"S": f"message#{body}"}}
    return stack.client("dynamodb").get_item(TableName=stack.resources["Table"], Key=key).get("Item")


def test_a_throttled_call_fails_through_its_retries_and_counts_once(stack):
    dynamodb = stack.endpoint.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    rule = stack.faults.throttle(SETUP, "dynamodb", "GetItem")
    try:
        with pytest.raises(ClientError) as throttled:
            dynamodb.get_item(TableName=stack.resources["Table"], Key={"PK": {"S": "Fujairah"}})
        assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
        assert throttled.value.response["ResponseMetadata"]["RetryAttempts"] >= 1  # the SDK retried it
        assert rule.throttled == 1  # one call, however many attempts
        dynamodb.put_item(TableName=stack.resources["Table"], Item={"PK": {"S": "Fujairah"}})  # other operations pass
    finally:
        stack.faults.remove(rule)
    assert "Item" in dynamodb.get_item(TableName=stack.resources["Table"], Key={"PK": {"S": "Fujairah"}})


def test_s3_answers_slow_down_and_a_share_throttles_some_calls_only(stack):
    s3 = stack.endpoint.client("s3")
    bucket = stack.resources["FilesBucket"]
    rule = stack.faults.throttle(SETUP, "s3", "PutObject", matching="Busan")
    try:
        s3.put_object(Bucket=bucket, Key="Yeosu.txt", Body=b"not matching: stored")
        with pytest.raises(ClientError) as slow:
            s3.put_object(Bucket=bucket, Key="Busan.txt", Body="Busan: a manifest 🚢".encode())
        assert slow.value.response["Error"]["Code"] == "SlowDown"
    finally:
        stack.faults.remove(rule)
    sometimes = stack.faults.throttle(SETUP, "s3", "HeadObject", share=0.5, seed=3)
    try:
        no_retries = stack.endpoint.client("s3", config=ONE_ATTEMPT)
        outcomes = []
        for _ in range(40):
            try:
                no_retries.head_object(Bucket=bucket, Key="Yeosu.txt")
                outcomes.append("ok")
            except ClientError:
                outcomes.append("throttled")
        assert 5 < outcomes.count("throttled") < 35, outcomes
    finally:
        stack.faults.remove(sometimes)


def test_a_disabled_mapping_leaves_messages_on_the_queue_until_it_is_enabled(stack):
    sqs = stack.client("sqs")
    stack.faults.disable_mapping("ConsumerFunction")
    try:
        sqs.send_message(QueueUrl=stack.resources["WorkQueue"], MessageBody="held-1")
        time.sleep(3)  # three of the pollers' one-second long polls: none takes it while disabled
        attributes = sqs.get_queue_attributes(QueueUrl=stack.resources["WorkQueue"], AttributeNames=["All"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"
        assert message_item(stack, "held-1") is None
    finally:
        stack.faults.enable_mapping("ConsumerFunction")
    assert wait_for(lambda: message_item(stack, "held-1"))["deliveries"] == {"N": "1"}


def test_duplicate_deliveries_give_each_batch_to_two_invocations(stack):
    stack.faults.duplicate_deliveries("ConsumerFunction")
    try:
        stack.client("sqs").send_message(QueueUrl=stack.resources["WorkQueue"], MessageBody="twice-1")
        item = wait_for(
            lambda: (found := message_item(stack, "twice-1")) and found["deliveries"] == {"N": "2"} and found
        )
    finally:
        stack.faults.duplicate_deliveries("ConsumerFunction", False)
    assert item["receive_count"] == {"S": "1"}  # one receive, two invocations


def test_a_stack_in_another_process_takes_its_faults_over_http(stack):
    control = f"{stack.base_url}/_local"
    throttle = {"principal": SETUP, "service": "dynamodb", "operation": "Scan"}
    assert requests.post(f"{control}/faults", json={"throttle": throttle}, timeout=10).status_code == 201
    quick = stack.endpoint.client("dynamodb", config=ONE_ATTEMPT)
    with pytest.raises(ClientError, match="Throttling"):
        quick.scan(TableName=stack.resources["Table"])
    assert requests.delete(f"{control}/faults", timeout=10).status_code == 204
    quick.scan(TableName=stack.resources["Table"])
    assert requests.post(f"{control}/mappings/ConsumerFunction/disable", timeout=60).status_code == 204
    assert requests.post(f"{control}/mappings/ConsumerFunction/enable", timeout=60).status_code == 204
    assert requests.post(f"{control}/mappings/Nobody/disable", timeout=10).status_code == 404
    bad = requests.post(f"{control}/faults", json={"throttle": {"share": 2, "principal": "x"}}, timeout=10)
    assert bad.status_code == 400
