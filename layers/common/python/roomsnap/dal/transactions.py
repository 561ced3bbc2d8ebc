"""One TransactWriteItems made of several repositories' items, where each item that may refuse
the transaction (a guard) says what its failed condition means.

DynamoDB cancels a transaction as a whole and lists a reason per item; with
ReturnValuesOnConditionCheckFailure=ALL_OLD a failed condition's reason carries the item as it
was, so the refusal is told apart (not a member, a role that may not, over a limit, a key already
used) without reading anything again. Guards are checked in the order given: the first one whose
condition failed decides."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from botocore.exceptions import ClientError

from roomsnap.errors import Conflict, ServiceUnavailable

THROTTLED = {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}


@dataclass(frozen=True)
class Guard:
    """A TransactItems entry with a condition, and the error its failure means, given the item as it
    was (DynamoDB JSON; None when there was none)."""

    write: dict
    refusal: Callable[[dict | None], Exception]


def transact(dynamodb, guards: list[Guard], writes: list[dict], token: str) -> None:
    """Writes `writes` if every guard's condition holds, all or nothing. `token` is the
    ClientRequestToken: a retry of a transaction that succeeded (botocore retries one whose answer
    was lost) succeeds again instead of applying twice. Raises the first failed guard's refusal;
    ServiceUnavailable when DynamoDB throttled an item; Conflict when another transaction held one."""
    items = [_with_old_item(guard.write) for guard in guards]
    try:
        dynamodb.transact_write_items(TransactItems=[*items, *writes], ClientRequestToken=token)
    except ClientError as error:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = error.response.get("CancellationReasons", [])
        for guard, reason in zip(guards, reasons, strict=False):
            if reason.get("Code") == "ConditionalCheckFailed":
                raise guard.refusal(cast(dict | None, reason.get("Item"))) from None
        codes = {reason.get("Code") for reason in reasons}
        if codes & THROTTLED:
            raise ServiceUnavailable(
                "the service is busy right now; nothing was created, try again", {"Retry-After": "1"}
            ) from None
        if "TransactionConflict" in codes:
            raise Conflict(
                "another change to the same records was being made; nothing was created, try again",
                {"Retry-After": "1"},
            ) from None
        raise


def _with_old_item(write: dict) -> dict:
    """Asks for the item as it was when the condition fails (ALL_OLD), whatever the action."""
    ((action, body),) = write.items()
    return {action: {**body, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
