"""make capacity: what breaks first at 100, 1,000 and 10,000 snapshots a second (docs/capacity.md).

Scale is reasoned, not run: the emulator's DynamoDB is one process on two shared cores. The model
takes the per-snapshot request counts that `make cost` measured (.local/cost-counts.json: per
function, per AWS operation, and DynamoDB's units per partition key pattern of the table and of each
index), multiplies them by a load, spreads what falls on keys of one room, one user or one PDF by
how popular rooms and users are (Zipf), and holds every figure against AWS's documented quotas
(scripts/aws_quotas.toml) and against the template's own settings (its HTTP API throttle, the
renderer's maximum concurrency, the notifier's parallelization), read from template.yaml.

For each load it prints each limit's utilization, the first one to break, the template settings
the load needs, and the quota requests a deployment must make. Everything here is linear in the
load except the keys of one room or one user, which the per-user create limits cap; so the load at
which a limit breaks is found by bisection, not extrapolated.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COUNTS = ROOT / ".local" / "cost-counts.json"
QUOTAS = Path(__file__).with_name("aws_quotas.toml")
TEMPLATE = ROOT / "template.yaml"
LOADS = (100, 1_000, 10_000)
HEADROOM = 1.5  # settings are recommended at this multiple of the steady need

# ---------------------------------------------------------------------- key patterns

# Concrete key values become patterns by the shape of their variable parts; the application's
# prefixes then say what decides how many keys share a pattern's load.
SHAPES = (
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}"), "<hour>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<day>"),
    (re.compile(r"msg_[0-9a-f]{32}"), "<message>"),
    (re.compile(r"[0-9a-f]{64}"), "<hash>"),
    (re.compile(r"(?<![0-9a-z])[0-9a-hjkmnp-tv-z]{26}(?![0-9a-z])"), "<id>"),
    (re.compile(r"[^#\s@]+@[^#\s@]+"), "<user>"),
    (re.compile(r"#\d+$"), "#<shard>"),
)
# Written per API container and minute, not per snapshot: the model derives them from concurrency.
MODELED_APART = ("APISTATS#",)
ROOM_SCOPED = {"ROOM", "ROOMLOG", "ROOMSNAPS", "ROOMCHANGES", "ROOMHOOKS", "HOOKLOG"}
CONTENT_SCOPED = {"PDF", "CONTENT"}  # a PDF and its content key belong to one room's content


def key_pattern(value: str) -> str:
    """ROOM#01m9... -> ROOM#<id>, LIMIT#ana@example.com -> LIMIT#<user>, ACTIVE#7 -> ACTIVE#<shard>."""
    for shape, name in SHAPES:
        value = shape.sub(name, value)
    return value


def scope_of(pattern: str) -> str:
    """What spreads a pattern over keys: one key for all ("one"), a fixed number of shards
    ("shards"), a room's or a user's popularity ("room", "user"), or a key per snapshot or request
    ("unique")."""
    prefix = pattern.split("#", 1)[0]
    if pattern.endswith("#<shard>"):
        return "shards"
    if "<user>" in pattern:
        return "user"
    if prefix in ROOM_SCOPED or prefix in CONTENT_SCOPED:
        return "room"
    if any(variable in pattern for variable in ("<id>", "<hash>", "<message>")):
        return "unique"
    return "one"


def application_shards() -> dict[str, int]:
    """How many shards each sharded prefix has, from the application's own constants."""
    sys.path.insert(0, str(ROOT / "layers" / "common" / "python"))
    from roomsnap.dal.generation_log import GENERATION_SHARDS
    from roomsnap.dal.rooms import ROOM_SHARDS
    from roomsnap.dal.snapshots import ACTIVE_SHARDS

    return {"ACTIVE": ACTIVE_SHARDS, "GEN": GENERATION_SHARDS, "ROOMS": ROOM_SHARDS}


# ---------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Quota:
    name: str
    value: float
    unit: str
    adjustable: bool
    source: str
    read_on: str
    confirmed: bool = True


def load_quotas(path: Path = QUOTAS) -> dict[str, Quota]:
    with open(path, "rb") as file:
        entries = tomllib.load(file)["quota"]
    return {
        entry["name"]: Quota(
            entry["name"],
            float(entry["value"]),
            entry["unit"],
            entry["adjustable"],
            entry["source"],
            entry["read_on"],
            entry.get("confirmed", True),
        )
        for entry in entries
    }


