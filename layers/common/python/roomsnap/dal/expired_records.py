"""Items past their `expires_at`, removed by the cleanup because DynamoDB's TTL may lag by days."""

from botocore.exceptions import ClientError

from roomsnap.dal.items import Repository, is_condition_failure


class ExpiredRecords(Repository):
    def delete_expired(self, now_epoch: int) -> int:
        """Deletes items whose `expires_at` has passed; the condition keeps a record that was
        extended meanwhile. Returns how many were deleted."""
        removed, start = 0, None
        while True:
            page = self.dynamodb.scan(
                TableName=self.table_name,
                FilterExpression="expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now_epoch)}},
                ProjectionExpression="PK, SK",
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for key in page["Items"]:
                try:
                    self.dynamodb.delete_item(
                        TableName=self.table_name,
                        Key=key,
                        ConditionExpression="expires_at < :now",
                        ExpressionAttributeValues={":now": {"N": str(now_epoch)}},
                    )
                    removed += 1
                except ClientError as error:
                    if not is_condition_failure(error):
                        raise
            start = page.get("LastEvaluatedKey")
            if not start:
                return removed
