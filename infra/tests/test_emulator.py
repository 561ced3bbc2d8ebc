"""The emulator running a tiny fixture template: HTTP API, JWT authorizer, SQS mapping, streams, schedules, TTL."""

import base64
import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from template_emulator.auth import SigningKey
from template_emulator.emulator import Emulator
from template_emulator.profile import Profile
from template_emulator.runtime import FunctionError, FunctionTimeout

FIXTURE_TEMPLATE = Path(__file__).parent / "fixtures" / "template.yaml"
PROFILE = Profile(stack_name="fixture-stack", client_id="fixture-client", token_hint="mint one with PORT={port} mint")


@pytest.fixture(scope="module")
def fixture_stack():
    with Emulator(
        FIXTURE_TEMPLATE, PROFILE, port=0, env_overrides={"EchoFunction": {"GREETING": "overridden"}}
    ) as running:
        yield running


def wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_echo_route_gets_claims_path_parameters_and_function_environment(fixture_stack):
    token = fixture_stack.mint_token("ana@example.com", admin=True)

    response = requests.get(
        f"{fixture_stack.base_url}/echo/ana%20maria?x=1&x=2",
        headers={"Authorization": f"Bearer {token}", "Cookie": "a=1; b=2", "X-Multi": "one"},
        timeout=10,
    )

    assert response.status_code == 200
    echoed = response.json()
    event = echoed["event"]
    assert event["routeKey"] == "GET /echo/{name}"
    assert event["pathParameters"] == {"name": "ana maria"}
    assert event["rawPath"] == "/echo/ana%20maria"
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-multi"] == "one"
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["email"] == "ana@example.com"
    assert claims["cognito:groups"] == "[admin]"
    assert claims["iss"] == fixture_stack.issuer
    assert isinstance(claims["exp"], str)
    assert response.headers["apigw-requestid"] == event["requestContext"]["requestId"]
    assert response.cookies["seen"] == "1"
    assert echoed["greeting"] == "OVERRIDDEN"  # env override, through the layer's module
    assert echoed["table"] == fixture_stack.resources["Table"]
    assert echoed["issuer"] == fixture_stack.issuer  # the authorizer's parameter takes the local issuer
    assert echoed["context"]["function_name"] == "fixture-stack-EchoFunction"
    assert 0 < echoed["context"]["remaining_ms"] <= 2000


