"""What a report reads of a room's activity: its data changes only, never the audit lines that
every download, create, cancel and delete appends."""

from roomsnap.ids import new_id
from roomsnap.models import Activity, Vessel, utc_now

from tests.integration.builders import new_room


def test_reading_a_room_for_a_report_does_not_read_its_audit_lines(parts, aws):
    # Given a room with one change to its data and many downloads
    rooms, (resources, endpoint) = parts["rooms"], aws
    room_id = new_room(parts)
    vessel = Vessel(name="MT A", imo="9074729", vessel_type="tanker", flag="MT", added_at=utc_now())
    rooms.add_vessel(room_id, vessel, Activity(id=new_id(), at=utc_now(), actor="o@x.io", action="vessel.added"))
    for _ in range(50):
        audit = Activity(id=new_id(), at=utc_now(), actor="v@x.io", action="snapshot.downloaded", category="audit")
        rooms.append_audit(room_id, audit)

    # When the report's changes are read
    changes = rooms.room_changes(room_id)
    read = endpoint.client("dynamodb").query(
        TableName=resources["DataTable"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ROOMCHANGES#{room_id}"}},
        Select="COUNT",
    )

    # Then they are the room's creation and the vessel, and nothing else was read to find them
    assert [change.action for change in changes] == ["room.created", "vessel.added"]
    assert read["ScannedCount"] == 2
    # While the activity log shows everything
    entries, _ = rooms.list_activity(room_id, 100, None)
    assert len(entries) == 52


def test_the_list_of_all_rooms_reads_every_shard_and_the_rooms_from_before_the_sharding(parts, aws):
    # Given rooms spread over the index's shards, and one created before there were shards
    resources, endpoint = aws
    made = [new_room(parts, f"STS Busan {index}") for index in range(24)]
    legacy_id = new_id()
    now = utc_now()
    legacy = {
        "PK": {"S": f"ROOM#{legacy_id}"},
        "SK": {"S": "META"},
        "GSI1PK": {"S": "ROOMS"},
        "GSI1SK": {"S": legacy_id},
        "entity": {"S": "room"},
        "id": {"S": legacy_id},
        "title": {"S": "STS Yeosu (before the sharding)"},
        "location": {"S": "Yeosu"},
        "operation_time": {"S": "2026-12-01T06:00:00+00:00"},
        "created_by": {"S": "o@x.io"},
        "created_at": {"S": now},
        "updated_at": {"S": now},
    }
    endpoint.client("dynamodb").put_item(TableName=resources["DataTable"], Item=legacy)
    # When an admin lists every room
    listed = [room.id for room, _facts in parts["rooms"].list_rooms(None)]
    # Then every one is there, newest first, as one list
    assert set(made) | {legacy_id} <= set(listed)
    assert listed == sorted(listed, reverse=True)
    partitions = {
        endpoint.client("dynamodb").get_item(
            TableName=resources["DataTable"], Key={"PK": {"S": f"ROOM#{room_id}"}, "SK": {"S": "META"}}
        )["Item"]["GSI1PK"]["S"]
        for room_id in made
    }
    assert len(partitions) >= 8
    assert all(partition.startswith("ROOMS#") for partition in partitions)
