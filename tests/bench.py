"""make bench: how the service performs, measured in one run on the local stack.

Prints one table (measure | value | target | verdict), then the same table as Markdown. It measures
and prints; it asserts no timings. The functions' code runs in subprocesses started with the
function's own Lambda environment and sys.path (as infra.runtime starts its workers), so imports,
memory and handler latency are the function's alone: `python tests/bench.py child <name>` runs one
such helper. Only the standard library is imported at module level, for those helpers' sake.
"""

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWNER = "bench.owner@example.com"
API_CALLS, API_WARMUP, API_ROUND = 300, 30, 25  # the bench queue is drained after every round
RENDERS = 100
CACHE_RUNS = 30
BURST, BURST_ROOMS, CLIENT_THREADS = 200, 20, 4
IMPORT_RUNS = 5
L1_MB = 64
# Copied from the render queue to the API helper's own queue (see measure_api).
QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "SqsManagedSseEnabled",
    "RedrivePolicy",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
)
IMPORT_PROBE = (
    "import sys, time; sys.path[:0] = sys.argv[1:]; started = time.perf_counter(); import handler; "
    "print((time.perf_counter() - started) * 1000)"
)


def p50(values):
    return statistics.median(values)


def p99(values):
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def ms(seconds_list):
    return [s * 1000 for s in seconds_list]


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not ru_maxrss: a child spawned by a large parent
    starts with the parent's peak in it."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------------- the bare ReportLab baseline


def plain_platypus(content) -> bytes:
    """The same content through plain ReportLab platypus with the same TTF font (registered by
    report.py): a title, the room's lines, and per section a heading and a table of plain strings
    with a repeated header row and a grid. No fallback fonts, no escaping, no wrapping of long
    values, no highlights, no "Page X of Y": the limit render_report can approach."""
    from io import BytesIO

    from reportlab.lib.colors import HexColor, white
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    font, bold = "DejaVuSans", "DejaVuSans-Bold"
    title, text = ParagraphStyle("t", fontName=bold, fontSize=16, leading=20), ParagraphStyle("b", fontName=font)
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 8, 9.6),
            ("FONT", (0, 0), (-1, 0), bold, 8, 9.6),
            ("TEXTCOLOR", (0, 0), (-1, 0), white),
            ("BACKGROUND", (0, 0), (-1, 0), HexColor("#27415e")),
            ("GRID", (0, 0), (-1, -1), 0.25, HexColor("#b8c2cc")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    room = content.room
    story = [
        Paragraph(content.title, title),
        Paragraph(room.title, title),
        Paragraph(f"Location: {room.location}", text),
        Paragraph(f"Operation time: {room.operation_time}", text),
        Paragraph(f"Data as of {room.data_as_of} · Expiry checked on {content.expiry_checked_on}", text),
    ]
    sections = [
        ("Parties", [[p.email, p.company, p.role.value] for p in content.parties]),
        ("Vessels", [[v.name, v.imo, v.vessel_type, v.flag] for v in content.vessels]),
        (
            "Documents",
            [
                [d.name, d.document_type, d.vessel_imo or "—", d.status.value, str(d.expires_on or "—")]
                for d in content.documents or []
            ],
        ),
        ("Approvals", [[a.status.value, a.by, a.at, a.comment] for a in content.approvals or []]),
        ("Activity", [[a.at, a.actor, a.action, a.detail] for a in content.activity or []]),
    ]
    width = A4[0] - 30 * mm
    for name, rows in sections:
        story.append(Paragraph(f"{name} ({len(rows)})", title))
        if rows:
            columns = len(rows[0])
            story.append(Table([[f"Column {i}" for i in range(columns)], *rows], colWidths=[width / columns] * columns,
                               repeatRows=1, style=style))
    buffer = BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                      bottomMargin=15 * mm, invariant=1).build(story)
    return buffer.getvalue()


# ---------------------------------------------------------------------- helpers in a function's process