@dataclass(frozen=True)
class Settings:
    """The template's settings the model holds loads against and tells how to set."""

    api_rate: float
    api_burst: float
    renderer_max_concurrency: int
    renderer_batch: int
    notifier_batch: int
    notifier_parallelization: int
    per_user_per_minute: int
    per_user_per_hour: int


def template_settings(path: Path = TEMPLATE) -> Settings:
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse(path.read_text(encoding="utf-8"))
    resources, parameters = template["Resources"], template["Parameters"]
    throttle = resources["HttpApi"]["Properties"]["DefaultRouteSettings"]
    queue = resources["RendererFunction"]["Properties"]["Events"]["RenderQueue"]["Properties"]
    stream = resources["NotifierFunction"]["Properties"]["Events"]["TableStream"]["Properties"]
    return Settings(
        api_rate=float(throttle["ThrottlingRateLimit"]),
        api_burst=float(throttle["ThrottlingBurstLimit"]),
        renderer_max_concurrency=int(queue["ScalingConfig"]["MaximumConcurrency"]),
        renderer_batch=int(queue["BatchSize"]),
        notifier_batch=int(stream["BatchSize"]),
        notifier_parallelization=int(stream.get("ParallelizationFactor", 1)),
        per_user_per_minute=int(parameters["SnapshotsPerMinute"]["Default"]),
        per_user_per_hour=int(parameters["SnapshotsPerHour"]["Default"]),
    )


@dataclass(frozen=True)
class Traffic:
    """What real traffic looks like beyond one client making one snapshot at a time."""

    rooms: int = 50_000  # rooms with snapshots in a day
    room_skew: float = 1.1  # Zipf exponent of room popularity
    parties_per_room: int = 20
    users: int = 200_000
    user_skew: float = 1.1
    open_pages_per_room: float = 2.0  # room pages open at once on an active room (live channel)
    room_changes_per_snapshot: float = 1.0  # changes to room data for each snapshot made
    api_routes_per_flush: int = 3  # (route, status class) rows an API container flushes a minute


@dataclass
class PerSnapshot:
    """One snapshot's requests, as make cost counted them (totals divided by the snapshots)."""

    lines: dict[tuple[str, str, str], dict[str, float]]  # (principal, service, operation) -> quantities
    keys: dict[tuple[str, str], dict[str, float]]  # (where, pattern) -> wru, rru, requests
    room_change_keys: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)  # per change

    def total(self, service: str, quantity: str, operation: str | None = None, principal: str | None = None) -> float:
        return sum(
            q.get(quantity, 0.0)
            for (who, svc, op), q in self.lines.items()
            if svc == service and (operation is None or op == operation) and (principal is None or who == principal)
        )

    def function_ms(self, aws_call_ms: float | None = None) -> dict[str, float]:
        """Billed milliseconds of each function per snapshot (what concurrency is made of): as
        measured, or with the time its AWS requests took at the emulator replaced by `aws_call_ms`
        a request (the emulator's DynamoDB answers in tens of milliseconds what AWS answers in a few)."""
        measured = {
            who: q.get("duration_ms", 0.0)
            for (who, svc, op), q in self.lines.items()
            if (svc, op) == ("lambda", "Invoke")
        }
        if aws_call_ms is None:
            return measured
        for (who, svc, _), q in self.lines.items():
            if who in measured and svc != "lambda" and "server_ms" in q:
                measured[who] += q.get("requests", 0) * aws_call_ms - q["server_ms"]
        return {who: max(ms, 0.0) for who, ms in measured.items()}


def per_snapshot(block: dict[str, Any], room_change: dict[str, Any] | None = None) -> PerSnapshot:
    count = block["snapshots"]
    lines = {(p, s, o): {k: v / count for k, v in q.items()} for p, s, o, q in block["lines"]}
    keys: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for _principal, _operation, where, pattern, quantities in block["keys"]:
        if pattern.startswith(MODELED_APART):
            continue
        for name, value in quantities.items():
            keys[(where, pattern)][name] += value / count
    changes: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    if room_change:
        for _principal, _operation, where, pattern, quantities in room_change["keys"]:
            for name, value in quantities.items():
                changes[(where, pattern)][name] += value / room_change["count"]
    return PerSnapshot(lines, {k: dict(v) for k, v in keys.items()}, {k: dict(v) for k, v in changes.items()})


