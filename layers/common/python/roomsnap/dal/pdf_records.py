"""What the PDF cache knows besides the PDFs themselves: each cached PDF's use record (when a
renderer last used it, and the cleanup's `deleting` mark), whether a snapshot references it, and
the content hash found for a content key and the clearance that content prints
(renderer.logic.render explains content keys)."""

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from botocore.exceptions import ClientError

from roomsnap.clearance import Clearance
from roomsnap.dal.items import Repository, is_condition_failure, to_dynamo
from roomsnap.errors import PdfBeingDeleted
from roomsnap.models import utc_now

STALE_DELETION_MARK = timedelta(minutes=10)  # well past the cleanup function's timeout
CONTENT_KEY_RETENTION = timedelta(days=2)  # a content key names one day's expiry checks


class KnownContent(NamedTuple):
    """What a content key stands for: the content's hash and the clearance it prints."""

    content_hash: str
    clearance: Clearance


def use_record_key(content_hash: str) -> dict:
    return {"PK": {"S": f"PDF#{content_hash}"}, "SK": {"S": "PDF"}}


def _content_key_item(content_key: str) -> dict:
    return {"PK": {"S": f"CONTENT#{content_key}"}, "SK": {"S": "CONTENT"}}


class PdfRecords(Repository):
    def touch(self, content_hash: str, stale_mark_before: str) -> None:
        """Records that a renderer is about to use the PDF with this hash, before it looks for it.
        The cleanup only deletes a PDF it could mark `deleting` while unused for the retention
        period, so after this write it leaves the PDF alone; if the cleanup holds the mark now,
        this raises PdfBeingDeleted and the render is retried once the deletion is done. (A mark
        older than the cleanup's timeout is a crashed cleanup's, and is cleared.)"""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=use_record_key(content_hash),
                UpdateExpression="SET last_used_at = :now, #entity = :pdf REMOVE deleting",
                ConditionExpression="attribute_not_exists(deleting) OR deleting < :stale",
                ExpressionAttributeNames={"#entity": "entity"},
                ExpressionAttributeValues=to_dynamo({":now": utc_now(), ":pdf": "pdf", ":stale": stale_mark_before}),
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise PdfBeingDeleted(content_hash) from None
            raise

    def referenced(self, content_hash: str) -> bool:
        """Whether a completed snapshot points at this PDF (GSI2 holds them under PDF#<hash>)."""
        page = self.dynamodb.query(
            TableName=self.table_name,
            IndexName="GSI2",
            KeyConditionExpression="GSI2PK = :pdf",
            ExpressionAttributeValues={":pdf": {"S": f"PDF#{content_hash}"}},
            Limit=1,
        )
        return bool(page["Items"])

    def mark_for_deletion(self, content_hash: str, unused_since: str, stale_mark_before: str) -> str | None:
        """Marks a cached PDF `deleting` if nothing has used it since `unused_since` (a mark left by
        a crashed cleanup counts as absent once older than `stale_mark_before`). Returns the mark's
        timestamp, or None if the PDF is in use or another cleanup holds it."""
        mark = utc_now()
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=use_record_key(content_hash),
                UpdateExpression="SET deleting = :mark",
                ConditionExpression="(attribute_not_exists(last_used_at) OR last_used_at < :unused) "
                "AND (attribute_not_exists(deleting) OR deleting < :stale)",
                ExpressionAttributeValues=to_dynamo(
                    {":mark": mark, ":unused": unused_since, ":stale": stale_mark_before}
                ),
            )
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return mark

    def unmark(self, content_hash: str, mark: str, forget: bool) -> None:
        """Lifts a deletion mark: keeps the PDF's record, or removes it with the PDF (forget)."""
        condition = {"ConditionExpression": "deleting = :mark", "ExpressionAttributeValues": {":mark": {"S": mark}}}
        try:
            if forget:
                self.dynamodb.delete_item(TableName=self.table_name, Key=use_record_key(content_hash), **condition)
            else:
                self.dynamodb.update_item(
                    TableName=self.table_name,
                    Key=use_record_key(content_hash),
                    UpdateExpression="REMOVE deleting",
                    **condition,
                )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def known_content(self, content_key: str) -> KnownContent | None:
        item = self.dynamodb.get_item(TableName=self.table_name, Key=_content_key_item(content_key)).get("Item")
        if not item or "clearance" not in item:
            return None
        return KnownContent(item["content_hash"]["S"], Clearance.model_validate_json(item["clearance"]["S"]))

    def remember_content(self, content_key: str, known: KnownContent) -> None:
        expires_at = int((datetime.now(UTC) + CONTENT_KEY_RETENTION).timestamp())
        fields = {
            "content_hash": known.content_hash,
            "clearance": known.clearance.model_dump_json(),
            "entity": "content",
            "expires_at": expires_at,
        }
        self.dynamodb.put_item(TableName=self.table_name, Item={**_content_key_item(content_key), **to_dynamo(fields)})
