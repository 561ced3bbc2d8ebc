"""make cost: what a snapshot costs in AWS, counted on the emulated stack and priced (docs/cost.md).

Drives a known workload through the emulated stack at 0 %, 50 % and 90 % cache hits: for each
snapshot a client creates it, is told it is done (it listens on the room's live channel, as the
web app does; a second line at 50 % polls the task as its Retry-After says instead) and downloads
it once (the presigned redirect, then the PDF straight from S3). Every AWS request the functions
and Lambda's pollers make is counted at the embedded endpoint by who made it (template_emulator.metering),
with DynamoDB's request units from item sizes, each invocation's duration at its template memory
size, the bytes each function logs and the HTTP API requests the client makes; infra/template_emulator/prices.toml
prices them. Prints $ per 1M snapshots
for each hit rate and the five largest cost lines, then what the scheduled cleanup costs a run.
"""

import contextlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
OWNER = "cost.owner@example.com"
SNAPSHOTS = 40  # per hit rate
HIT_RATES = (0.0, 0.5, 0.9)
WARM_UP = 3
TERMINAL = ("completed", "failed", "cancelled")
# The workload's one user creates 120 snapshots in a few minutes: the per-user limits (which
# cost the same one write per create whatever their values) are raised so none is refused.
PARAMETERS = {"SnapshotsPerMinute": 10_000, "SnapshotsPerHour": 100_000}
MILLION = 1_000_000


def announce(kind: str, extra: str = "") -> tuple[str, Path]:
    """The run's title (when, where) and the file its functions' logs go to, both told on stderr."""
    title = (
        f"Room Snapshots {kind}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: emulated stack (moto), "
        f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}{'; ' + extra if extra else ''}"
    )
    log_path = ROOT / ".local" / f"{kind}-functions.log"
    log_path.parent.mkdir(exist_ok=True)
    print(f"{title}\nfunction logs: {log_path}", file=sys.stderr)
    return title, log_path


