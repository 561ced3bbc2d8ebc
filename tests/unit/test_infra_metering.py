"""The local stack's meter and the price table: DynamoDB's sizing rules, index writes, pricing."""

from datetime import date
from types import SimpleNamespace

import pytest

from infra.http_api import Route, access_log_line, templated
from infra.metering import (
    Meter,
    _index_partition_writes,
    _index_writes,
    _queried_partition,
    _unfiltered,
    item_size,
    number_size,
    operation_of,
    read_units,
    write_units,
)
from infra.pricing import load_prices, price_lines, total


@pytest.mark.parametrize(
    ("number", "size"), [("0", 2), ("7", 2), ("12", 2), ("123", 3), ("-1234.5", 4), ("100000", 2), ("0.001", 2)]
)
def test_numbers_are_sized_by_their_significant_digits(number, size):
    assert number_size(number) == size


def test_an_items_size_is_its_names_and_values_with_list_and_map_overhead():
    item = {
        "PK": {"S": "ROOM#1"},  # 2 + 6
        "n": {"N": "42"},  # 1 + 2
        "ok": {"BOOL": True},  # 2 + 1
        "tags": {"SS": ["a", "bc"]},  # 4 + 3
        "l": {"L": [{"S": "x"}, {"NULL": True}]},  # 1 + 3 + (1 + 1) + (1 + 1)
        "m": {"M": {"k": {"S": "vv"}}},  # 1 + 3 + 1 + 1 + 2
        "é": {"S": "ü"},  # 2 + 2 (UTF-8)
    }
    assert item_size(item) == 8 + 3 + 3 + 7 + 8 + 8 + 4
    assert item_size(None) == 0


def test_units_round_up_with_a_minimum_of_one():
    assert [write_units(size) for size in (0, 1, 1024, 1025, 3000)] == [1, 1, 1, 2, 3]
    assert read_units(0, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1


def index(*keys, projection="ALL"):
    schema = [{"AttributeName": key, "KeyType": "RANGE" if position else "HASH"} for position, key in enumerate(keys)]
    return SimpleNamespace(schema=schema, projection={"ProjectionType": projection})


TABLE = SimpleNamespace(hash_key_attr="PK", range_key_attr="SK")


def test_an_index_entry_costs_a_write_when_it_changes_and_two_when_its_key_moves():
    gsi = index("GSI2PK", "GSI2SK")
    before = {"PK": {"S": "a"}, "SK": {"S": "b"}, "GSI2PK": {"S": "ACTIVE"}, "GSI2SK": {"S": "t1"}, "x": {"S": "1"}}
    assert _index_writes(gsi, TABLE, None, before) == 1  # added
    assert _index_writes(gsi, TABLE, before, {**before, "x": {"S": "2"}}) == 1  # updated in place
    assert _index_writes(gsi, TABLE, before, {**before, "GSI2SK": {"S": "t2"}}) == 2  # key moved
    assert _index_writes(gsi, TABLE, before, before) == 0
    assert _index_writes(gsi, TABLE, before, {"PK": {"S": "a"}, "SK": {"S": "b"}}) == 1  # left the sparse index
    keys_only = index("GSI2PK", "GSI2SK", projection="KEYS_ONLY")
    assert _index_writes(keys_only, TABLE, before, {**before, "x": {"S": "2"}}) == 0


def test_each_index_write_is_counted_on_the_partition_it_falls_on():
    gsi = index("GSI2PK", "GSI2SK")
    before = {"PK": {"S": "SNAP#1"}, "SK": {"S": "SNAP"}, "GSI2PK": {"S": "ACTIVE#7"}, "GSI2SK": {"S": "t1"}}
    completed = {**before, "GSI2PK": {"S": "PDF#abc"}, "GSI2SK": {"S": "1"}}
    assert _index_partition_writes(gsi, TABLE, None, before) == [("ACTIVE#7", 1)]
    assert _index_partition_writes(gsi, TABLE, before, completed) == [("ACTIVE#7", 1), ("PDF#abc", 1)]
    assert _index_partition_writes(gsi, TABLE, before, {**before, "GSI2SK": {"S": "t2"}}) == [("ACTIVE#7", 1)] * 2


def test_a_query_is_counted_on_the_partition_its_key_condition_names():
    query = {
        "KeyConditionExpression": "#pk = :active AND GSI2SK < :before",
        "ExpressionAttributeValues": {":before": {"S": "2026-12-04"}, ":active": {"S": "ACTIVE#3"}},
    }
    assert _queried_partition(query) == "ACTIVE#3"
    assert (
        _queried_partition(
            {
                "KeyConditionExpression": "PK = :pk AND SK = :sk",
                "ExpressionAttributeValues": {":pk": {"S": "ROOM#1"}, ":sk": {"S": "META"}},
            }
        )
        == "ROOM#1"
    )


def test_the_meter_keeps_units_by_partition_and_forgets_them_on_reset():
    meter = Meter()
    meter.add_key("ApiFunction", "TransactWriteItems", "table", "LIMIT#u@x.io", wru=2, requests=1)
    meter.add_key("ApiFunction", "TransactWriteItems", "table", "LIMIT#u@x.io", wru=2, requests=1)
    assert meter.keys() == {("ApiFunction", "TransactWriteItems", "table", "LIMIT#u@x.io"): {"wru": 4, "requests": 2}}
    meter.reset()
    assert meter.keys() == {}


def test_a_query_is_sized_before_its_filter_and_projection():
    query = {
        "TableName": "t",
        "KeyConditionExpression": "PK = :pk",
        "FilterExpression": "expires_at < :now",
        "ProjectionExpression": "#a",
        "ExpressionAttributeNames": {"#a": "a"},
        "ExpressionAttributeValues": {":pk": {"S": "x"}, ":now": {"N": "1"}},
    }
    assert _unfiltered(query) == {
        "TableName": "t",
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "x"}},
    }