# ---------------------------------------------------------------------- the model


def zipf_top_share(count: int, skew: float) -> float:
    """The most popular item's share of all traffic under Zipf's law over `count` items."""
    return 1 / sum(rank**-skew for rank in range(1, count + 1))


@dataclass(frozen=True)
class Limit:
    key: str  # stable across loads (the name may carry figures of the load)
    name: str
    needed: float
    available: float
    unit: str
    kind: str  # "quota" (AWS's, adjustable or not), "setting" (the template's), "design" (not adjustable)
    setting: str = ""  # the template setting, or the quota request, this limit is lifted by
    confirmed: bool = True

    @property
    def utilization(self) -> float:
        return self.needed / self.available if self.available else math.inf


class Model:
    def __init__(
        self,
        counts: PerSnapshot,
        quotas: dict[str, Quota],
        settings: Settings,
        traffic: Traffic,
        shards: dict[str, int],
        aws_call_ms: float | None = None,
    ):
        self.aws_call_ms = aws_call_ms
        self.counts = counts
        self.quotas = quotas
        self.settings = settings
        self.traffic = traffic
        self.shards = shards

    # -------------------------------------------------------------- traffic shape

    def hottest_room_rate(self, load: float) -> float:
        """Snapshots a second of the busiest room: its Zipf share, but no more than its parties'
        per-user burst limits allow."""
        capped = self.traffic.parties_per_room * self.settings.per_user_per_minute / 60
        return min(load * zipf_top_share(self.traffic.rooms, self.traffic.room_skew), capped)

    def hottest_user_rate(self, load: float) -> float:
        capped = self.settings.per_user_per_minute / 60
        return min(load * zipf_top_share(self.traffic.users, self.traffic.user_skew), capped)

    def key_rate(self, pattern: str, load: float) -> float:
        """Snapshots a second whose requests fall on the busiest concrete key of `pattern`."""
        scope = scope_of(pattern)
        if scope == "one":
            return load
        if scope == "shards":
            return load / self.shards.get(pattern.split("#", 1)[0], 1)
        if scope == "room":
            return self.hottest_room_rate(load)
        if scope == "user":
            return self.hottest_user_rate(load)
        return min(load, 1.0)  # a snapshot's own items: written a few times over its life

    # -------------------------------------------------------------- limits at a load

    def concurrency(self, load: float) -> dict[str, float]:
        return {function: load * ms / 1000 for function, ms in self.counts.function_ms(self.aws_call_ms).items()}

    def table_wcu(self, load: float) -> float:
        per_snapshot = sum(q.get("wru", 0) for (where, _), q in self.counts.keys.items() if where == "table")
        per_change = sum(q.get("wru", 0) for (where, _), q in self.counts.room_change_keys.items() if where == "table")
        return load * (per_snapshot + self.traffic.room_changes_per_snapshot * per_change)

    def stream_shards(self, load: float) -> int:
        """A table's stream has a shard per partition, and a partition takes 1,000 writes a second."""
        return max(1, math.ceil(self.table_wcu(load) / self.quotas["dynamodb.stream_shard_wps"].value))

    def limits(self, load: float) -> list[Limit]:
        q, s, counts = self.quotas, self.settings, self.counts
        found: list[Limit] = []

        def add(
            key: str, needed: float, available: float, unit: str, kind: str, setting: str = "", name: str = ""
        ) -> None:
            found.append(Limit(key, name or key, needed, available, unit, kind, setting))

        def quota(key: str, quota_name: str, needed: float) -> None:
            entry = q[quota_name]
            kind = "quota" if entry.adjustable else "design"
            setting = "quota request" if entry.adjustable else ""
            found.append(Limit(key, key, needed, entry.value, entry.unit, kind, setting, entry.confirmed))

        concurrency = self.concurrency(load)
        renderer, notifier = concurrency.get("RendererFunction", 0.0), concurrency.get("NotifierFunction", 0.0)
        shards = self.stream_shards(load)
        rps = load * counts.total("apigateway", "requests")
        # Lambda
        quota("Lambda concurrency (account)", "lambda.concurrent_executions", sum(concurrency.values()))
        add(
            "RendererFunction MaximumConcurrency",
            renderer,
            s.renderer_max_concurrency,
            "renders",
            "setting",
            "MaximumConcurrency",
        )
        quota("RendererFunction SQS mapping ceiling", "lambda.sqs_maximum_concurrency", renderer)
        parallel = s.notifier_parallelization
        add(
            "NotifierFunction stream shards x ParallelizationFactor",
            notifier,
            shards * parallel,
            "batches",
            "setting",
            "ParallelizationFactor",
            f"NotifierFunction stream ({shards} shards x ParallelizationFactor {parallel})",
        )
        ceiling = q["lambda.stream_parallelization_factor"].value
        add("NotifierFunction stream at ParallelizationFactor 10", notifier, shards * ceiling, "batches", "design")
        # HTTP API
        add("HTTP API stage throttle", rps, s.api_rate, "requests/s", "setting", "ThrottlingRateLimit")
        quota("HTTP API account throttle", "apigateway.account_rps", rps)
        # DynamoDB: the table, and the busiest key of every pattern of the table and of each index
        add(
            "DynamoDB table writes",
            self.table_wcu(load),
            q["dynamodb.table_wru"].value,
            "WRU/s",
            "quota",
            "quota request",
        )
        reads = load * sum(v.get("rru", 0) for (where, _), v in counts.keys.items() if where == "table")
        add("DynamoDB table reads", reads, q["dynamodb.table_rru"].value, "RRU/s", "quota", "quota request")
        for (where, pattern), units in sorted({**counts.keys, **self._room_change_patterns()}.items()):
            rate = self.key_rate(pattern, load)
            label = f"DynamoDB key {pattern}" + ("" if where == "table" else f" ({where})")
            if units.get("wru"):
                add(label + " writes", rate * units["wru"], q["dynamodb.partition_wcu"].value, "WCU/s", "design")
            if units.get("rru"):
                add(label + " reads", rate * units["rru"], q["dynamodb.partition_rcu"].value, "RCU/s", "design")
        flushes = concurrency.get("ApiFunction", 0.0) * self.traffic.api_routes_per_flush / 60
        add(
            "DynamoDB key APISTATS#<day> writes (API containers' flushes)",
            flushes,
            q["dynamodb.partition_wcu"].value,
            "WCU/s",
            "design",
        )
        # S3: every PDF is under one prefix, pdf/, which S3 partitions as it grows busy
        quota("S3 PUT on pdf/", "s3.prefix_put_rps", load * counts.total("s3", "requests", "PutObject"))
        gets = counts.total("s3", "requests", "GetObject") + counts.total("s3", "requests", "HeadObject")
        quota("S3 GET on pdf/", "s3.prefix_get_rps", load * gets)
        # KMS: the signing of every rendered PDF shares the account's ECC quota
        quota("KMS Sign (ECC keys, shared)", "kms.ecc_rps", load * counts.total("kms", "requests", "Sign"))
        quota("SQS render messages in flight", "sqs.in_flight", renderer * s.renderer_batch)
        # AppSync Events
        publishes = load * counts.total("appsync", "operations", "EventPublish")
        quota("AppSync Events publishes", "appsync_events.inbound_rps", publishes)
        quota(
            "AppSync Events messages out", "appsync_events.outbound_rps", publishes * self.traffic.open_pages_per_room
        )
        rooms_open = min(self.traffic.rooms, load * 3600)  # rooms with a snapshot within the hour
        quota("AppSync Events connections", "appsync_events.connections", rooms_open * self.traffic.open_pages_per_room)
        return found

    def _room_change_patterns(self) -> dict[tuple[str, str], dict[str, float]]:
        """The room changes' keys, per snapshot (room_changes_per_snapshot changes each)."""
        factor = self.traffic.room_changes_per_snapshot
        return {
            key: {n: v * factor for n, v in units.items()}
            for key, units in self.counts.room_change_keys.items()
            if key not in self.counts.keys
        }

    def break_load(self, key: str, upper: float = 1e7) -> float | None:
        """The lowest load at which the limit `key` reaches 100 % (None if not below `upper`)."""

        def over(load: float) -> bool:
            return next(limit for limit in self.limits(load) if limit.key == key).utilization >= 1

        if not over(upper):
            return None
        low, high = 0.01, upper
        while high / low > 1.01:
            middle = math.sqrt(low * high)
            low, high = (low, middle) if over(middle) else (middle, high)
        return high

    def settings_for(self, load: float) -> dict[str, str]:
        """The template settings this load needs (with HEADROOM), and whether AWS allows them."""
        concurrency = self.concurrency(load)
        rps = load * self.counts.total("apigateway", "requests")
        shards = self.stream_shards(load)
        rate = math.ceil(rps * HEADROOM)
        renderer = math.ceil(concurrency.get("RendererFunction", 0) * HEADROOM)
        parallelization = math.ceil(concurrency.get("NotifierFunction", 0) * HEADROOM / shards)
        return {
            "ThrottlingRateLimit / ThrottlingBurstLimit": f"{rate} / {2 * rate}"
            + (
                " (above the account's 10,000: a quota request)"
                if rate > self.quotas["apigateway.account_rps"].value
                else ""
            ),
            "RendererFunction MaximumConcurrency": f"{max(2, renderer)}"
            + (" (above 1,000: not possible on one queue)" if renderer > 1000 else ""),
            "NotifierFunction ParallelizationFactor": f"{max(1, parallelization)}"
            + (" (above 10: not possible)" if parallelization > 10 else ""),
        }


