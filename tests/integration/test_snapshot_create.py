"""The create path against moto over HTTP: one TransactWriteItems (the caller's party and role, the
Idempotency-Key, the per-user limits, the snapshot and its audit line), then one SendMessage; and
every refusal told apart from the transaction's cancellation reasons, with nothing written."""

import json
from contextlib import contextmanager

import pytest

from roomsnap.access import Caller
from roomsnap.dal import clients
from roomsnap.dal.create_limits import CreateLimits, Limits
from roomsnap.dal.idempotency import IdempotencyKeys
from roomsnap.dal.queues import RenderQueue
from roomsnap.errors import Forbidden, NotFound, TooManyRequests, UnprocessableEntity
from roomsnap.ids import new_id
from roomsnap.models import Activity, Party, Role, SnapshotIn, utc_now

from api.logic.rooms import RoomService
from api.logic.snapshots import SnapshotService
from tests.integration.builders import new_room
from tests.integration.test_retried_writes import first_answer_dropped

OWNER = Caller("o@x.io", is_admin=False)  # the owner new_room makes
BODY = SnapshotIn(title="Ras Tanura — before transfer 🛢️")


@pytest.fixture
def service(aws, parts):
    resources, _ = aws
    table = resources["DataTable"]
    limits = CreateLimits(table, Limits(per_minute=3, per_hour=100, unfinished=50))
    return SnapshotService(
        RoomService(parts["rooms"]),
        parts["snapshots"],
        IdempotencyKeys(table),
        limits,
        parts["pdfs"],
        RenderQueue(resources["RenderQueue"]),
    )


@contextmanager
def requests_made():
    """The AWS operations this process's clients send, in order."""
    made: list[str] = []

    def record(model, **_):
        made.append(f"{model.service_model.service_name}.{model.name}")

    watched = [clients.client(name) for name in ("dynamodb", "sqs")]
    for client in watched:
        client.meta.events.register("before-call", record)
    try:
        yield made
    finally:
        for client in watched:
            client.meta.events.unregister("before-call", record)


def with_party(parts, room_id: str, email: str, role: Role) -> Caller:
    party = Party(email=email, company="Σύνδεσμος Ναυτιλίας", role=role, added_at=utc_now())
    parts["rooms"].add_party(
        room_id, party, Activity(id=new_id(), at=utc_now(), actor=OWNER.email, action="party.added")
    )
    return Caller(email, is_admin=False)


def limit_item(aws, user: str) -> dict | None:
    resources, endpoint = aws
    return (
        endpoint.client("dynamodb")
        .get_item(TableName=resources["DataTable"], Key={"PK": {"S": f"LIMIT#{user}"}, "SK": {"S": "CREATE"}})
        .get("Item")
    )


def test_a_create_is_one_transaction_then_one_message(aws, parts, service):
    room_id = new_room(parts, "Fujairah anchorage")
    with requests_made() as made:
        created = service.create(OWNER, room_id, BODY, correlation_id="req-1")
    assert made == ["dynamodb.TransactWriteItems", "sqs.SendMessage"]
    stored = parts["snapshots"].get(created.snapshot.id)
    assert (stored.task_status.value, stored.title) == ("pending", BODY.title)
    audit = parts["rooms"].list_activity(room_id, 10, None)[0][0]
    assert (audit.action, audit.detail) == ("snapshot.created", f"{stored.id}: {BODY.title}")
    assert limit_item(aws, OWNER.email)["active"]["SS"] == [stored.id]
    assert '"per-minute";r=2' in created.rate_limit_headers["RateLimit"]


def test_a_party_whose_role_may_not_create_is_403_and_a_stranger_404_with_nothing_written(aws, parts, service):
    room_id = new_room(parts, "Khor Fakkan")
    viewer = with_party(parts, room_id, "viewer.yeosu@x.io", Role.VIEWER)
    with requests_made() as made, pytest.raises(Forbidden, match="a viewer may not create snapshots"):
        service.create(viewer, room_id, BODY, correlation_id="")
    assert made == ["dynamodb.TransactWriteItems"]  # the role came with the cancellation, not from a read
    with pytest.raises(NotFound, match="room not found"):
        service.create(Caller("stranger@x.io", is_admin=False), room_id, BODY, correlation_id="")
    assert limit_item(aws, viewer.email) is None
    assert limit_item(aws, "stranger@x.io") is None
    assert parts["snapshots"].list_for_room(room_id, 10, None)[0] == []


def test_an_admin_creates_in_an_existing_room_and_gets_404_for_a_missing_one(parts, service):
    admin = Caller("admin@x.io", is_admin=True)
    room_id = new_room(parts, "Sohar")
    assert service.create(admin, room_id, BODY, correlation_id="").snapshot.room_id == room_id
    with pytest.raises(NotFound):
        service.create(admin, new_id(), BODY, correlation_id="")