def test_s3_operations_are_named_from_method_and_path():
    def environ(method, path, query=""):
        return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}

    assert operation_of(environ("PUT", "/bucket/pdf/a.pdf"), "s3", b"") == "PutObject"
    assert operation_of(environ("HEAD", "/bucket/pdf/a.pdf"), "s3", b"") == "HeadObject"
    assert operation_of(environ("GET", "/bucket", "list-type=2&prefix=pdf/"), "s3", b"") == "ListObjectsV2"
    assert operation_of({"HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessage"}, "sqs", b"") == "SendMessage"


def test_principals_are_told_apart_by_their_access_key_ids():
    meter = Meter()
    api, renderer = meter.access_key("ApiFunction"), meter.access_key("RendererFunction")
    assert api != renderer
    assert len(api) == 20
    assert meter.principal_of(renderer) == "RendererFunction"
    assert meter.principal_of("AKIAUNKNOWN") == "local stack"


def test_every_counted_quantity_with_a_price_becomes_a_cost_line():
    lines = {
        ("ApiFunction", "dynamodb", "PutItem"): {"requests": 2, "wru": 2, "wru_index": 2},
        ("client", "apigateway", "GET /x"): {"requests": 1_000_000, "bytes_out": 1024**3},
        ("RendererFunction event source mapping", "sqs", "ReceiveMessage"): {"requests": 4, "chunks": 4, "empty": 3},
        ("local stack", "dynamodb", "Scan"): {"rru": 1_000_000},  # setup: not the service's cost
        ("NotifierFunction event source mapping", "dynamodbstreams", "GetRecords"): {"requests": 10},
        ("WebhookFunction", "newservice", "Call"): {"requests": 1},
    }
    costed, unpriced = price_lines(lines, load_prices())
    by_label = {line.label: line for line in costed}
    assert by_label["ApiFunction: dynamodb PutItem wru"].usd == pytest.approx(2 * 0.625e-6)
    assert by_label["client: apigateway GET /x requests"].usd == pytest.approx(1.00)
    assert by_label["client: apigateway GET /x bytes_out"].price.excluded_from_total
    assert by_label["RendererFunction event source mapping: sqs ReceiveMessage chunks"].amount == 1  # idle polls out
    assert by_label["NotifierFunction event source mapping: dynamodbstreams GetRecords requests"].usd == 0  # Lambda's
    assert not any(line.principal == "local stack" for line in costed)
    assert unpriced == ["newservice"]
    assert total(costed) == pytest.approx(1.00 + 4 * 0.625e-6 + 0.4e-6)


def test_every_price_names_its_source_and_the_day_it_was_read():
    for price in load_prices():
        assert price.source
        assert date.fromisoformat(price.read_on) <= date.today()
        assert price.per > 0


def test_http_api_requests_count_on_one_line_per_route_and_write_an_access_log_line():
    assert templated("/api/v1/rooms/01m8srrmgm29f135tpd58s5wzt/snapshots") == "/api/v1/rooms/{id}/snapshots"
    route = Route(
        "ANY", "/api/v1/{proxy+}", "ApiFunction", access_log_format='{"s":"$context.status","x":"$context.y"}'
    )
    assert access_log_line(route, "r1", 201, {"sub": "u"}, 0.01) == '{"s":"201","x":"-"}'
