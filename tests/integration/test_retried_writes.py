"""Writes that are safe to retry: a write whose answer is lost is retried by botocore, and must be
recognized as its own earlier attempt, not reported as a conflict. The answers are dropped for
real: a botocore hook makes the client retry a request that succeeded, as a read timeout would."""

from contextlib import contextmanager

import pytest
from botocore.exceptions import ClientError

from roomsnap.dal import clients
from roomsnap.ids import new_id
from roomsnap.models import Activity, Party, Role, TaskStatus, utc_now

from tests.integration.builders import new_room, new_snapshot


@contextmanager
def first_answer_dropped(operation: str):
    """The shared DynamoDB client retries the first successful `operation` once, immediately, with
    the same parameters: what botocore does when the answer to a write that succeeded is lost."""
    dynamodb = clients.client("dynamodb")
    dropped: list[str] = []

    def retry_once(response, operation, **_):
        if response and response[1].get("ResponseMetadata", {}).get("HTTPStatusCode") == 200 and not dropped:
            dropped.append(operation.name)
            return 0  # retry now
        return None

    event = f"needs-retry.dynamodb.{operation}"
    dynamodb.meta.events.register_first(event, retry_once)
    try:
        yield dropped
    finally:
        dynamodb.meta.events.unregister(event, retry_once)


def test_a_room_created_again_by_a_retry_is_the_same_room(parts):
    with first_answer_dropped("TransactWriteItems") as dropped:
        room_id = new_room(parts, "Retried create")
    assert dropped == ["TransactWriteItems"]
    assert parts["rooms"].get_room(room_id).version == 1


def test_a_retried_room_change_is_applied_once(parts):
    room_id = new_room(parts)
    party = Party(email="p@x.io", company="P", role=Role.VIEWER, added_at=utc_now())
    change = Activity(id=new_id(), at=utc_now(), actor="o@x.io", action="party.added")
    with first_answer_dropped("TransactWriteItems") as dropped:
        parts["rooms"].add_party(room_id, party, change)
    assert dropped
    assert parts["rooms"].get_room(room_id).version == 2  # counted once


def test_a_retried_delete_is_not_a_404(parts):
    snapshot = new_snapshot(parts, new_room(parts))
    audit = Activity(id=new_id(), at=utc_now(), actor="o@x.io", action="snapshot.deleted", category="audit")
    with first_answer_dropped("TransactWriteItems") as dropped:
        parts["snapshots"].delete(snapshot, audit)
    assert dropped
    assert parts["snapshots"].get(snapshot.id) is None


@pytest.mark.parametrize("transition", ["claim", "cancel"])
def test_a_retried_conditional_update_is_recognized_as_its_own(parts, transition):
    snapshot = new_snapshot(parts, new_room(parts))
    audit = Activity(id=new_id(), at=utc_now(), actor="o@x.io", action="snapshot.cancelled", category="audit")
    with first_answer_dropped("UpdateItem") as dropped:
        if transition == "claim":
            claimed = parts["snapshots"].claim(snapshot.id, lease_seconds=30)
        else:
            claimed = parts["snapshots"].cancel(snapshot, audit)
    assert dropped
    expected = TaskStatus.RUNNING if transition == "claim" else TaskStatus.CANCELLED
    assert claimed.task_status is expected


def test_the_local_stack_refuses_a_token_reused_for_another_request(aws):
    resources, endpoint = aws
    dynamodb = endpoint.client("dynamodb")
    item = {"PK": {"S": f"T#{new_id()}"}, "SK": {"S": "T"}}
    put = {
        "Put": {"TableName": resources["DataTable"], "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}
    }
    token = new_id()

    dynamodb.transact_write_items(TransactItems=[put], ClientRequestToken=token)
    dynamodb.transact_write_items(TransactItems=[put], ClientRequestToken=token)  # same request: success again
    other = {"Put": {**put["Put"], "Item": {**item, "extra": {"S": "x"}}}}
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=[other], ClientRequestToken=token)

    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    with pytest.raises(ClientError) as conflict:  # without the token, the condition decides
        dynamodb.transact_write_items(TransactItems=[put])
    assert conflict.value.response["Error"]["Code"] == "TransactionCanceledException"
