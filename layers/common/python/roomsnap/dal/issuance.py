"""Issuance records: which PDF bytes (by SHA-256) the service issued, when, for which snapshot.

  ISSUED#<pdf sha256>  SNAP#<snapshot id>   one per snapshot completed with those bytes

They carry no expiry: they outlive the snapshot's retention and the cleanup of unused cached
PDFs, so a file issued years ago still verifies. Each is about 300 bytes (DynamoDB storage for a
million snapshots: about 0.3 GB)."""

from botocore.exceptions import ClientError
from pydantic import BaseModel

from roomsnap.dal.items import Repository, is_condition_failure, record, to_dynamo


class Issuance(BaseModel):
    pdf_sha256: str
    snapshot_id: str
    room_id: str
    content_hash: str
    file_size: int
    issued_at: str


def _partition(pdf_sha256: str) -> str:
    return f"ISSUED#{pdf_sha256}"


class IssuanceRecords(Repository):
    def record(self, issuance: Issuance) -> None:
        """Written before the snapshot completes, so no completed snapshot lacks its record; a retry
        keeps the first record's time."""
        item = {
            "PK": _partition(issuance.pdf_sha256),
            "SK": f"SNAP#{issuance.snapshot_id}",
            "entity": "issuance",
            **issuance.model_dump(),
        }
        try:
            self.dynamodb.put_item(
                TableName=self.table_name, Item=to_dynamo(item), ConditionExpression="attribute_not_exists(PK)"
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def of(self, pdf_sha256: str, limit: int = 20) -> list[Issuance]:
        """The first `limit` issuances of these bytes, by snapshot id (ids are time-ordered)."""
        page = self.dynamodb.query(
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": _partition(pdf_sha256)}},
            Limit=limit,
        )
        return [Issuance.model_validate(record(item)) for item in page["Items"]]
