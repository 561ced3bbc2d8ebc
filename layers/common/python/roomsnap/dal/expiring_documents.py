"""Documents by expiry day, and the alerts announcing them.

  ROOM#<room>      DOC#<id>     a document with an expiry date    GSI2: DOCEXP#<day> / <room>#<id>
  DOCALERT#<doc>   <day>        the alert of that day (the outbox item the stream publishes)
  EXPIRYALERTS     LASTRUN      the day of the last run

The daily run reads one GSI2 partition per day of its window, never the table.
"""

from datetime import UTC, date, datetime, time, timedelta

from botocore.exceptions import ClientError

from roomsnap.dal.items import Repository, is_condition_failure, log_item, record, to_dynamo
from roomsnap.models import Activity, Document
from roomsnap.webhooks import ExpiryAlert

ALERT_RETENTION = timedelta(days=7)  # longer than a day: a second run the same day finds the alert
LAST_RUN_KEY = {"PK": {"S": "EXPIRYALERTS"}, "SK": {"S": "LASTRUN"}}


def expiry_index_keys(room_id: str, document: Document) -> dict:
    """GSI2 keys of a document with an expiry date (the index is sparse: none without one)."""
    if document.expires_on is None:
        return {}
    return {"GSI2PK": f"DOCEXP#{document.expires_on.isoformat()}", "GSI2SK": f"{room_id}#{document.id}"}


class ExpiringDocuments(Repository):
    def expiring_on(self, day: date) -> list[tuple[str, Document]]:
        """(room id, document) of every document that expires on `day`."""
        items = self.query_all(
            IndexName="GSI2",
            KeyConditionExpression="GSI2PK = :day",
            ExpressionAttributeValues={":day": {"S": f"DOCEXP#{day.isoformat()}"}},
        )
        return [(item["PK"]["S"].removeprefix("ROOM#"), Document.model_validate(record(item))) for item in items]

    def record_alert(self, alert: ExpiryAlert, audit: Activity) -> bool:
        """Writes the day's alert of a document and its audit line together, once: False when the
        document was already announced that day."""
        expires_at = int(datetime.combine(date.fromisoformat(alert.day) + ALERT_RETENTION, time(), UTC).timestamp())
        item = {
            "PK": {"S": f"DOCALERT#{alert.document_id}"},
            "SK": {"S": alert.day},
            **to_dynamo({"entity": "document_expiry", "expires_at": expires_at, **alert.model_dump()}),
        }
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {"Put": {"TableName": self.table_name, "Item": log_item(alert.room_id, audit)}},
                ],
                ClientRequestToken=audit.id,  # a retry whose answer was lost is this same write
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def last_run(self) -> date | None:
        item = self.dynamodb.get_item(TableName=self.table_name, Key=LAST_RUN_KEY, ConsistentRead=True).get("Item")
        return date.fromisoformat(item["day"]["S"]) if item else None

    def record_run(self, day: date) -> None:
        self.dynamodb.put_item(TableName=self.table_name, Item={**LAST_RUN_KEY, "day": {"S": day.isoformat()}})
