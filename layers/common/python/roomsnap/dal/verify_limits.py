"""How often one caller may ask POST /verify: a fixed one-minute window per caller, one conditional
write per request.

  VERIFYLIMIT#<caller>  VERIFY   m_<minute>: requests in that minute

The caller is the signed-in user's email, or else the request's source address. The previous
minute's counter is removed by the next write and the item expires two minutes after its last use.
When DynamoDB throttles the write (after botocore's retries), the request is let through, as the
create limits do: the route's own API Gateway throttle still bounds the load."""

from datetime import datetime, timedelta
from typing import Literal

from botocore.exceptions import ClientError

from roomsnap.dal.items import Repository, is_condition_failure, to_dynamo

EXPIRES_AFTER = timedelta(minutes=2)
THROTTLED = ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded")


class VerifyLimits(Repository):
    def __init__(self, table_name: str, per_minute: int):
        super().__init__(table_name)
        self.per_minute = per_minute

    def admit(self, caller: str, now: datetime) -> Literal["admitted", "refused", "uncounted"]:
        minute, previous = f"m_{now:%Y%m%d%H%M}", f"m_{now - timedelta(minutes=1):%Y%m%d%H%M}"
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"PK": {"S": f"VERIFYLIMIT#{caller}"}, "SK": {"S": "VERIFY"}},
                UpdateExpression="ADD #m :one SET expires_at = :expires REMOVE #p",
                ConditionExpression="attribute_not_exists(#m) OR #m < :cap",
                ExpressionAttributeNames={"#m": minute, "#p": previous},
                ExpressionAttributeValues=to_dynamo(
                    {":one": 1, ":cap": self.per_minute, ":expires": int((now + EXPIRES_AFTER).timestamp())}
                ),
            )
        except ClientError as error:
            if is_condition_failure(error):
                return "refused"
            if error.response["Error"]["Code"] in THROTTLED:
                return "uncounted"
            raise
        return "admitted"
