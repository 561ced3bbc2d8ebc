"""The emulator's DynamoDB: transactions undone item by item, queries of one partition, locks per
table shared by readers, ClientRequestToken honoured; through boto3 against the embedded server."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import dynamodb_backends

from template_emulator.dynamodb import LOCKS, ReadWriteLock, tables_of
from template_emulator.endpoint import Endpoint
from template_emulator.template import ACCOUNT_ID


@pytest.fixture(scope="module")
def endpoint():
    running = Endpoint()
    yield running
    running.stop()


@pytest.fixture
def table(endpoint):
    """A fresh table with a sort key and a stream, as most single-table designs have."""
    dynamodb, name = endpoint.client("dynamodb"), f"t-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    yield name
    dynamodb.delete_table(TableName=name)


def key(pk, sk="A"):
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def stream_keys(endpoint, name):
    table = dynamodb_backends[ACCOUNT_ID][endpoint.region].get_table(name)
    return [(r.record["eventName"], r.record["dynamodb"]["Keys"]["PK"]["S"]) for r in table.stream_shard.items]


def test_a_cancelled_transaction_puts_every_item_back_and_writes_no_stream_record(endpoint, table):
    dynamodb = endpoint.client("dynamodb")
    dynamodb.put_item(TableName=table, Item={**key("Fujairah"), "berth": {"S": "A1"}})
    dynamodb.put_item(TableName=table, Item={**key("Sohar"), "berth": {"S": "B2"}})
    before = {pk: dynamodb.get_item(TableName=table, Key=key(pk)).get("Item") for pk in ("Fujairah", "Sohar", "Lomé")}

    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**key("Lomé"), "berth": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": key("Fujairah"),
                        "UpdateExpression": "SET berth = :b",
                        "ExpressionAttributeValues": {":b": {"S": "changed 🚢"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": key("Sohar")}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": key("Busan"),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )

    reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    after = {pk: dynamodb.get_item(TableName=table, Key=key(pk)).get("Item") for pk in ("Fujairah", "Sohar", "Lomé")}
    assert after == before
    assert stream_keys(endpoint, table) == [("INSERT", "Fujairah"), ("INSERT", "Sohar")]


def test_a_transaction_that_succeeds_writes_every_item_and_its_stream_records(endpoint, table):
    dynamodb = endpoint.client("dynamodb")
    dynamodb.put_item(TableName=table, Item={**key("Malta"), "n": {"N": "1"}})

    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": key("Zhoushan"), "ConditionExpression": "attribute_not_exists(PK)"}},
            {
                "Update": {
                    "TableName": table,
                    "Key": key("Malta"),
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )

    assert dynamodb.get_item(TableName=table, Key=key("Malta"))["Item"]["n"] == {"N": "2"}
    assert "Item" in dynamodb.get_item(TableName=table, Key=key("Zhoushan"))
    assert stream_keys(endpoint, table) == [("INSERT", "Malta"), ("INSERT", "Zhoushan"), ("MODIFY", "Malta")]


def test_requests_dynamodb_refuses_as_a_whole_change_nothing(endpoint, table):
    dynamodb = endpoint.client("dynamodb")
    same_item_twice = [
        {"Put": {"TableName": table, "Item": {**key("Yeosu"), "v": {"S": "1"}}}},
        {"Put": {"TableName": table, "Item": {**key("Yeosu"), "v": {"S": "2"}}}},
    ]

    with pytest.raises(ClientError, match="ValidationException"):
        dynamodb.transact_write_items(TransactItems=same_item_twice)

    assert "Item" not in dynamodb.get_item(TableName=table, Key=key("Yeosu"))
    assert stream_keys(endpoint, table) == []


def test_a_query_sees_its_partition_only_in_order(endpoint, table):
    dynamodb = endpoint.client("dynamodb")
    for pk, sk in [("ROOM#1", "B"), ("ROOM#2", "A"), ("ROOM#1", "A"), ("ROOM#1", "C"), ("ROOM#3", "A")]:
        dynamodb.put_item(TableName=table, Item=key(pk, sk))

    def sort_keys(pk, forward=True):
        answer = dynamodb.query(
            TableName=table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ScanIndexForward=forward,
        )
        return [item["SK"]["S"] for item in answer["Items"]]

    assert sort_keys("ROOM#1") == ["A", "B", "C"]
    assert sort_keys("ROOM#1", forward=False) == ["C", "B", "A"]
    assert sort_keys("ROOM#9") == []
    assert len(dynamodb.scan(TableName=table)["Items"]) == 5


def test_a_retried_transaction_with_its_token_runs_once_and_another_request_with_it_is_refused(endpoint, table):
    dynamodb = endpoint.client("dynamodb")
    increment = {
        "Update": {
            "TableName": table,
            "Key": key("Ras Tanura"),
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    token = str(uuid.uuid4())

    dynamodb.transact_write_items(TransactItems=[increment], ClientRequestToken=token)
    dynamodb.transact_write_items(TransactItems=[increment], ClientRequestToken=token)  # a retry: not applied again

    assert dynamodb.get_item(TableName=table, Key=key("Ras Tanura"))["Item"]["n"] == {"N": "1"}
    with pytest.raises(ClientError, match="IdempotentParameterMismatch"):
        dynamodb.transact_write_items(
            TransactItems=[increment, {"Put": {"TableName": table, "Item": key("x")}}], ClientRequestToken=token
        )


def test_concurrent_writes_and_scans_of_one_table_all_succeed(endpoint, table):
    """moto alone fails such a mix now and then ("dictionary changed size during iteration")."""
    dynamodb = endpoint.client("dynamodb")

    def write(index):
        dynamodb.put_item(TableName=table, Item={**key(f"Khor Fakkan {index}"), "n": {"N": str(index)}})

    def scan(_):
        return len(dynamodb.scan(TableName=table)["Items"])

    with ThreadPoolExecutor(8) as pool:
        writes = [pool.submit(write, index) for index in range(200)]
        scans = [pool.submit(scan, index) for index in range(40)]
        for future in writes + scans:
            future.result()

    assert scan(None) == 200


def test_a_request_to_another_table_does_not_wait_for_a_busy_one(endpoint, table):
    dynamodb = endpoint.client("dynamodb")
    other = f"{table}-other"
    dynamodb.create_table(
        TableName=other,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        busy = threading.Event()
        release = threading.Event()

        def hold_table():  # a long write on `table`: its write lock held until released
            with LOCKS.holding("PutItem", {"TableName": table}):
                busy.set()
                release.wait(30)

        holder = threading.Thread(target=hold_table)
        holder.start()
        assert busy.wait(10)
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(dynamodb.get_item, TableName=table, Key=key("Singapore"))
            dynamodb.put_item(TableName=other, Item={"PK": {"S": "Busan"}})  # answered meanwhile
            assert "Item" in dynamodb.get_item(TableName=other, Key={"PK": {"S": "Busan"}})
            time.sleep(0.2)
            assert not waiting.done()  # the busy table's reader waits for the writer
            release.set()
            assert "Item" not in waiting.result(timeout=30)
        holder.join()
    finally:
        release.set()
        dynamodb.delete_table(TableName=other)


def test_readers_share_a_table_and_a_waiting_writer_goes_before_new_readers():
    lock, order = ReadWriteLock(), []
    first_reader_in, writer_waiting = threading.Event(), threading.Event()

    def reader(name, hold):
        with lock.reading():
            order.append(name)
            first_reader_in.set()
            hold.wait(10)

    def writer():
        writer_waiting.set()
        with lock.writing():
            order.append("writer")

    hold = threading.Event()
    readers = [threading.Thread(target=reader, args=(f"reader {n}", hold)) for n in range(2)]
    for thread in readers:
        thread.start()
    assert first_reader_in.wait(10)
    deadline = time.monotonic() + 10
    while len(order) < 2 and time.monotonic() < deadline:  # both readers are in at once
        time.sleep(0.01)
    assert sorted(order) == ["reader 0", "reader 1"]
    writing = threading.Thread(target=writer)
    writing.start()
    assert writer_waiting.wait(10)
    time.sleep(0.1)
    done = threading.Event()
    done.set()
    late = threading.Thread(target=reader, args=("late reader", done))
    late.start()
    time.sleep(0.1)
    hold.set()
    for thread in [*readers, writing, late]:
        thread.join(10)
    assert order[2:] == ["writer", "late reader"]


@pytest.mark.parametrize(
    ("operation", "params", "tables"),
    [
        ("GetItem", {"TableName": "a"}, {"a"}),
        ("Query", {"TableName": "arn:aws:dynamodb:us-east-1:123456789012:table/a/index/gsi"}, {"a"}),
        ("BatchWriteItem", {"RequestItems": {"b": [], "a": []}}, {"a", "b"}),
        (
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": "a"}}, {"Delete": {"TableName": "c"}}]},
            {"a", "c"},
        ),
        ("CreateTable", {"TableName": "a"}, None),
        ("ListTables", {}, None),
    ],
)
def test_each_request_locks_the_tables_it_names(operation, params, tables):
    assert tables_of(operation, params) == tables