def test_requests_without_a_valid_token_are_rejected(fixture_stack, tmp_path):
    foreign_token = SigningKey.generate().mint(
        "eve@example.com", issuer=fixture_stack.issuer, audience="fixture-client"
    )
    wrong_audience = fixture_stack.mint_token("ana@example.com", aud="someone-else")

    for headers in ({}, {"Authorization": f"Bearer {foreign_token}"}, {"Authorization": f"Bearer {wrong_audience}"}):
        response = requests.get(f"{fixture_stack.base_url}/echo/ana", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized"}
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_token_of_another_issuer_gets_api_gateways_answer_and_the_reason_in_the_header_and_the_log(
    fixture_stack, caplog
):
    other_stack_issuer = "http://127.0.0.1:3999/_local/oidc"
    token = fixture_stack.mint_token("ana@example.com", iss=other_stack_issuer)

    with caplog.at_level("WARNING", logger="template_emulator.http"):
        response = requests.get(
            f"{fixture_stack.base_url}/echo/ana", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert other_stack_issuer in challenge
    assert fixture_stack.issuer in challenge
    port = fixture_stack.base_url.rsplit(":", 1)[1]
    logged = [record.getMessage() for record in caplog.records if "401" in record.getMessage()]
    assert any(other_stack_issuer in line and f"PORT={port} mint" in line for line in logged), logged


def test_public_route_skips_the_authorizer_and_base64_encodes_binary_bodies(fixture_stack):
    response = requests.post(
        f"{fixture_stack.base_url}/public/a/b",
        data=b"\x00\x01binary",
        headers={"Content-Type": "application/octet-stream"},
        timeout=10,
    )

    assert response.status_code == 200
    event = response.json()["event"]
    assert event["routeKey"] == "ANY /public/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b"}
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01binary"
    assert "authorizer" not in event["requestContext"]


def test_unknown_route_is_404_and_function_error_is_500(fixture_stack):
    token = fixture_stack.mint_token("ana@example.com")

    assert requests.get(f"{fixture_stack.base_url}/nowhere", timeout=10).json() == {"message": "Not Found"}
    failed = requests.get(f"{fixture_stack.base_url}/echo/boom", headers={"Authorization": token}, timeout=10)
    assert failed.status_code == 500
    assert failed.json() == {"message": "Internal Server Error"}


def test_invoke_reports_errors_and_kills_a_timed_out_environment(fixture_stack):
    event = {"routeKey": "GET /echo/{name}", "pathParameters": {"name": "boom"}}
    with pytest.raises(FunctionError) as error:
        fixture_stack.invoke("EchoFunction", event)
    assert error.value.error["errorType"] == "RuntimeError"

    with pytest.raises(FunctionTimeout):
        fixture_stack.invoke("EchoFunction", {**event, "pathParameters": {"name": "slow"}})

    assert fixture_stack.invoke("EchoFunction", {**event, "pathParameters": {"name": "again"}})["statusCode"] == 200


def test_function_output_is_kept_as_records(fixture_stack):
    requests.get(f"{fixture_stack.base_url}/public/logs", timeout=10)

    records = fixture_stack.logs("EchoFunction")
    assert any(record.get("message") == "echo" and record.get("route") == "ANY /public/{proxy+}" for record in records)
    assert any(record.get("Echoes") == [1] for record in records)


def test_poison_message_goes_to_the_dead_letter_queue_and_good_ones_are_consumed(fixture_stack):
    sqs = fixture_stack.client("sqs")
    dynamodb = fixture_stack.client("dynamodb")
    for body in ("good-1", "poison-pill", "good-2"):
        sqs.send_message(QueueUrl=fixture_stack.resources["WorkQueue"], MessageBody=body)

    dead = wait_for(
        lambda: sqs.receive_message(QueueUrl=fixture_stack.resources["WorkDeadLetterQueue"], WaitTimeSeconds=1).get(
            "Messages"
        )
    )

    assert [message["Body"] for message in dead] == ["poison-pill"]
    attributes = sqs.get_queue_attributes(QueueUrl=fixture_stack.resources["WorkQueue"], AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    for body in ("good-1", "good-2"):
        item = dynamodb.get_item(TableName=fixture_stack.resources["Table"], Key={"PK": {"S": f"message#{body}"}})[
            "Item"
        ]
        assert item["receive_count"] == {"S": "1"}


def test_stream_records_reach_the_function_filtered_and_a_failing_one_goes_to_the_destination(fixture_stack):
    dynamodb, sqs = fixture_stack.client("dynamodb"), fixture_stack.client("sqs")
    stream_table, table = fixture_stack.resources["StreamTable"], fixture_stack.resources["Table"]

    def put(key, kind):
        dynamodb.put_item(TableName=stream_table, Item={"PK": {"S": key}, "kind": {"S": kind}})

    put("keep-1", "keep")
    put("skip-1", "skip")  # filtered out
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):  # its first put is undone
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": stream_table, "Item": {"PK": {"S": "x"}, "kind": {"S": "keep"}}}},
                {
                    "Put": {
                        "TableName": stream_table,
                        "Item": {"PK": {"S": "keep-1"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    put("poison-1", "poison")
    put("keep-2", "keep")

    def seen(key):
        item = dynamodb.get_item(TableName=table, Key={"PK": {"S": f"change#{key}"}}).get("Item")
        return int(item["seen"]["N"]) if item else 0

    wait_for(lambda: seen("keep-1") and seen("keep-2"))
    dead = wait_for(
        lambda: sqs.receive_message(QueueUrl=fixture_stack.resources["ChangesDeadLetterQueue"], WaitTimeSeconds=1).get(
            "Messages"
        )
    )

    info = json.loads(dead[0]["Body"])["DDBStreamBatchInfo"]
    # the retries start at the poison record: poison-1, and keep-2 if one read found them together
    assert info["batchSize"] in (1, 2)
    assert seen("keep-1") == 1  # done before the failure: never sent again
    assert seen("keep-2") >= 1  # after it: sent with every retry (at least once, as Lambda does)
    assert (seen("skip-1"), seen("x")) == (0, 0)  # filtered out; never written


def test_schedules_fire_on_demand_and_over_http(fixture_stack):
    dynamodb = fixture_stack.client("dynamodb")

    result = fixture_stack.fire_schedule("TickFunction")
    over_http = requests.post(f"{fixture_stack.base_url}/_local/schedules/TickFunction/WeekdayNoon", timeout=10)

    assert over_http.status_code == 200  # a disabled schedule does not fire by itself, but can be fired
    for tick in (result["tick"], over_http.json()["result"]["tick"]):
        item = dynamodb.get_item(TableName=fixture_stack.resources["Table"], Key={"PK": {"S": f"tick#{tick}"}})["Item"]
        assert item["detail_type"] == {"S": "Scheduled Event"}
    assert requests.post(f"{fixture_stack.base_url}/_local/schedules/Nobody", timeout=10).status_code == 404


def test_ttl_sweep_deletes_only_expired_items(fixture_stack):
    dynamodb = fixture_stack.client("dynamodb")
    table = fixture_stack.resources["Table"]
    now = int(time.time())
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "expired"}, "expires_at": {"N": str(now - 10)}})
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "alive"}, "expires_at": {"N": str(now + 3600)}})

    assert fixture_stack.sweep_ttl() == {table: 1}
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"PK": {"S": "expired"}})
    assert "Item" in dynamodb.get_item(TableName=table, Key={"PK": {"S": "alive"}})


def test_stop_leaves_nothing_listening_or_running():
    with Emulator(FIXTURE_TEMPLATE, PROFILE, port=0, start_schedules=False) as other:
        worker_pid = requests.get(f"{other.base_url}/public/pid", timeout=10).json()["pid"]
        ports = [urlsplit(other.base_url).port] + (
            [urlsplit(other.endpoint_url).port] if other.endpoint.embedded else []
        )

    with pytest.raises(ProcessLookupError):
        os.kill(worker_pid, 0)
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1)
