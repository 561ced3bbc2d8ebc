"""Fires the template's Schedule / ScheduleV2 events, on their rate() or cron() expression and on demand."""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from template_emulator.runtime import FunctionError
from template_emulator.template import ACCOUNT_ID, Template

log = logging.getLogger("template_emulator.schedules")

RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
CRON = re.compile(r"cron\((.+)\)")
RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (first, last, names) of the six fields: minutes hours day-of-month month day-of-week year
CRON_FIELDS = [(0, 59, None), (0, 23, None), (1, 31, None), (1, 12, MONTHS), (1, 7, WEEKDAYS), (1970, 2199, None)]
SEARCH_DAYS = 5 * 366


@dataclass(frozen=True)
class Rate:
    period: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.period


@dataclass(frozen=True)
class Cron:
    """An EventBridge cron: minutes hours day-of-month month day-of-week(1=SUN) year, in UTC."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    years: frozenset[int]

    def matches_day(self, day: date) -> bool:
        weekday = (day.weekday() + 1) % 7 + 1  # Python's Monday=0 -> EventBridge's Sunday=1
        return day.year in self.years and day.month in self.months and day.day in self.days and weekday in self.weekdays

    def next_after(self, moment: datetime) -> datetime:
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for offset in range(SEARCH_DAYS):
            day = start.date() + timedelta(days=offset)
            if not self.matches_day(day):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                    if candidate >= start:
                        return candidate
        raise ValueError("the cron expression does not fire in the next five years")


def parse_schedule(expression: str) -> Rate | Cron:
    expression = expression.strip()
    if match := RATE.fullmatch(expression):
        value, unit = int(match.group(1)), match.group(2).rstrip("s")
        if value < 1:
            raise ValueError(f"rate must be positive: {expression}")
        return Rate(timedelta(seconds=value * RATE_UNITS[unit]))
    if match := CRON.fullmatch(expression):
        fields = match.group(1).split()
        if len(fields) != 6:
            raise ValueError(f"cron needs 6 fields (minutes hours day-of-month month day-of-week year): {expression}")
        return Cron(*(frozenset(_cron_field(text, *spec)) for text, spec in zip(fields, CRON_FIELDS, strict=False)))
    raise ValueError(f"not a rate() or cron() expression: {expression}")


def _cron_field(text: str, first: int, last: int, names: list[str] | None) -> set[int]:
    """*, ?, lists, ranges and steps; names (JAN, MON) where the field has them. L, W and # are not supported."""
    values: set[int] = set()
    for part in text.upper().split(","):
        span, _, step = part.partition("/")
        if span in ("*", "?"):
            low, high = first, last
        elif "-" in span:
            low, high = (_cron_value(bound, first, last, names) for bound in span.split("-", 1))
        else:
            low = _cron_value(span, first, last, names)
            high = last if step else low
        values.update(range(low, high + 1, int(step) if step else 1))
    return values


def _cron_value(text: str, first: int, last: int, names: list[str] | None) -> int:
    value = names.index(text) + first if names and text in names else int(text) if text.isdigit() else None
    if value is None or not first <= value <= last:
        raise ValueError(f"unsupported cron value {text!r} (expected {first}-{last})")
    return value


@dataclass(frozen=True)
class Schedule:
    function: str
    event_name: str
    expression: Rate | Cron
    enabled: bool = True
    input: Any | None = None  # the event's constant Input, when it has one

    def payload(self, region: str, stack_name: str) -> Any:
        if self.input is not None:
            return self.input
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{stack_name}-{self.function}{self.event_name}"],
            "detail": {},
        }


def schedules_from_template(template: Template) -> list[Schedule]:
    """Every Schedule / ScheduleV2 event, disabled ones included: they can still be fired on demand."""
    schedules = []
    for function in template.functions().values():
        for name, event in function.events_of_type("Schedule", "ScheduleV2").items():
            event = template.resolve(event)
            expression = event.get("Schedule") or event.get("ScheduleExpression")
            is_enabled = event.get("Enabled", True) not in (False, "false") and event.get("State") != "DISABLED"
            raw_input = event.get("Input")
            schedules.append(
                Schedule(
                    function.logical_id,
                    name,
                    parse_schedule(expression),
                    is_enabled,
                    json.loads(raw_input) if raw_input else None,
                )
            )
    return schedules


class Scheduler:
    """One thread per enabled schedule; fire() runs any schedule now."""

    def __init__(self, template: Template, invoke: Callable[[str, Any], Any]):
        self.template = template
        self.schedules = schedules_from_template(template)
        self._invoke = invoke
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for schedule in self.schedules:
            if not schedule.enabled:
                log.info("%s.%s is disabled: not scheduled", schedule.function, schedule.event_name)
                continue
            thread = threading.Thread(target=self._run, args=(schedule,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def fire(self, function: str, event_name: str | None = None) -> Any:
        """Invokes the function with its schedule's event now and returns its result."""
        for schedule in self.schedules:
            if schedule.function == function and event_name in (None, schedule.event_name):
                log.info("firing %s.%s", schedule.function, schedule.event_name)
                return self._invoke(function, schedule.payload(self.template.region, self.template.stack_name))
        raise KeyError(f"no schedule {function}{'.' + event_name if event_name else ''} in the template")

    def _run(self, schedule: Schedule) -> None:
        next_at = schedule.expression.next_after(datetime.now(UTC))
        while not self._stopping.wait((next_at - datetime.now(UTC)).total_seconds()):
            try:
                self.fire(schedule.function, schedule.event_name)
            except FunctionError as error:
                log.warning("%s.%s failed: %s", schedule.function, schedule.event_name, error)
            next_at = schedule.expression.next_after(max(next_at, datetime.now(UTC)))

    def stop(self) -> None:
        self._stopping.set()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