# ---------------------------------------------------------------------- report


def as_before_sharding(counts: PerSnapshot) -> PerSnapshot:
    """The same requests with the unfinished-task index and the rooms' index entries under the one
    key each had before they were sharded (make capacity --before; the generation log's 4 shards of
    then are the caller's)."""

    def unsharded(keys: dict[tuple[str, str], dict[str, float]]) -> dict[tuple[str, str], dict[str, float]]:
        merged: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for (where, pattern), units in keys.items():
            pattern = {"ACTIVE#<shard>": "ACTIVE", "ROOMS#<shard>": "ROOMS"}.get(pattern, pattern)
            for name, value in units.items():
                merged[(where, pattern)][name] += value
        return {k: dict(v) for k, v in merged.items()}

    return replace(counts, keys=unsharded(counts.keys), room_change_keys=unsharded(counts.room_change_keys))


def report(model: Model, loads: tuple[int, ...] = LOADS, title: str = "") -> str:
    out = [title] if title else []
    t, s = model.traffic, model.settings
    out.append(
        f"Traffic: rooms Zipf s={t.room_skew} over {t.rooms:,} rooms of {t.parties_per_room} parties, users Zipf "
        f"s={t.user_skew} over {t.users:,} (each at most {s.per_user_per_minute}/min, {s.per_user_per_hour}/h), "
        f"{t.open_pages_per_room:g} open pages per active room, {t.room_changes_per_snapshot:g} room change per "
        "snapshot. "
        f"Template: HTTP API {s.api_rate:g} rps (burst {s.api_burst:g}), renderer MaximumConcurrency "
        f"{s.renderer_max_concurrency}, batch {s.renderer_batch}, notifier batch {s.notifier_batch} x "
        f"ParallelizationFactor {s.notifier_parallelization}."
    )
    out.append("Per snapshot (make cost's counts), by principal: AWS requests by operation; function milliseconds")
    by_principal: dict[str, list[str]] = defaultdict(list)
    for (principal, service, operation), quantities in sorted(model.counts.lines.items()):
        if service in ("lambda", "logs") or not quantities.get("requests", quantities.get("operations")):
            continue
        by_principal[principal].append(f"{operation} {quantities.get('requests', quantities.get('operations', 0)):.2f}")
    milliseconds = model.counts.function_ms(model.aws_call_ms)
    for principal, operations in by_principal.items():
        spent = f" ({milliseconds[principal]:.0f} ms)" if principal in milliseconds else ""
        out.append(f"   {principal}{spent}: {', '.join(operations)}")
    first_breaks: dict[str, None] = {}
    for load in loads:
        limits = sorted(model.limits(load), key=lambda limit: -limit.utilization)
        out.append(f"\n== {load:,} snapshots/s")
        out.append(f"   {'limit':72} {'needed':>11} {'available':>11}   use  kind")
        for limit in limits:
            if limit.utilization < 0.01 and limit.kind == "design" and limit.name.startswith("DynamoDB key"):
                continue  # keys far from any limit (a snapshot's own items)
            mark = " !" if limit.utilization >= 1 else "  "
            kind = limit.kind + ("" if limit.confirmed else ", quota NOT CONFIRMED")
            out.append(
                f" {mark}{limit.name[:72]:72} {limit.needed:11,.1f} {limit.available:11,.0f} {limit.utilization:5.0%}"
                f"  {kind}"
            )
        broken = [limit for limit in limits if limit.utilization >= 1]
        if broken:
            first = broken[0]
            out.append(
                f"   first to break: {first.name} ({first.utilization:.0%}; "
                f"lifted by: {first.setting or 'a design change'})"
            )
        else:
            out.append("   nothing breaks")
        aws = [limit for limit in broken if limit.kind != "setting"]
        if aws and aws[0] is not broken[0]:
            first_aws = f"{aws[0].name} ({aws[0].utilization:.0%})"
            out.append(f"   first AWS limit once the template's settings are raised: {first_aws}")
        requests = sorted({limit.name for limit in broken if limit.kind == "quota"})
        if requests:
            out.append("   quota requests to make: " + "; ".join(requests))
        designs = sorted({limit.name for limit in broken if limit.kind == "design"})
        if designs:
            out.append("   not adjustable (a design change): " + "; ".join(designs))
        settings = model.settings_for(load)
        out.append("   template settings for this load: " + "; ".join(f"{k} {v}" for k, v in settings.items()))
        for limit in limits:
            first_breaks.setdefault(limit.key, None)
    out.append("\n== where each limit breaks (snapshots/s, with the template's settings as they are)")
    found = sorted((at, key) for key in first_breaks if (at := model.break_load(key)) is not None)
    for at, key in found[:15]:
        out.append(f"   {at:12,.0f}  {key}")
    out.append("\n== AWS's quotas used (scripts/aws_quotas.toml)")
    for quota in model.quotas.values():
        confirmed = "" if quota.confirmed else " [NOT CONFIRMED]"
        out.append(f"   {quota.name}: {quota.value:,.0f} {quota.unit.split(' — ')[0]}{confirmed}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=Path, default=COUNTS, help="make cost's per-snapshot counts")
    parser.add_argument("--hit-rate", default="0.5", help="which of make cost's hit rates (0.0, 0.5, 0.9)")
    parser.add_argument("--before", action="store_true", help="as before the unfinished-task index was sharded")
    parser.add_argument("--rooms", type=int, default=Traffic.rooms)
    parser.add_argument("--open-pages", type=float, default=Traffic.open_pages_per_room)
    parser.add_argument(
        "--aws-call-ms",
        type=float,
        help="replace the time functions spent in the emulator's AWS calls by this much per request",
    )
    arguments = parser.parse_args()
    if not arguments.counts.exists():
        sys.exit(f"{arguments.counts} is missing: run make cost first (it measures what make capacity reads)")
    measured = json.loads(arguments.counts.read_text(encoding="utf-8"))
    counts = per_snapshot(measured["hit_rates"][arguments.hit_rate], measured.get("room_change"))
    shards = application_shards()
    if arguments.before:
        counts, shards = as_before_sharding(counts), {**shards, "GEN": 4}
    traffic = Traffic(rooms=arguments.rooms, open_pages_per_room=arguments.open_pages)
    model = Model(counts, load_quotas(), template_settings(), traffic, shards, arguments.aws_call_ms)
    read_on = max(quota.read_on for quota in model.quotas.values())
    durations = "as measured" if arguments.aws_call_ms is None else f"with {arguments.aws_call_ms:g} ms per AWS call"
    title = (
        f"Room Snapshots capacity{' (as before the sharding)' if arguments.before else ''}: the counts of "
        f"{measured['title'].split(': ')[0]} at {float(arguments.hit_rate):.0%} hits, function durations "
        f"{durations}; AWS quotas read {read_on}"
    )
    print(report(model, title=title))


if __name__ == "__main__":
    main()