def test_over_the_limit_is_429_with_the_counter_as_it_was(aws, parts, service):
    room_id = new_room(parts, "Lomé")
    user = with_party(parts, room_id, "operator.lome@x.io", Role.OPERATOR)
    for index in range(3):
        service.create(user, room_id, SnapshotIn(title=f"Lomé {index}"), correlation_id="")
    with requests_made() as made, pytest.raises(TooManyRequests) as refused:
        service.create(user, room_id, BODY, correlation_id="", idempotency_key="lome-4")
    assert made == ["dynamodb.TransactWriteItems"]
    assert '"per-minute";r=0' in refused.value.headers["RateLimit"]
    assert len(limit_item(aws, user.email)["active"]["SS"]) == 3
    # The key's claim was an item of the cancelled transaction: the same key later is a new create
    assert "you created 3 snapshots this minute" in refused.value.message


def test_an_idempotency_key_replays_the_first_snapshot_from_the_cancellation(parts, service):
    room_id = new_room(parts, "Kalamata")
    user = with_party(parts, room_id, "broker.kalamata@x.io", Role.BROKER)
    first = service.create(user, room_id, BODY, correlation_id="", idempotency_key="kalamata-1")
    with requests_made() as made:
        again = service.create(user, room_id, BODY, correlation_id="", idempotency_key="kalamata-1")
    assert (again.snapshot.id, again.replayed) == (first.snapshot.id, True)
    assert made == ["dynamodb.TransactWriteItems", "dynamodb.GetItem"]  # the cancellation, then the snapshot
    with pytest.raises(UnprocessableEntity):
        service.create(user, room_id, SnapshotIn(title="Other"), correlation_id="", idempotency_key="kalamata-1")
    assert len(parts["snapshots"].list_for_room(room_id, 10, None)[0]) == 1


def test_a_retried_create_whose_answer_was_lost_is_the_same_create(aws, parts, service):
    room_id = new_room(parts, "Malta")
    user = with_party(parts, room_id, "inspector.malta@x.io", Role.INSPECTOR)
    with first_answer_dropped("TransactWriteItems") as dropped:
        created = service.create(user, room_id, BODY, correlation_id="")
    assert dropped == ["TransactWriteItems"]
    item = limit_item(aws, user.email)
    minute = next(name for name in item if name.startswith("m_"))
    assert item[minute]["N"] == "1"  # counted once, not twice
    snapshots, _ = parts["snapshots"].list_for_room(room_id, 10, None)
    assert [s.id for s in snapshots] == [created.snapshot.id]
    audits = [a for a in parts["rooms"].list_activity(room_id, 10, None)[0] if a.action == "snapshot.created"]
    assert len(audits) == 1


def test_the_render_message_names_the_snapshot(aws, parts, service):
    resources, endpoint = aws
    room_id = new_room(parts, "Singapore")
    user = with_party(parts, room_id, "operator.singapore@x.io", Role.OPERATOR)
    created = service.create(user, room_id, BODY, correlation_id="req-sg")
    sqs = endpoint.client("sqs")
    bodies = []
    queue = resources["RenderQueue"]
    while messages := sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["correlation_id"]
    ).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            correlation = message["MessageAttributes"]["correlation_id"]["StringValue"]
            bodies.append({**json.loads(message["Body"]), "correlation_id": correlation})
    assert {"snapshot_id": created.snapshot.id, "room_id": room_id, "correlation_id": "req-sg"} in bodies


def test_the_meter_counts_a_creates_units_on_the_partitions_they_fall_on(parts, service):
    from infra.metering import METER

    room_id = new_room(parts, "Ras Tanura")
    user = with_party(parts, room_id, "broker.rastanura@x.io", Role.BROKER)
    METER.reset()
    created = service.create(user, room_id, BODY, correlation_id="")
    keys = {(where, partition): units for (_, operation, where, partition), units in METER.keys().items()}
    # The transaction's items, 2 write units each (transactional, under 1 KB), on their own partitions
    assert keys[("table", f"LIMIT#{user.email}")]["wru"] == 2
    assert keys[("table", f"ROOM#{room_id}")]["wru"] == 2  # the party's ConditionCheck
    assert keys[("table", f"ROOMLOG#{room_id}")]["wru"] == 2
    assert keys[("table", f"SNAP#{created.snapshot.id}")]["wru"] >= 2
    # And the index entries it adds, under the index partitions they go to
    assert keys[("GSI1", f"ROOMSNAPS#{room_id}")]["wru"] >= 1
    [active] = [partition for where, partition in keys if where == "GSI2"]
    assert active.startswith("ACTIVE#")
