"""The capacity model (scripts/capacity.py) on counts written for the test: how keys become patterns
and how a pattern's load spreads over its keys, where a limit breaks, and the settings it tells."""

import pytest

from scripts.capacity import (
    Model,
    PerSnapshot,
    Traffic,
    as_before_sharding,
    key_pattern,
    load_quotas,
    per_snapshot,
    scope_of,
    template_settings,
    zipf_top_share,
)


@pytest.mark.parametrize(
    ("value", "pattern", "scope"),
    [
        ("ROOM#01m9171ax3w04vzprxt05dz65x", "ROOM#<id>", "room"),
        ("ROOMLOG#01m9171ax3w04vzprxt05dz65x", "ROOMLOG#<id>", "room"),
        ("ROOMSNAPS#01m9171ax3w04vzprxt05dz65x", "ROOMSNAPS#<id>", "room"),
        ("SNAP#01m9171ax3w04vzprxt05dz65x", "SNAP#<id>", "unique"),
        ("LIMIT#ελένη@ναυτιλία.gr", "LIMIT#<user>", "user"),
        ("ACTIVE#17", "ACTIVE#<shard>", "shards"),
        ("ACTIVE", "ACTIVE", "one"),
        ("GEN#2026-12-04#3", "GEN#<day>#<shard>", "shards"),
        ("APISTATS#2026-12-04", "APISTATS#<day>", "one"),
        ("ROOMS", "ROOMS", "one"),
        ("PDF#" + "ab" * 32, "PDF#<hash>", "room"),
        ("IDEMP#" + "0f" * 32, "IDEMP#<hash>", "unique"),
        ("HOOKMSG#msg_" + "c" * 32, "HOOKMSG#<message>", "unique"),
    ],
)
def test_keys_become_patterns_with_what_spreads_their_load(value, pattern, scope):
    assert key_pattern(value) == pattern
    assert scope_of(pattern) == scope


def test_the_most_popular_of_a_zipf_population_takes_one_over_the_harmonic_number():
    assert zipf_top_share(1, 1.0) == 1
    assert zipf_top_share(3, 1.0) == pytest.approx(1 / (1 + 1 / 2 + 1 / 3))


def counts(keys: dict, lines: dict | None = None, changes: dict | None = None) -> PerSnapshot:
    base = {
        ("client", "apigateway", "POST /api/v1/{proxy+}"): {"requests": 2.0},
        ("ApiFunction", "lambda", "Invoke"): {"requests": 2.0, "duration_ms": 40.0},
        ("RendererFunction", "lambda", "Invoke"): {"requests": 1.0, "duration_ms": 100.0},
        ("NotifierFunction", "lambda", "Invoke"): {"requests": 2.0, "duration_ms": 30.0},
    }
    return PerSnapshot({**base, **(lines or {})}, keys, changes or {})


def model(per: PerSnapshot, shards: dict | None = None, **traffic) -> Model:
    shards = shards or {"ACTIVE": 32, "GEN": 16, "ROOMS": 16}
    return Model(per, load_quotas(), template_settings(), Traffic(**traffic), shards)


def limit(model_: Model, load: float, key: str):
    return next(found for found in model_.limits(load) if found.key == key)


def test_one_key_every_snapshot_writes_breaks_at_the_partition_limit_and_shards_divide_it():
    per = counts({("GSI2", "ACTIVE"): {"wru": 2.0}, ("GSI2", "ACTIVE#<shard>"): {"wru": 2.0}})
    m = model(per)
    # 2 WCU per snapshot on one key: 1,000 WCU at 500 snapshots/s
    assert limit(m, 500, "DynamoDB key ACTIVE (GSI2) writes").utilization == pytest.approx(1.0)
    assert m.break_load("DynamoDB key ACTIVE (GSI2) writes") == pytest.approx(500, rel=0.02)
    # over 32 shards the same writes break at 16,000
    assert m.break_load("DynamoDB key ACTIVE#<shard> (GSI2) writes") == pytest.approx(16_000, rel=0.02)


def test_the_keys_of_one_room_are_capped_by_its_parties_per_user_limits():
    # Given every snapshot in one room (a single room), writing 2 WCU on its log
    m = model(counts({("table", "ROOMLOG#<id>"): {"wru": 2.0}}), rooms=1, parties_per_room=20)
    per_user = m.settings.per_user_per_minute / 60
    # Then its key takes no more than its parties can create, whatever the load
    assert limit(m, 1_000_000, "DynamoDB key ROOMLOG#<id> writes").needed == pytest.approx(2 * 20 * per_user)
    assert m.hottest_room_rate(1) == pytest.approx(1)


def test_before_the_sharding_the_same_counts_fall_on_one_key():
    per = counts({("GSI2", "ACTIVE#<shard>"): {"wru": 2.0}, ("table", "SNAP#<id>"): {"wru": 3.0}})
    before = model(as_before_sharding(per))
    assert before.break_load("DynamoDB key ACTIVE (GSI2) writes") == pytest.approx(500, rel=0.02)
    assert limit(before, 10, "DynamoDB key SNAP#<id> writes").needed == pytest.approx(3.0)


def test_room_changes_write_the_rooms_index_at_their_own_rate_and_its_shards_spread_them():
    per = counts({}, changes={("GSI1", "ROOMS#<shard>"): {"wru": 1.0}})
    m = model(per, room_changes_per_snapshot=2.0)
    assert m.break_load("DynamoDB key ROOMS#<shard> (GSI1) writes") == pytest.approx(8_000, rel=0.02)
    before = model(as_before_sharding(per), room_changes_per_snapshot=2.0)
    assert before.break_load("DynamoDB key ROOMS (GSI1) writes") == pytest.approx(500, rel=0.02)


def test_the_template_settings_are_limits_and_the_model_says_what_to_set_them_to():
    m = model(counts({}))
    rps = limit(m, 100, "HTTP API stage throttle")
    assert rps.needed == pytest.approx(200)
    assert rps.available == m.settings.api_rate
    assert limit(m, 100, "RendererFunction MaximumConcurrency").needed == pytest.approx(10)  # 100/s x 0.1 s
    told = m.settings_for(100)
    assert told["ThrottlingRateLimit / ThrottlingBurstLimit"] == "300 / 600"
    assert told["RendererFunction MaximumConcurrency"] == "15"


def test_a_quota_aws_cannot_raise_is_a_design_limit():
    m = model(counts({}, lines={("RendererFunction", "s3", "PutObject"): {"requests": 0.5}}))
    put = limit(m, 10_000, "S3 PUT on pdf/")
    assert (put.needed, put.kind) == (5_000, "design")
    assert put.utilization > 1


def test_counts_are_read_per_snapshot_from_make_costs_file():
    block = {
        "snapshots": 40,
        "lines": [["ApiFunction", "lambda", "Invoke", {"requests": 80, "duration_ms": 1600}]],
        "keys": [["ApiFunction", "TransactWriteItems", "table", "LIMIT#<user>", {"wru": 160}]],
    }
    per = per_snapshot(
        block, {"count": 10, "keys": [["ApiFunction", "TransactWriteItems", "GSI1", "ROOMS", {"wru": 10}]]}
    )
    assert per.function_ms() == {"ApiFunction": 40}
    assert per.keys == {("table", "LIMIT#<user>"): {"wru": 4}}
    assert per.room_change_keys == {("GSI1", "ROOMS"): {"wru": 1}}