def run_in_function(stack, logical_id: str, name: str, job: dict, overrides: dict | None = None) -> dict:
    """Runs child_<name>(job) in a new process with the function's environment; returns its JSON result."""
    from infra.runtime import lambda_environment

    function = stack.template.functions()[logical_id]
    environment = lambda_environment(function, stack.endpoint.environment(), overrides or {})
    paths = [str(function.code_dir), *map(str, function.layer_dirs)]
    done = subprocess.run(
        [sys.executable, __file__, "child", name],
        input=json.dumps({"paths": paths, **job}),
        capture_output=True,
        text=True,
        cwd=function.code_dir,
        env=environment,
    )
    if done.returncode:
        raise RuntimeError(f"{logical_id} helper {name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def child() -> None:
    job = json.loads(sys.stdin.read())
    sys.path[0:1] = job["paths"]  # the code directory and the layers replace this script's directory
    sys.path.append(str(ROOT))  # for infra.worker.LambdaContext only
    result = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the function's own logs (stdout) are not the result
    result.write(json.dumps(globals()[f"child_{sys.argv[2]}"](job)))
    result.close()


def child_api(job: dict) -> dict:
    """The create handler, call by call, interleaved with the bare PutItem + SendMessage pair."""
    from roomsnap.dal.clients import client
    from roomsnap.ids import new_id

    import handler
    from infra.worker import LambdaContext

    dynamodb, sqs = client("dynamodb"), client("sqs")
    table, queue = os.environ["TABLE_NAME"], os.environ["RENDER_QUEUE_URL"]
    function_arn = (
        f"arn:aws:lambda:{os.environ['AWS_REGION']}:123456789012:function:{os.environ['AWS_LAMBDA_FUNCTION_NAME']}"
    )
    body = ""

    def create() -> None:
        nonlocal body
        context = LambdaContext(
            {"invoked_function_arn": function_arn, "request_id": new_id(), "deadline_ms": (time.time() + 10) * 1000}
        )
        response = handler.lambda_handler(job["event"], context)
        assert response["statusCode"] == 201, response
        body = response["body"]

    def bare_pair() -> None:
        snapshot_id = new_id()
        dynamodb.put_item(
            TableName=table, Item={"PK": {"S": f"BENCH#{snapshot_id}"}, "SK": {"S": "BENCH"}, "data": {"S": body}}
        )
        sqs.send_message(
            QueueUrl=queue,
            MessageBody=json.dumps({"snapshot_id": snapshot_id, "room_id": job["room_id"]}),
            MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": "bench"}},
        )

    def drain() -> None:
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
            sqs.delete_message_batch(
                QueueUrl=queue,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(messages)
                ],
            )

    timings = {"handler": [], "aws_calls": []}
    for done in range(API_WARMUP + API_CALLS):
        for name, call in (("handler", create), ("aws_calls", bare_pair)):
            started = time.perf_counter()
            call()
            if done >= API_WARMUP:
                timings[name].append(time.perf_counter() - started)
        if done % API_ROUND == API_ROUND - 1:
            drain()
    return timings


def child_renderer(job: dict) -> dict:
    """Render time, SnapshotRenderer.process by cache layer, then the peak RSS with the L1 full."""
    from roomsnap.hashing import content_hash
    from roomsnap.ids import new_id
    from roomsnap.models import Activity, Snapshot, utc_now

    import handler
    from render_logic.cache import ByteBoundedLRU
    from render_logic.content import gather
    from report import render_report

    rss_after_import = peak_rss_mb()
    renderer, room_id = handler.renderer, job["room_id"]

    def new_snapshot(title: str, store: bool = True) -> Snapshot:
        snapshot = Snapshot(id=new_id(), room_id=room_id, title=title, created_by=OWNER, created_at=utc_now())
        if store:
            audit = Activity(
                id=new_id(),
                at=snapshot.created_at,
                actor=OWNER,
                action="snapshot.created",
                detail=snapshot.id,
                category="audit",
            )
            renderer.snapshots.create(snapshot, audit)
        return snapshot

    content, _ = gather(renderer.rooms, new_snapshot("Render check", store=False), date.today())
    render_times = []
    for done in range(5 + RENDERS):
        started = time.perf_counter()
        render_report(content)
        if done >= 5:
            render_times.append(time.perf_counter() - started)

    gather_times = []

    def process(title: str, fresh_l1: bool) -> tuple[float, str]:
        if fresh_l1:  # a container that has not seen it: nothing in L1, no content keys in memory
            renderer.memory = ByteBoundedLRU(L1_MB * 1024 * 1024)
            renderer.known_hashes = {}
        snapshot = new_snapshot(title)
        started = time.perf_counter()
        outcome = renderer.process(snapshot.id, datetime.now(UTC), lease_seconds=30)
        elapsed = time.perf_counter() - started
        gather_times.append(outcome.snapshot.timings.gather_ms / 1000)
        return elapsed, outcome.cache_layer

    layers = {"rendered": [], "s3": [], "memory": []}
    for done in range(3 + CACHE_RUNS):
        title = f"Cache check {new_id()}"  # a new title, so new content and a new hash
        for expected, fresh_l1 in (("rendered", True), ("s3", True), ("memory", False)):
            elapsed, layer = process(title, fresh_l1)
            assert layer == expected, (expected, layer)
            if done >= 3:
                layers[layer].append(elapsed)

    # Peak memory: the burst's worth of distinct renders into the L1, then real PDF bytes up to its bound.
    memory = renderer.memory
    pdf = b""
    for index in range(BURST):
        distinct = content.model_copy(update={"title": f"Burst {index}"})
        pdf = render_report(distinct)
        memory.put(content_hash(distinct, *renderer.versions), pdf)
    filler = 0
    while memory.evictions == 0:
        memory.put(f"filler-{filler}", pdf + str(filler).encode())  # a new bytes object of a real PDF's size
        filler += 1
    return {
        "render": render_times,
        **layers,
        "gather": gather_times,
        "pdf_bytes": len(pdf),
        "l1_entries": len(memory),
        "l1_mb": memory.used_bytes / 2**20,
        "rss_after_import_mb": rss_after_import,
        "peak_rss_mb": peak_rss_mb(),
    }


