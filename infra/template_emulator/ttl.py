"""The local stand-in for DynamoDB TTL, which moto never enforces.

Every SWEEP_INTERVAL seconds (and on demand) it deletes the items whose TTL attribute, as named by the
table's TimeToLiveSpecification, holds an epoch-seconds number in the past. Real DynamoDB deletes
expired items within a few days, so code must not rely on the timing; this only keeps local data honest.
"""

from __future__ import annotations

import logging
import threading
import time

from template_emulator.template import Template

log = logging.getLogger("template_emulator.ttl")

SWEEP_INTERVAL = 60


class TtlSweeper:
    def __init__(self, template: Template, dynamodb, interval: float = SWEEP_INTERVAL):
        self._dynamodb = dynamodb
        self._interval = interval
        self.tables = {}  # table name -> TTL attribute
        for logical_id in template.resources_of_type("AWS::DynamoDB::Table"):
            ttl = template.properties(logical_id).get("TimeToLiveSpecification", {})
            if ttl.get("Enabled") in (True, "true"):
                self.tables[template.attribute(logical_id)] = ttl["AttributeName"]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        if self.tables:
            self._thread.start()

    def sweep(self) -> dict[str, int]:
        """Deletes expired items now; returns how many each table lost."""
        return {table: self._sweep_table(table, attribute) for table, attribute in self.tables.items()}

    def _sweep_table(self, table: str, attribute: str) -> int:
        key_names = [
            key["AttributeName"] for key in self._dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        ]
        pages = self._dynamodb.get_paginator("scan").paginate(
            TableName=table,
            FilterExpression="attribute_type(#ttl, :number) AND #ttl < :now",
            ExpressionAttributeNames={"#ttl": attribute},
            ExpressionAttributeValues={":number": {"S": "N"}, ":now": {"N": str(int(time.time()))}},
        )
        removed = 0
        for page in pages:
            for item in page["Items"]:
                try:  # unless the item got a later expiry since the scan
                    self._dynamodb.delete_item(
                        TableName=table,
                        Key={name: item[name] for name in key_names},
                        ConditionExpression="#ttl < :now",
                        ExpressionAttributeNames={"#ttl": attribute},
                        ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
                    )
                    removed += 1
                except self._dynamodb.exceptions.ConditionalCheckFailedException:
                    pass
        if removed:
            log.info("TTL: deleted %d expired item(s) from %s", removed, table)
        return removed

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.sweep()
            except Exception as error:  # a failed sweep is retried on the next tick
                log.warning("TTL sweep failed: %s", error)

    def stop(self) -> None:
        self._stopping.set()

    def join(self) -> None:
        if self._thread.is_alive():
            self._thread.join()
