"""Function output: printed readably in the terminal and kept in memory for tests to assert on."""

from __future__ import annotations

import collections
import json
import sys
import threading
from datetime import datetime
from typing import Any, TextIO

from template_emulator.metering import record_log_line

RECORDS_KEPT = 5000
# Powertools fields that repeat on every line and say nothing about the event itself.
NOISY_FIELDS = {
    "level",
    "message",
    "timestamp",
    "location",
    "service",
    "xray_trace_id",
    "sampling_rate",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "exception",
}


class LogBook:
    def __init__(self, stream: TextIO | None = None, keep: int = RECORDS_KEPT):
        self.stream = stream or sys.stdout
        self.keep = keep
        self._records: dict[str, collections.deque] = {}
        self._lock = threading.Lock()

    def write(self, function: str, line: str) -> None:
        """One line a function printed: a Powertools JSON log, an EMF metric, or plain text."""
        record_log_line(function, line)  # what CloudWatch Logs would ingest
        record = parse(line)
        text = f"{datetime.now():%H:%M:%S.%f}"[:-3] + f" {function} {format_record(record)}"
        with self._lock:
            self._records.setdefault(function, collections.deque(maxlen=self.keep)).append(record)
            print(text, file=self.stream, flush=True)

    def records(self, function: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records.get(function, []))


def parse(line: str) -> dict[str, Any]:
    """The JSON object a line holds, or {"message": line} for plain text."""
    line = line.rstrip("\n")
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            pass
        else:
            if isinstance(record, dict):
                return record
    return {"message": line}


def format_record(record: dict[str, Any]) -> str:
    if "_aws" in record:
        return "METRIC " + " ".join(_metric_values(record))
    if "level" not in record:
        return str(record.get("message", json.dumps(record)))
    extras = " ".join(f"{key}={_compact(value)}" for key, value in record.items() if key not in NOISY_FIELDS)
    text = f"{record['level']} {_compact(record.get('message', ''))} {extras}".rstrip()
    return f"{text}\n{record['exception']}" if "exception" in record else text


def _metric_values(record: dict[str, Any]) -> list[str]:
    texts = []
    for directive in record["_aws"].get("CloudWatchMetrics", []):
        for metric in directive.get("Metrics", []):
            value = record.get(metric["Name"])
            value = value[0] if isinstance(value, list) and len(value) == 1 else value  # Powertools writes [v]
            texts.append(f"{metric['Name']}={_compact(value)} {metric.get('Unit', '')}".rstrip())
    return texts


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