# ---------------------------------------------------------------------- measures


def cold_imports(stack) -> dict[str, list[float]]:
    from infra.runtime import lambda_environment

    times = {}
    for logical_id in ("ApiFunction", "RendererFunction", "CleanupFunction"):
        function = stack.template.functions()[logical_id]
        environment = lambda_environment(function, stack.endpoint.environment(), {})
        times[logical_id] = [
            float(
                subprocess.run(
                    [sys.executable, "-I", "-c", IMPORT_PROBE, str(function.code_dir), *map(str, function.layer_dirs)],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=function.code_dir,
                    env=environment,
                ).stdout
            )
            for _ in range(IMPORT_RUNS)
        ]
    return times


def measure_api(stack, token: str, room_id: str) -> dict:
    """The API helper sends to a queue of its own, made like the render queue and drained after every
    round: the stack's renderers then stay idle, and moto's SendMessage never meets a long queue."""
    import jwt

    from infra.http_api import Request, Route, api_gateway_event

    sqs = stack.client("sqs")
    render_queue = stack.resources["RenderQueue"]
    attributes = sqs.get_queue_attributes(QueueUrl=render_queue, AttributeNames=["All"])["Attributes"]
    bench_queue = sqs.create_queue(
        QueueName="bench-render-queue",
        Attributes={name: value for name, value in attributes.items() if name in QUEUE_ATTRIBUTES},
    )["QueueUrl"]
    path = f"/api/v1/rooms/{room_id}/snapshots"
    request = Request(
        "POST",
        path,
        [
            ("Host", "127.0.0.1"),
            ("Authorization", f"Bearer {token}"),
            ("Content-Type", "application/json"),
            ("User-Agent", "bench"),
        ],
        json.dumps({"title": "Latency check", "snapshot_type": "pdf"}).encode(),
        "127.0.0.1",
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    event = api_gateway_event(
        Route("ANY", "/api/v1/{proxy+}", "ApiFunction"),
        {"proxy": path.removeprefix("/api/v1/")},
        request,
        claims,
        "bench",
    )
    try:
        return run_in_function(
            stack, "ApiFunction", "api", {"event": event, "room_id": room_id}, {"RENDER_QUEUE_URL": bench_queue}
        )
    finally:
        sqs.delete_queue(QueueUrl=bench_queue)


def clone_room(stack, room_id: str, title: str, copies: int) -> list[str]:
    """Copies of a room, written item by item (BatchWriteItem): every item that names the room, with
    its id and title replaced. Building each through the API would cost ~175 transactions, and moto
    deep-copies the whole table for each one, so that cost grows with the square of the table."""
    from roomsnap.ids import new_id

    dynamodb, table = stack.client("dynamodb"), stack.resources["DataTable"]
    items = [
        item
        for page in dynamodb.get_paginator("scan").paginate(TableName=table)
        for item in page["Items"]
        if room_id in json.dumps(item)
    ]
    room_ids = []
    for index in range(copies):
        room_ids.append(new_id())
        text = json.dumps(items).replace(room_id, room_ids[-1]).replace(title, f"Burst room {index:02d}")
        copied = [{"PutRequest": {"Item": item}} for item in json.loads(text)]
        for start in range(0, len(copied), 25):
            dynamodb.batch_write_item(RequestItems={table: copied[start : start + 25]})
    return room_ids


def burst(stack, token: str, room_ids: list[str]) -> dict:
    from tests.support import ApiClient

    clients = [ApiClient(stack.base_url, token) for _ in range(CLIENT_THREADS)]
    rooms = [room_ids[index % len(room_ids)] for index in range(BURST)]

    def post(index: int) -> dict:
        return clients[index % CLIENT_THREADS].create_snapshot(rooms[index], "Burst check")

    started = time.time()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        created = list(pool.map(post, range(BURST)))
    task_ids = [snapshot["task_id"] for snapshot in created]
    deadline = time.monotonic() + 120
    while True:
        statuses = [
            task["status"]
            for start in range(0, BURST, 100)
            for task in clients[0].ok(
                "POST", "/snapshots/tasks/bulk-status", json={"task_ids": task_ids[start : start + 100]}
            )["tasks"]
        ]
        if all(status in ("completed", "failed", "cancelled") for status in statuses) or time.monotonic() > deadline:
            break
        time.sleep(2)  # completed_at times the burst: polling more often would only load moto

    def get(index: int) -> dict:
        snapshot = created[index]
        return clients[index % CLIENT_THREADS].ok("GET", f"/rooms/{snapshot['room_id']}/snapshots/{snapshot['id']}")

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        final = list(pool.map(get, range(BURST)))
    completed = [snapshot for snapshot in final if snapshot["status"] == "completed"]
    layers = {}
    for snapshot in completed:
        layers[snapshot["cache_layer"]] = layers.get(snapshot["cache_layer"], 0) + 1
    processing = [snapshot["timings"]["total_ms"] for snapshot in completed]
    gathering = [snapshot["timings"]["gather_ms"] for snapshot in completed]
    latencies = [parse_time(s["completed_at"]) - parse_time(s["created_at"]) for s in completed]
    return {
        "latencies": latencies,
        "processing": processing,
        "gathering": gathering,
        "completed": len(completed),
        "layers": layers,
        "total": max(parse_time(s["completed_at"]) for s in completed) - started if completed else float("nan"),
    }


# ---------------------------------------------------------------------- report


def verdict(ok: bool | None) -> str:
    return "" if ok is None else "ok" if ok else "MISSED"


def print_tables(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    header = ("measure", "value", "target", "verdict")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    print(title)
    for row in [header, tuple("-" * width for width in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    print(f"\n**{title}**\n")
    for row in [header, ("---", "---:", "---", "---"), *rows]:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


def main() -> None:
    sys.path.insert(0, str(ROOT / "layers/common/python"))  # roomsnap, as tests/conftest.py does
    from infra.stack import LocalStack
    from tests.support import ApiClient, reference_room

    run_started = time.monotonic()
    title = (
        f"Room Snapshots benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: local stack (moto), "
        f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"
    )
    log_path = ROOT / ".local" / "bench-functions.log"
    log_path.parent.mkdir(exist_ok=True)
    print(f"{title}\nfunction logs: {log_path}", file=sys.stderr)
    # The stack prints its functions' logs to stdout, which is for the table: they go to the file.
    with (
        open(log_path, "w") as log,
        contextlib.redirect_stdout(log),
        LocalStack(port=0, start_schedules=False) as stack,
    ):
        token = stack.mint_token(OWNER)
        print("building the reference room and the burst's rooms...", file=sys.stderr)
        reference = reference_room(ApiClient(stack.base_url, token), "Reference STS")
        burst_rooms = clone_room(stack, reference, "Reference STS", BURST_ROOMS)
        latency_room = ApiClient(stack.base_url, token).create_room("Latency room")["id"]
        print("cold imports...", file=sys.stderr)
        imports = cold_imports(stack)
        print(f"API handler x {API_CALLS}...", file=sys.stderr)
        api = {name: ms(values) for name, values in measure_api(stack, token, latency_room).items()}
        print("renderer: render, cache layers, peak RSS...", file=sys.stderr)
        rendering = run_in_function(
            stack, "RendererFunction", "renderer", {"room_id": reference}, {"MEMORY_CACHE_MB": str(L1_MB)}
        )
        print(f"burst of {BURST} snapshots over {BURST_ROOMS} rooms...", file=sys.stderr)
        warm = ApiClient(stack.base_url, token)
        warm.wait_for_task(warm.create_snapshot(latency_room, "Warm-up")["task_id"])  # one renderer started
        bursting = burst(stack, token, burst_rooms)

    render_p50 = p50(ms(rendering["render"]))
    handler_p50, calls_p50 = p50(api["handler"]), p50(api["aws_calls"])
    miss, s3_hit, memory_hit = (p50(ms(rendering[layer])) for layer in ("rendered", "s3", "memory"))
    budget = BURST * render_p50 / 1000
    burst_ms = ms(bursting["latencies"])
    rows = [
        ("POST /snapshots handler p50", f"{handler_p50:.1f} ms", "", ""),
        ("POST /snapshots handler p99", f"{p99(api['handler']):.1f} ms", "", ""),
        ("PutItem + SendMessage p50", f"{calls_p50:.1f} ms", "", ""),
        ("PutItem + SendMessage p99", f"{p99(api['aws_calls']):.1f} ms", "", ""),
        (
            "handler p50 / AWS calls p50",
            f"{handler_p50 / calls_p50:.2f}x",
            "<= 1.3x",
            verdict(handler_p50 / calls_p50 <= 1.3),
        ),
        ("Render p50, reference room", f"{render_p50:.1f} ms", "<= 20 ms", verdict(render_p50 <= 20)),
        ("process() miss p50", f"{miss:.1f} ms", "", ""),
        ("process() S3 hit p50", f"{s3_hit:.1f} ms", "", ""),
        ("process() memory hit p50", f"{memory_hit:.1f} ms", "", ""),
        ("process(): gather (room queries) p50", f"{p50(ms(rendering['gather'])):.1f} ms", "", ""),
        ("miss / S3 hit", f"{miss / s3_hit:.1f}x", ">= 5x", verdict(miss / s3_hit >= 5)),
        ("miss / memory hit", f"{miss / memory_hit:.1f}x", ">= 5x", verdict(miss / memory_hit >= 5)),
        ("Burst created->completed p50", f"{p50(burst_ms):.0f} ms", "", ""),
        ("Burst created->completed p99", f"{p99(burst_ms):.0f} ms", "", ""),
        (
            "Burst renderer time per snapshot p50",
            f"{p50(bursting['processing']):.0f} ms (gather {p50(bursting['gathering']):.0f} ms)",
            "",
            "",
        ),
        (
            f"Burst total, {BURST} over {BURST_ROOMS} rooms",
            f"{bursting['total']:.2f} s",
            f"<= {1.5 * budget:.2f} s (1.5 x {BURST} x render p50)",
            verdict(bursting["total"] <= 1.5 * budget),
        ),
        (
            "Burst completed / cache layers",
            f"{bursting['completed']}/{BURST}: "
            + ", ".join(f"{layer} {count}" for layer, count in sorted(bursting["layers"].items())),
            "",
            "",
        ),
    ]
    for logical_id, target in (("ApiFunction", 300), ("RendererFunction", 400), ("CleanupFunction", None)):
        value = p50(imports[logical_id])
        rows.append(
            (
                f"Cold import, {logical_id}",
                f"{value:.0f} ms",
                f"<= {target} ms" if target else "",
                verdict(value <= target) if target else "",
            )
        )
    rows.append(
        (
            f"Renderer peak RSS, {L1_MB} MB L1 full",
            f"{rendering['peak_rss_mb']:.0f} MB",
            "<= 200 MB",
            verdict(rendering["peak_rss_mb"] <= 200),
        )
    )
    print_tables(title, rows)
    print(
        f"\nRenderer RSS after import: {rendering['rss_after_import_mb']:.0f} MB; L1 at the peak reading: "
        f"{rendering['l1_entries']} PDFs, {rendering['l1_mb']:.1f} MB "
        f"(a reference PDF: {rendering['pdf_bytes'] / 1024:.0f} KB). "
        f"Run time {time.monotonic() - run_started:.0f} s."
    )


if __name__ == "__main__":
    child() if sys.argv[1:2] == ["child"] else main()