def plan(count: int, hit_rate: float) -> list[bool]:
    """Which snapshots are cache hits (True): spread evenly, the first always a miss."""
    hits = round(count * hit_rate)
    return [index > 0 and (index * hits) // count != ((index - 1) * hits) // count for index in range(count)]


def snapshot_round_trip(api, room_id: str, title: str, channel=None) -> dict:
    """Create, be told (by the room's live channel if one is given, else by polling the task as its
    Retry-After says), download once through the presigned redirect."""
    created = api.request("POST", f"/rooms/{room_id}/snapshots", json={"title": title, "snapshot_type": "pdf"})
    assert created.status_code == 201, created.text
    snapshot = created.json()
    if channel is not None:
        [*_, done] = channel.events_until(lambda e: e["task_id"] == snapshot["task_id"] and e["status"] in TERMINAL)
        assert done["status"] == "completed", done
    else:
        wait = created.headers.get("Retry-After")
        while True:
            if wait is not None:
                time.sleep(float(wait))
            task = api.request("GET", f"/snapshots/tasks/{snapshot['task_id']}")
            assert task.status_code == 200, task.text
            if task.json()["status"] in TERMINAL:
                break
            wait = task.headers.get("Retry-After", "1")
        assert task.json()["status"] == "completed", task.text
    redirect = api.request(
        "GET", f"/rooms/{room_id}/snapshots/{snapshot['id']}/download?redirect=true", allow_redirects=False
    )
    assert redirect.status_code == 307, redirect.status_code
    pdf = requests.get(redirect.headers["Location"], timeout=30)
    assert pdf.status_code == 200, pdf.status_code
    assert pdf.content.startswith(b"%PDF")
    return snapshot


def quiet(stack, seconds: float = 1.5) -> None:
    """Lets the pollers delete what they processed before the meter is read."""
    time.sleep(seconds)


def cache_layer(stack, snapshot_id: str) -> str:
    """Read with the stack's own client, which the meter leaves out of the cost."""
    item = stack.client("dynamodb").get_item(
        TableName=stack.resources["DataTable"], Key={"PK": {"S": f"SNAP#{snapshot_id}"}, "SK": {"S": "SNAP"}}
    )["Item"]
    return item["cache_layer"]["S"]


def run_rate(stack, api, room_id: str, hit_rate: float, count: int = SNAPSHOTS, listen: bool = True) -> dict:
    """`count` snapshots at `hit_rate`, their requests counted. A listening client keeps one
    connection to the room's channel open for all of them, as an open room page does."""
    from template_emulator.metering import METER

    from tests.support import Channel

    titles, layers, last_miss = [], {}, ""
    for index, hit in enumerate(plan(count, hit_rate)):
        if not hit:
            last_miss = f"Cost check {int(hit_rate * 100)} % #{index}{'' if listen else ' polled'}"
        titles.append(last_miss)
    with contextlib.ExitStack() as sockets:
        channel = None
        METER.reset()
        if listen:
            channel = Channel(stack, api.session.headers["Authorization"].removeprefix("Bearer "), sockets)
            channel.subscribe(f"/rooms/{room_id}")
        done = [snapshot_round_trip(api, room_id, title, channel)["id"] for title in titles]
    quiet(stack)
    lines, keys = METER.lines(), METER.keys()
    for snapshot_id in done:
        layer = cache_layer(stack, snapshot_id)
        layers[layer] = layers.get(layer, 0) + 1
    return {"lines": lines, "keys": keys, "layers": layers, "count": count}


ROOM_CHANGES = 10


def room_changes(stack, api, room_id: str) -> dict:
    """What a change to a room's data writes (a document added): make capacity's room-change input."""
    from template_emulator.metering import METER

    METER.reset()
    for index in range(ROOM_CHANGES):
        api.add(room_id, "documents", {"name": f"Cargo manifest {index}", "document_type": "manifest"})
    quiet(stack, 0.5)
    return {"count": ROOM_CHANGES, "lines": METER.lines(), "keys": METER.keys()}


def write_counts(path: Path, title: str, results: dict, changes: dict) -> None:
    """The per-hit-rate counts, DynamoDB's by key pattern, for make capacity (scripts/capacity.py)."""
    from template_emulator.pricing import UNBILLED_PRINCIPALS

    from scripts.capacity import key_pattern

    def serialized(block: dict) -> dict:
        patterns: dict[tuple, dict[str, float]] = {}
        for (principal, operation, where, partition), quantities in block["keys"].items():
            entry = patterns.setdefault((principal, operation, where, key_pattern(partition)), {})
            for name, value in quantities.items():
                entry[name] = entry.get(name, 0) + value
        return {
            "lines": [[*line, q] for line, q in block["lines"].items() if line[0] not in UNBILLED_PRINCIPALS],
            "keys": [[*key, q] for key, q in patterns.items() if key[0] not in UNBILLED_PRINCIPALS],
        }

    document = {
        "title": title,
        "hit_rates": {
            str(rate): {"snapshots": result["count"], **serialized(result)} for rate, result in results.items()
        },
        "room_change": {"count": changes["count"], **serialized(changes)},
    }
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")


def per_million(amount: float, count: int = SNAPSHOTS) -> float:
    return amount / count * MILLION


def per_million_snapshots(result: dict, prices) -> float:
    """The workload's cost in $ per 1M snapshots."""
    return per_million(describe(result, prices)[0], result["count"])


def describe(result: dict, prices) -> tuple[float, list, dict]:
    from template_emulator.pricing import UNBILLED_PRINCIPALS, price_lines, total

    costed, unpriced = price_lines(result["lines"], prices)
    usage: dict[str, float] = {}
    for (principal, service, operation), quantities in result["lines"].items():
        if principal in UNBILLED_PRINCIPALS:
            continue
        for name, value in quantities.items():
            usage[f"{service}.{name}"] = usage.get(f"{service}.{name}", 0) + value
        if service == "lambda" and operation == "Invoke":
            usage[f"invocations.{principal}"] = quantities["requests"]
    return total(costed), sorted(costed, key=lambda line: -line.usd), {**usage, "unpriced": unpriced}


def kms_signs(lines: dict) -> float:
    """kms:Sign requests counted (the renderer signs each PDF it stores, once)."""
    return sum(
        q.get("requests", 0) for (_, service, operation), q in lines.items() if (service, operation) == ("kms", "Sign")
    )


def durations(lines: dict) -> dict[str, tuple[float, float, float]]:
    """(invocations, billed ms, ms its requests spent at the endpoint) per function."""
    found: dict[str, list[float]] = {}
    for (principal, service, operation), quantities in lines.items():
        if service == "lambda" and operation == "Invoke":
            entry = found.setdefault(principal, [0, 0, 0])
            entry[0] += quantities["requests"]
            entry[1] += quantities["duration_ms"]
    for (principal, service, _), quantities in lines.items():
        if principal in found and service != "lambda":
            found[principal][2] += quantities.get("server_ms", 0)
    return {name: (values[0], values[1], values[2]) for name, values in found.items()}


# One open room page for an hour, kept up to date with the room (its colleagues' snapshots too), in a room
# where this many snapshots are made an hour; without push the page must re-list to see new ones.
ROOM_SNAPSHOTS_PER_HOUR = 6
LIST_EVERY_S = 10  # the polling source's slowest pace (web/src/progress.ts MAX_DELAY_S)
BULK_STATUS_PER_SNAPSHOT = 3  # a snapshot of ~1-2 s at 1 s, then x1.5 (web/src/progress.ts)
SAMPLES = 20


def page_hour(stack, api, room_id: str, prices, events_per_snapshot: float) -> dict[str, tuple[float, str]]:
    """What one open room page costs an hour with push (AppSync Events) and with polling, from the
    measured cost of each request the page makes."""
    from template_emulator.metering import METER
    from template_emulator.pricing import price_lines, total

    from tests.support import Channel

    def measured(action) -> float:
        METER.reset()
        for _ in range(SAMPLES):
            action()
        quiet(stack, 0.5)
        lines = {line: q for line, q in METER.lines().items() if line[2] != "ConnectionMinutes"}
        return total(price_lines(lines, prices)[0]) / SAMPLES

    snapshot = snapshot_round_trip(api, room_id, "Page-hour probe")
    token = stack.mint_token(OWNER)

    def open_and_subscribe() -> None:
        with contextlib.ExitStack() as sockets:
            Channel(stack, token, sockets).subscribe(f"/rooms/{room_id}")

    per_list = measured(lambda: api.ok("GET", f"/rooms/{room_id}/snapshots?limit=20"))
    per_poll = measured(
        lambda: api.ok("POST", "/snapshots/tasks/bulk-status", json={"task_ids": [snapshot["task_id"]]})
    )
    per_session = measured(open_and_subscribe)  # connect, subscribe, the on-subscribe function's invocation and read
    minute = total(price_lines({("page", "appsync", "ConnectionMinutes"): {"minutes": 1}}, prices)[0])
    delivery = total(price_lines({("page", "appsync", "EventDelivery"): {"operations": 1}}, prices)[0])
    deliveries = ROOM_SNAPSHOTS_PER_HOUR * events_per_snapshot
    lists, polls = 3600 / LIST_EVERY_S, ROOM_SNAPSHOTS_PER_HOUR * BULK_STATUS_PER_SNAPSHOT
    push = (
        f"one connection of 60 minutes, one subscribe (${per_session * MILLION:.2f} per 1M, on-subscribe "
        f"function included), {deliveries:.0f} events delivered"
    )
    polling = (
        f"{lists:.0f} list calls (${per_list * MILLION:.2f} per 1M) and {polls} bulk-status calls "
        f"(${per_poll * MILLION:.2f} per 1M)"
    )
    return {
        "push": (per_session + 60 * minute + deliveries * delivery, push),
        "polling": (lists * per_list + polls * per_poll, polling),
        "polling, own snapshots only (a colleague's never appear)": (
            polls * per_poll,
            f"{polls} bulk-status calls",
        ),
    }


RUNS_A_MONTH = {"Every5Minutes": 30 * 24 * 12, "Daily": 30}
MONTH_S = 30 * 86_400
# SnapStart's cost is an estimate: nothing of it runs locally. A published version's snapshot is
# cached for as long as the version is live; a restore is billed for each new execution environment.
COLD_STARTS_PER_MILLION = 1_000  # assumed: one new environment per 1,000 snapshots per function


def snapstart_estimate(template, prices) -> str:
    """What SnapStart adds for the functions that use it (template.yaml), priced, NOT measured."""
    cache = next(p for p in prices if p.service == "lambda" and p.quantity == "snapstart_cache_gb_s")
    restore = next(p for p in prices if p.service == "lambda" and p.quantity == "snapstart_restore_gb")
    snapstarted = {
        lid: function.memory_size / 1024
        for lid, function in template.functions().items()
        if template.raw["Resources"][lid]["Properties"].get("SnapStart", {}).get("ApplyOn") == "PublishedVersions"
    }
    monthly = sum(gb * MONTH_S for gb in snapstarted.values()) * cache.usd / cache.per
    restores = sum(gb * COLD_STARTS_PER_MILLION for gb in snapstarted.values()) * restore.usd / restore.per
    names = ", ".join(f"{lid} {gb:g} GB" for lid, gb in snapstarted.items())
    return (
        f"\n== SnapStart, an estimate (unmeasured: nothing of it runs locally), for {names}: the cached snapshots "
        f"${monthly:.2f} a month for the live version; restores ${restores:.2f} per 1M snapshots if each function "
        f"starts {COLD_STARTS_PER_MILLION:,} new environments per 1M (not in the figures above)"
    )


def cleanup_runs(stack, prices) -> tuple[int, dict[str, tuple[float, dict]]]:
    """Each of the cleanup's schedules fired once: its cost per run and what it did."""
    from template_emulator.metering import METER
    from template_emulator.pricing import price_lines, total
    from template_emulator.runtime import FunctionError

    table = stack.client("dynamodb").describe_table(TableName=stack.resources["DataTable"])["Table"]
    runs = {}
    for schedule in RUNS_A_MONTH:
        METER.reset()
        try:
            stack.fire_schedule("CleanupFunction", schedule)
        except FunctionError as error:  # a loaded machine's emulator can miss the function's 5 s read timeout
            print(f"CleanupFunction {schedule} not measured: {error}", file=sys.stderr)
            continue
        lines = METER.lines()
        runs[schedule] = (total(price_lines(lines, prices)[0]), lines)
    return table["ItemCount"], runs


def main() -> None:
    sys.path.insert(0, str(ROOT / "layers/common/python"))
    from template_emulator.pricing import load_prices

    from scripts.local import emulate
    from tests.support import ApiClient, reference_room

    prices = load_prices()
    title, log_path = announce("cost", "us-east-1 list prices")
    started = time.monotonic()
    with (
        open(log_path, "w") as log,
        contextlib.redirect_stdout(log),
        emulate(
            port=0, start_schedules=False, parameter_overrides=PARAMETERS, stack_name="room-snapshots-cost"
        ) as stack,
    ):
        api = ApiClient(stack.base_url, stack.mint_token(OWNER))
        print("building the reference room...", file=sys.stderr)
        room_id = reference_room(api, "Cost reference STS")
        for index in range(WARM_UP):  # cold starts are not a snapshot's cost (docs/cost.md)
            snapshot_round_trip(api, room_id, f"Warm-up {index}")
        results = {}
        for hit_rate in HIT_RATES:
            print(f"{SNAPSHOTS} snapshots at {hit_rate:.0%} cache hits...", file=sys.stderr)
            results[hit_rate] = run_rate(stack, api, room_id, hit_rate)
        print(f"{SNAPSHOTS} snapshots at 50% cache hits, polled instead of listened for...", file=sys.stderr)
        polled = run_rate(stack, api, room_id, 0.5, listen=False)
        changes = room_changes(stack, api, room_id)
        write_counts(ROOT / ".local" / "cost-counts.json", title, results, changes)  # make capacity reads it
        table_items, cleanup = cleanup_runs(stack, prices)
        template = stack.template
        publishes = [
            quantities["operations"]
            for (principal, service, operation), quantities in results[0.0]["lines"].items()
            if operation == "EventPublish"
        ]
        events_per_snapshot = sum(publishes) / SNAPSHOTS
        print("one open room page, push and polling...", file=sys.stderr)
        page = page_hour(stack, api, room_id, prices, events_per_snapshot)

    runs = {**{f"{rate:.0%} cache hits": result for rate, result in results.items()}, "50% cache hits, polled": polled}
    with open(ROOT / ".local" / "cost-lines.txt", "w") as detail:  # every counted line, for a closer look
        for hit_rate, result in runs.items():
            print(f"== {hit_rate}, per snapshot", file=detail)
            for (principal, service, operation), quantities in sorted(result["lines"].items()):
                values = ", ".join(f"{name} {value / SNAPSHOTS:.3g}" for name, value in sorted(quantities.items()))
                print(f"{principal:38} {service:11} {operation:40} {values}", file=detail)
    print(title)
    print(
        "Workload: per snapshot, create + be told (listening on the room's live channel, one connection for "
        "them all; the polled line polls the task as Retry-After says) + one download (the presigned redirect, "
        f"then the PDF from S3); {SNAPSHOTS} snapshots per hit rate, one at a time, on a room of ~175 items.\n"
    )
    summary = {}
    for run, result in runs.items():
        usd, lines, usage = describe(result, prices)
        summary[run] = per_million(usd)
        layers = ", ".join(f"{layer} {count}" for layer, count in sorted(result["layers"].items()))
        print(f"== {run}: ${per_million(usd):.2f} per 1M snapshots ({layers})")
        print(
            "   per snapshot: "
            f"{usage.get('apigateway.requests', 0) / SNAPSHOTS:.2f} HTTP API requests, "
            f"{usage.get('lambda.requests', 0) / SNAPSHOTS:.2f} Lambda invocations "
            f"({usage.get('lambda.gb_s', 0) / SNAPSHOTS * 1000:.1f} GB-ms), "
            f"{usage.get('dynamodb.wru', 0) / SNAPSHOTS:.2f} + {usage.get('dynamodb.wru_index', 0) / SNAPSHOTS:.2f} "
            f"WRU (table + indexes), {usage.get('dynamodb.rru', 0) / SNAPSHOTS:.2f} RRU, "
            f"{usage.get('sqs.chunks', 0) / SNAPSHOTS:.2f} SQS requests (idle polls included), "
            f"{usage.get('logs.bytes', 0) / SNAPSHOTS:.0f} log bytes, "
            f"{usage.get('appsync.operations', 0) / SNAPSHOTS:.2f} AppSync Events operations"
        )
        signs = kms_signs(result["lines"])
        sign_usd = sum(line.usd for line in lines if line.service == "kms" and line.operation == "Sign")
        print(
            f"   KMS Sign requests (one per PDF signed, counted against KMS's shared request quota): "
            f"{per_million(signs, result['count']):,.0f} per 1M snapshots, ${per_million(sign_usd):.2f}"
        )
        if usage["unpriced"]:
            print(f"   counted but not in the price table: {', '.join(usage['unpriced'])}")
        print("   top five cost lines ($ per 1M snapshots):")
        for line in [line for line in lines if not line.price.excluded_from_total][:5]:
            share = line.usd / usd * 100 if usd else 0
            print(
                f"     {per_million(line.usd):7.3f}  {share:4.1f} %  {line.label} ({line.amount / SNAPSHOTS:.3g} each)"
            )
        print("   by service ($ per 1M snapshots):")
        by_service: dict[str, float] = {}
        for line in lines:
            if not line.price.excluded_from_total:
                by_service[line.service] = by_service.get(line.service, 0) + line.usd
        print(
            "     "
            + ", ".join(
                f"{service} {per_million(v):.2f}" for service, v in sorted(by_service.items(), key=lambda kv: -kv[1])
            )
        )
        excluded: dict[str, float] = {}
        for line in lines:
            if line.price.excluded_from_total:
                excluded[line.price.what] = excluded.get(line.price.what, 0) + line.usd
        for what, usd_excluded in excluded.items():
            print(f"   not in the figure: {what}: ${per_million(usd_excluded):.2f} per 1M snapshots")
        print("   duration per invocation, and of it the time its AWS requests took at the local endpoint:")
        for function, (invocations, duration_ms, waited_ms) in sorted(durations(result["lines"]).items()):
            each, waited = duration_ms / invocations, waited_ms / invocations
            print(f"     {function}: {each:.1f} ms, of which {waited:.1f} ms in AWS calls")
        duration_usd = sum(line.usd for line in lines if line.quantity == "gb_s")
        print(f"   of the figure, Lambda duration (measured here, the noisiest part): ${per_million(duration_usd):.2f}")
        print()
    for schedule, (usd, lines) in cleanup.items():
        print(
            f"CleanupFunction {schedule}, one run over {table_items} items: ${usd * 1000:.4f} per 1000 runs; "
            f"{RUNS_A_MONTH[schedule]} runs a month: ${usd * RUNS_A_MONTH[schedule]:.4f} a month at this size"
        )
        for (principal, service, operation), quantities in sorted(lines.items()):
            if principal == "CleanupFunction" and service in ("dynamodb", "s3", "sqs"):
                counts = ", ".join(f"{k} {quantities[k]:g}" for k in ("requests", "rru", "wru") if k in quantities)
                print(f"   {service} {operation}: {counts}")
    print(
        f"\n== one open room page for an hour, kept up with the room ({ROOM_SNAPSHOTS_PER_HOUR} snapshots an hour, "
        f"{events_per_snapshot:.2f} live events each as counted at 0 % hits)"
    )
    for source, (usd, what) in page.items():
        print(f"   {source}: ${usd * MILLION:.2f} per 1M page-hours: {what}")
    print(f"   polling / push: {page['polling'][0] / page['push'][0]:.1f}x")
    print(snapstart_estimate(template, prices))
    elapsed = time.monotonic() - started
    print(
        f"\n$ per 1M snapshots at 50 % cache hits: ${summary['50% cache hits']:.2f} listening, "
        f"${summary['50% cache hits, polled']:.2f} polling (target <= $15.00). Run time {elapsed:.0f} s."
    )


if __name__ == "__main__":
    main()
