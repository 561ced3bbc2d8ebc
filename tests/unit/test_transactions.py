"""How a cancelled transaction is read: which guard refused it, or whether DynamoDB throttled it or
another transaction held an item. DynamoDB's answers are botocore's own Stubber replies, in the
shape the service documents (a reason per item, the old item with ALL_OLD)."""

import boto3
import pytest
from botocore.stub import ANY, Stubber

from roomsnap.dal.transactions import Guard, transact
from roomsnap.errors import Conflict, ServiceUnavailable


class Refused(Exception):
    def __init__(self, item):
        super().__init__("refused")
        self.item = item


def guard(name: str) -> Guard:
    check = {
        "TableName": "t",
        "Key": {"PK": {"S": name}, "SK": {"S": "X"}},
        "ConditionExpression": "attribute_exists(PK)",
    }
    return Guard({"ConditionCheck": check}, lambda item: Refused((name, item)))


PUT = {"Put": {"TableName": "t", "Item": {"PK": {"S": "SNAP#1"}, "SK": {"S": "SNAP"}}}}


def cancelled(*codes: str, item: dict | None = None):
    """A client whose one TransactWriteItems is cancelled with these reasons (the first failed
    condition carries `item`)."""
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    stubber = Stubber(client)
    reasons = []
    for code in codes:
        reason = {"Code": code}
        if code == "ConditionalCheckFailed" and item is not None:
            reason["Item"], item = item, None
        reasons.append(reason)
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        http_status_code=400,
        response_meta={},
        modeled_fields={"CancellationReasons": reasons},
        expected_params={"TransactItems": ANY, "ClientRequestToken": "token-1"},
    )
    stubber.activate()
    return client, stubber


def test_each_guard_asks_for_the_item_as_it_was_and_the_token_goes_along():
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    with Stubber(client) as stubber:
        expected = {**guard("A").write["ConditionCheck"], "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        stubber.add_response(
            "transact_write_items",
            {},
            {"TransactItems": [{"ConditionCheck": expected}, PUT], "ClientRequestToken": "t"},
        )
        transact(client, [guard("A")], [PUT], token="t")
        stubber.assert_no_pending_responses()


def test_the_first_guard_whose_condition_failed_decides_with_the_item_as_it_was():
    old = {"PK": {"S": "B"}, "SK": {"S": "X"}, "role": {"S": "viewer"}}
    client, _ = cancelled("None", "ConditionalCheckFailed", "ConditionalCheckFailed", "None", item=old)
    with pytest.raises(Refused) as refused:
        transact(client, [guard("A"), guard("B"), guard("C")], [PUT], token="token-1")
    assert refused.value.item == ("B", old)


def test_a_guard_whose_item_did_not_exist_is_told_so():
    client, _ = cancelled("ConditionalCheckFailed", "None")
    with pytest.raises(Refused) as refused:
        transact(client, [guard("A")], [PUT], token="token-1")
    assert refused.value.item == ("A", None)


@pytest.mark.parametrize("code", ["ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_throttled_item_refuses_the_whole_create_as_briefly_unavailable(code):
    client, _ = cancelled("None", code, "None")
    with pytest.raises(ServiceUnavailable) as busy:
        transact(client, [guard("A"), guard("B")], [PUT], token="token-1")
    assert busy.value.headers == {"Retry-After": "1"}
    assert "nothing was created" in busy.value.message


def test_a_conditional_refusal_wins_over_a_throttle_elsewhere():
    client, _ = cancelled("ConditionalCheckFailed", "ThrottlingError", "None")
    with pytest.raises(Refused):
        transact(client, [guard("A"), guard("B")], [PUT], token="token-1")


def test_an_item_held_by_another_transaction_is_a_conflict_to_retry():
    client, _ = cancelled("None", "TransactionConflict", "None")
    with pytest.raises(Conflict) as conflict:
        transact(client, [guard("A"), guard("B")], [PUT], token="token-1")
    assert conflict.value.headers == {"Retry-After": "1"}
