"""make bench: how the service performs, measured in one run on the emulated stack.

Prints one table (measure | value | target | verdict), then the same table as Markdown. It measures
and prints; it asserts no timings. The functions' code runs in subprocesses started with the
function's own Lambda environment and sys.path (as template_emulator.runtime starts its workers), so imports,
memory and handler latency are the function's alone: `python scripts/bench.py child <name>` runs one
such helper. Only the standard library is imported at module level, for those helpers' sake.
"""

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests/unit/report_corpus.json"
OWNER = "bench.owner@example.com"
API_CALLS, API_WARMUP, API_ROUND = 300, 30, 25  # the bench queue is drained after every round
RENDERS = 100
CACHE_RUNS = 30
BURST, BURST_ROOMS, CLIENT_THREADS = 200, 20, 4
IMPORT_RUNS = 9
PLAIN_RUNS, LARGE_ROWS, LARGE_RUNS, WORST_RUNS = 21, 5000, 3, 2
SIGN_RUNS = 30
LONE_SNAPSHOTS = 7
COST_SNAPSHOTS = 20  # the cost workload at 50 % hits (scripts/cost.py)
TRANSACTION_TABLE_SIZES, TRANSACTIONS = (1_000, 100_000), 100
PATIENCE = 3  # tries of a request the stack could not answer in time (outside the burst, which counts them)
# One user makes every snapshot here, 200 of them at once in the burst: its limits are raised.
PARAMETERS = {"SnapshotsPerMinute": 10_000, "SnapshotsPerHour": 100_000, "MaxUnfinishedSnapshots": 1000}
RECORD_ALLOWANCE_S = 12  # roomsnap.config: a record is started only with this much of the invocation left
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
    "import importlib, sys, time; sys.path[:0] = sys.argv[2:]; started = time.perf_counter(); "
    "importlib.import_module(sys.argv[1]); print((time.perf_counter() - started) * 1000)"
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
    """The same content through plain ReportLab platypus with the same TTF fonts (registered by
    report.load_fonts): a title, the room's lines, and per section a heading and a table with a repeated
    header row and a grid. Text the base font draws alone is a plain string; any other text is a
    Paragraph with a <font> run per font (the fonts render_report picks), shaped
    by ReportLab's own HarfBuzz shaping (shaping=1). ReportLab orders right-to-left text only with
    rlbidi, which has no wheel to install, so that is left out. No verdict, no running header or
    footer, no escaping, no wrapping of long plain values, no highlights: the limit render_report
    can approach."""
    from io import BytesIO
    from xml.sax.saxutils import escape

    from reportlab.lib.colors import HexColor, white
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    from renderer.report import load_fonts
    from renderer.typefaces import BOLD, REGULAR, loaded, plain_characters
    from renderer.typesetting import itemize

    def shaped(text: str, style: ParagraphStyle) -> str | Paragraph:
        base = style.fontName
        if plain_characters(base).issuperset(text):
            return text
        runs = [(run.font or base, text[run.start : run.end]) for run in itemize(text, base, None)]
        for name, _ in runs:
            loaded(name).hbFont()  # (ReportLab shapes a word in several fonts only once each has had one)
        markup = "".join(f'<font name="{name}">{escape(chars)}</font>' for name, chars in runs)
        return Paragraph(markup, ParagraphStyle(f"{style.name}-shaped", parent=style, shaping=1))

    load_fonts()
    title = ParagraphStyle("t", fontName=BOLD, fontSize=16, leading=20)
    text = ParagraphStyle("b", fontName=REGULAR)
    cell = ParagraphStyle("c", fontName=REGULAR, fontSize=8, leading=9.6)
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), REGULAR, 8, 9.6),
            ("FONT", (0, 0), (-1, 0), BOLD, 8, 9.6),
            ("TEXTCOLOR", (0, 0), (-1, 0), white),
            ("BACKGROUND", (0, 0), (-1, 0), HexColor("#27415e")),
            ("GRID", (0, 0), (-1, -1), 0.25, HexColor("#b8c2cc")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )

    def paragraph(line: str, style: ParagraphStyle) -> Paragraph:
        value = shaped(line, style)
        return value if isinstance(value, Paragraph) else Paragraph(value, style)

    room = content.room
    story = [
        paragraph(content.title, title),
        paragraph(room.title, title),
        paragraph(f"Location: {room.location}", text),
        paragraph(f"Operation time: {room.operation_time}", text),
        paragraph(f"Data as of {room.data_as_of} · Expiry checked on {content.expiry_checked_on}", text),
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
            story.append(
                Table(
                    [
                        [f"Column {i}" for i in range(columns)],
                        *[[shaped(value, cell) for value in row] for row in rows],
                    ],
                    colWidths=[width / columns] * columns,
                    repeatRows=1,
                    style=style,
                )
            )
    buffer = BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        invariant=1,
    ).build(story)
    return buffer.getvalue()


def every_script(content):
    """The content with a name of the test corpus (tests/unit/report_corpus.json: Arabic, Hebrew,
    CJK, Greek, Cyrillic, Devanagari, Thai, emoji, symbols …) in every row and in the titles."""
    names = list(json.loads(CORPUS.read_text()).values())

    def name(index: int) -> str:
        return names[index % len(names)]

    def each(lines, field: str, offset: int) -> list:
        return [line.model_copy(update={field: name(offset + i)}) for i, line in enumerate(lines or [])]

    return content.model_copy(
        update={
            "title": name(0),
            "room": content.room.model_copy(update={"title": name(1), "location": name(2)}),
            "parties": each(content.parties, "company", 3),
            "vessels": each(content.vessels, "name", 5),
            "documents": each(content.documents, "name", 7),
            "approvals": each(content.approvals, "comment", 11),
            "activity": each(content.activity, "detail", 13),
        }
    )


# ---------------------------------------------------------------------- helpers in a function's process


def run_in_function(stack, logical_id: str, name: str, job: dict, overrides: dict | None = None) -> dict:
    """Runs child_<name>(job) in a new process with the function's environment; returns its JSON result."""
    from template_emulator.runtime import lambda_environment

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
    sys.path.append(str(ROOT / "infra"))  # for template_emulator.worker.LambdaContext only
    result = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the function's own logs (stdout) are not the result
    result.write(json.dumps(globals()[f"child_{sys.argv[2]}"](job)))
    result.close()


class Unanswered(Exception):
    """A call the loaded stack could not answer in time: counted, not timed."""


def child_api(job: dict) -> dict:
    """The create handler, call by call, interleaved with the bare PutItem + SendMessage pair."""
    from template_emulator.worker import LambdaContext

    from roomsnap.dal.clients import client
    from roomsnap.ids import new_id

    from api import handler

    dynamodb, sqs = client("dynamodb"), client("sqs")
    table, queue = os.environ["TABLE_NAME"], os.environ["RENDER_QUEUE_URL"]
    function_arn = (
        f"arn:aws:lambda:{os.environ['AWS_REGION']}:123456789012:function:{os.environ['AWS_LAMBDA_FUNCTION_NAME']}"
    )
    body, unanswered = "", []

    def create() -> None:
        """A 503 (its AWS calls not answered in time on the loaded machine) is counted, not timed."""
        nonlocal body
        context = LambdaContext(
            {"invoked_function_arn": function_arn, "request_id": new_id(), "deadline_ms": (time.time() + 10) * 1000}
        )
        response = handler.lambda_handler(job["event"], context)
        if response["statusCode"] == 503:
            raise Unanswered
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

    def bare_must_do() -> None:
        """The bare calls of what a create must do: one transaction (check the caller's party, count
        the create in the caller's limits, write the snapshot and its audit line), then send."""
        snapshot_id = new_id()
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": job["party_key"],
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": "BENCH#LIMIT"}, "SK": {"S": "CREATE"}},
                        "UpdateExpression": "ADD #m :one, #h :one SET expires_at = :expires",
                        "ConditionExpression": "attribute_not_exists(#m) OR #m < :cap",
                        "ExpressionAttributeNames": {"#m": "m_bench", "#h": "h_bench"},
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":expires": {"N": "1"},
                            ":cap": {"N": "1000000000"},
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"PK": {"S": f"BENCH#{snapshot_id}"}, "SK": {"S": "BENCH"}, "data": {"S": body}},
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"PK": {"S": f"BENCH#{snapshot_id}"}, "SK": {"S": "AUDIT"}, "data": {"S": "x"}},
                    }
                },
            ],
            ClientRequestToken=snapshot_id,
        )
        sqs.send_message(
            QueueUrl=queue,
            MessageBody=json.dumps({"snapshot_id": snapshot_id, "room_id": job["room_id"]}),
            MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": "bench"}},
        )

    def drain() -> None:
        """The round's render messages (nobody renders them), and the caller's create-limit item:
        its set of unfinished snapshots would otherwise grow past the cap (50) and its size with it."""
        dynamodb.delete_item(TableName=table, Key=job["limit_key"])
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
            sqs.delete_message_batch(
                QueueUrl=queue,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(messages)
                ],
            )

    timings: dict[str, list] = {"handler": [], "aws_calls": [], "must_do": [], "unanswered": unanswered}
    for done in range(API_WARMUP + API_CALLS):
        for name, call in (("handler", create), ("aws_calls", bare_pair), ("must_do", bare_must_do)):
            started = time.perf_counter()
            try:
                call()
            except Unanswered:
                unanswered.append(done)
                continue
            if done >= API_WARMUP:
                timings[name].append(time.perf_counter() - started)
        if done % API_ROUND == API_ROUND - 1:
            drain()
    return timings


def child_renderer(job: dict) -> dict:
    """Render time, SnapshotRenderer.process by cache layer, then the peak RSS with the L1 full."""
    from cachetools import LRUCache

    from roomsnap.content import gather, printed_size
    from roomsnap.hashing import content_hash
    from roomsnap.ids import new_id
    from roomsnap.models import Activity, Snapshot, utc_now

    from renderer import handler
    from renderer.logic.cache import ByteBoundedLRU
    from renderer.logic.render import KNOWN_KEYS_LIMIT
    from renderer.report import render_report

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
            renderer.snapshots.create(snapshot, audit, guards=[])
        return snapshot

    content, _ = gather(renderer.rooms, new_snapshot("Render check", store=False), date.today())
    # The first signature of a container: pyHanko's import, GetPublicKey, GetParameter, then kms:Sign.
    rendered = render_report(content)
    started = time.perf_counter()
    handler.sign_pdf(rendered)
    first_sign = time.perf_counter() - started
    signing = {"render": [], "sign": []}  # interleaved, on the reference room
    for _ in range(SIGN_RUNS):
        started = time.perf_counter()
        rendered = render_report(content)
        signing["render"].append(time.perf_counter() - started)
        started = time.perf_counter()
        signed = handler.sign_pdf(rendered)
        signing["sign"].append(time.perf_counter() - started)
    render_times = []
    for done in range(5 + RENDERS):
        started = time.perf_counter()
        render_report(content)
        if done >= 5:
            render_times.append(time.perf_counter() - started)
    versus_plain = {
        "reference": interleaved(content, PLAIN_RUNS),
        "every_script": interleaved(every_script(content), PLAIN_RUNS),
        "large": interleaved(scaled(content, LARGE_ROWS), LARGE_RUNS),
    }
    worst = budget_worst_case(content)
    worst_times = []
    for _ in range(WORST_RUNS):
        started = time.perf_counter()
        render_report(worst)
        worst_times.append(time.perf_counter() - started)

    gather_times = []

    def process(title: str, fresh_l1: bool) -> tuple[float, str]:
        if fresh_l1:  # a container that has not seen it: nothing in L1, no content keys in memory
            renderer.memory = ByteBoundedLRU(L1_MB * 1024 * 1024)
            renderer.known_contents = LRUCache(KNOWN_KEYS_LIMIT)
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
        "first_sign": first_sign,
        "signing": signing,
        "signed_growth": len(signed) - len(rendered),
        "versus_plain": versus_plain,
        "worst": worst_times,
        "worst_size": printed_size(worst),
        **layers,
        "gather": gather_times,
        "pdf_bytes": len(pdf),
        "l1_entries": len(memory),
        "l1_mb": memory.used_bytes / 2**20,
        "rss_after_import_mb": rss_after_import,
        "peak_rss_mb": peak_rss_mb(),
    }


def interleaved(content, runs: int) -> dict[str, list[float]]:
    """render_report and plain_platypus on the same content, alternating which goes first."""
    from renderer.report import render_report

    times: dict[str, list[float]] = {"ours": [], "plain": []}
    render_report(content), plain_platypus(content)  # warm: fonts, caches
    for run in range(runs):
        pair = [("ours", render_report), ("plain", plain_platypus)]
        for name, render in pair if run % 2 == 0 else pair[::-1]:
            started = time.perf_counter()
            render(content)
            times[name].append(time.perf_counter() - started)
    return times


def scaled(content, rows: int):
    """The content with activity lines added (copies of its own, numbered) until it prints `rows` rows."""
    from roomsnap.content import printed_size

    activity = list(content.activity or [])
    extra = rows - printed_size(content)[0]
    copies = [
        activity[i % len(activity)].model_copy(update={"detail": f"{activity[i % len(activity)].detail} #{i}"})
        for i in range(extra)
    ]
    return content.model_copy(update={"activity": activity + copies})


def budget_worst_case(content):
    """A room at both limits of the render budget (roomsnap.content.Budget): as many rows and
    characters as it allows, the extra characters as long unbroken text in the activity
    details (the slowest text to lay out: every line is a Paragraph splitting a long word)."""
    from roomsnap.content import Budget, check_budget, printed_size

    budget = Budget()
    at_rows = scaled(content, budget.rows)
    activity = list(at_rows.activity or [])
    missing = budget.characters - printed_size(at_rows)[1]
    each, rest = divmod(missing, len(activity))
    padded = [
        line.model_copy(update={"detail": line.detail + "x" * (each + (1 if index < rest else 0))})
        for index, line in enumerate(activity)
    ]
    worst = at_rows.model_copy(update={"activity": padded})
    check_budget(worst)  # exactly at the limits, not over
    assert printed_size(worst) == (budget.rows, budget.characters), printed_size(worst)
    return worst


# ---------------------------------------------------------------------- measures


def cold_imports(stack) -> dict[str, list[float]]:
    """Each function's handler import, and `import boto3` alone, in fresh interpreters with the
    function's environment and path, interleaved run by run (so load changes hit all alike)."""
    from template_emulator.runtime import lambda_environment

    times: dict[str, list[float]] = {"boto3": []}
    functions = ("ApiFunction", "RendererFunction", "CleanupFunction")

    def probe(logical_id: str, module: str | None = None) -> float:
        """Seconds (in ms) to import `module` (the function's handler module by default)."""
        function = stack.template.functions()[logical_id]
        module = module or function.handler.rpartition(".")[0]
        return float(
            subprocess.run(
                [
                    sys.executable,
                    "-I",
                    "-c",
                    IMPORT_PROBE,
                    module,
                    str(function.code_dir),
                    *map(str, function.layer_dirs),
                ],
                capture_output=True,
                text=True,
                check=True,
                cwd=function.code_dir,
                env=lambda_environment(function, stack.endpoint.environment(), {}),
            ).stdout
        )

    for _ in range(IMPORT_RUNS):
        times["boto3"].append(probe("ApiFunction", "boto3"))
        # Powertools' OpenAPI models (pydantic) alone: what building the description at import would cost.
        openapi = "aws_lambda_powertools.event_handler.openapi.params"
        times.setdefault("openapi", []).append(probe("ApiFunction", openapi))
        for logical_id in functions:
            times.setdefault(logical_id, []).append(probe(logical_id))
        # What the renderer's first cache miss imports on top: pyHanko, with the signer.
        times.setdefault("signing", []).append(probe("RendererFunction", "renderer.logic.signing"))
    return times


def measure_api(stack, token: str, room_id: str) -> dict:
    """The API helper sends to a queue of its own, made like the render queue and drained after every
    round: the stack's renderers then stay idle, and moto's SendMessage never meets a long queue."""
    import jwt
    from template_emulator.front import Request
    from template_emulator.http_api import Route, api_gateway_event

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
        party_key = {"PK": {"S": f"ROOM#{room_id}"}, "SK": {"S": f"PARTY#{claims['email']}"}}
        limit_key = {"PK": {"S": f"LIMIT#{claims['email']}"}, "SK": {"S": "CREATE"}}
        job = {"event": event, "room_id": room_id, "party_key": party_key, "limit_key": limit_key}
        return run_in_function(stack, "ApiFunction", "api", job, {"RENDER_QUEUE_URL": bench_queue})
    finally:
        sqs.delete_queue(QueueUrl=bench_queue)


def transaction_latency(stack) -> dict[int, list[float]]:
    """TransactWriteItems latency (seconds) on a table of each size in TRANSACTION_TABLE_SIZES, with a
    stream, interleaved transaction by transaction (so load changes hit both alike): the shape of a
    create, a conditional Put of a new item and an Update of an existing one. The tables are filled
    with BatchWriteItem by a few client threads, then dropped."""
    dynamodb = stack.client("dynamodb")
    names = {size: f"{stack.template.stack_name}-bench-transactions-{size}" for size in TRANSACTION_TABLE_SIZES}
    item = {"detail": {"S": "STS Fujairah · Ελληνική Ναυτιλία · 中远海运 · " + "x" * 300}}
    for name in names.values():
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )

    def put_batch(job: tuple[str, int]) -> None:
        name, start = job
        requests = [
            {"PutRequest": {"Item": {"PK": {"S": f"ROOM#{index // 50}"}, "SK": {"S": f"ITEM#{index}"}, **item}}}
            for index in range(start, start + 25)
        ]
        while requests:
            requests = dynamodb.batch_write_item(RequestItems={name: requests}).get("UnprocessedItems", {}).get(name)

    def transaction(name: str, index: int) -> float:
        items = [
            {
                "Put": {
                    "TableName": name,
                    "Item": {"PK": {"S": f"NEW#{index}"}, "SK": {"S": "SNAP"}, **item},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {
                "Update": {
                    "TableName": name,
                    "Key": {"PK": {"S": f"ROOM#{index % 10}"}, "SK": {"S": f"ITEM#{index % 10 * 50}"}},
                    "UpdateExpression": "SET updated = :now",
                    "ExpressionAttributeValues": {":now": {"N": str(time.time())}},
                }
            },
        ]
        started = time.perf_counter()
        dynamodb.transact_write_items(TransactItems=items)
        return time.perf_counter() - started

    latencies: dict[int, list[float]] = {size: [] for size in TRANSACTION_TABLE_SIZES}
    try:
        jobs = [(names[size], start) for size in TRANSACTION_TABLE_SIZES for start in range(0, size, 25)]
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            list(pool.map(put_batch, jobs))
        for index in range(TRANSACTIONS):
            order = TRANSACTION_TABLE_SIZES if index % 2 == 0 else TRANSACTION_TABLE_SIZES[::-1]
            for size in order:
                latencies[size].append(transaction(names[size], index))
    finally:
        for name in names.values():
            dynamodb.delete_table(TableName=name)
    return latencies


def clone_room(stack, room_id: str, title: str, copies: int) -> list[str]:
    """Copies of a room, written item by item (BatchWriteItem): every item that names the room, with
    its id and title replaced: quicker than the ~175 API calls that build one."""
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


def patient_client(base_url: str, token: str):
    """An API client for the phases outside the burst: a request the loaded stack could not answer
    in time (API Gateway's 500 once the function's timeout ended it, its 503, or no answer within the
    client's timeout) is counted in `unanswered` and tried again, up to PATIENCE times, so one slow
    moment is reported, never fatal."""
    import requests

    from tests.support import ApiClient

    class PatientClient(ApiClient):
        unanswered = 0

        def request(self, method: str, path: str, **kwargs):
            for _ in range(PATIENCE - 1):
                try:
                    response = super().request(method, path, **kwargs)
                    if response.status_code not in (500, 503):
                        return response
                except requests.Timeout:
                    pass
                PatientClient.unanswered += 1
                time.sleep(1)
            return super().request(method, path, **kwargs)  # the last try: whatever it gets

    return PatientClient(base_url, token)


def lone_snapshots(stack, token: str, room_id: str) -> list[dict]:
    """Snapshots created one at a time, each of new content (a miss), each waited for."""
    api, done = patient_client(stack.base_url, token), []
    for index in range(LONE_SNAPSHOTS):
        created = api.create_snapshot(room_id, f"Lone check {index} at {time.time()}")
        api.wait_for_task(created["task_id"])
        done.append(api.ok("GET", f"/rooms/{room_id}/snapshots/{created['id']}"))
        time.sleep(0.3)  # lone: the renderer is idle again
    return done


def burst(stack, token: str, room_ids: list[str]) -> dict:
    from template_emulator.metering import METER

    from tests.support import ApiClient

    clients = [ApiClient(stack.base_url, token) for _ in range(CLIENT_THREADS)]
    rooms = [room_ids[index % len(room_ids)] for index in range(BURST)]

    def post(index: int) -> dict | None:
        """A create the emulated stack could not answer in time (a 500 once the API function's 10 s
        timeout kills it, with two cores shared by everything) is counted, not fatal."""
        response = clients[index % CLIENT_THREADS].request(
            "POST", f"/rooms/{rooms[index]}/snapshots", json={"title": "Burst check", "snapshot_type": "pdf"}
        )
        return response.json() if response.status_code == 201 else None

    METER.reset()
    started = time.time()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        answers = list(pool.map(post, range(BURST)))
    posted = time.time() - started
    created = [snapshot for snapshot in answers if snapshot is not None]
    task_ids = [snapshot["task_id"] for snapshot in created]
    deadline, unanswered_polls = time.monotonic() + 120, 0
    while True:
        statuses = []
        for start in range(0, len(task_ids), 100):
            answer = clients[0].request(
                "POST", "/snapshots/tasks/bulk-status", json={"task_ids": task_ids[start : start + 100]}
            )
            if answer.status_code != 200:  # like a create, a poll the overloaded stack could not answer in time
                unanswered_polls += 1
                statuses.append("unknown")
                continue
            statuses += [task["status"] for task in answer.json()["tasks"]]
        if all(status in ("completed", "failed", "cancelled") for status in statuses) or time.monotonic() > deadline:
            break
        time.sleep(2)  # completed_at times the burst: polling more often would only load moto

    readers = [patient_client(stack.base_url, token) for _ in range(CLIENT_THREADS)]

    def get(index: int) -> dict:
        snapshot = created[index]
        return readers[index % CLIENT_THREADS].ok("GET", f"/rooms/{snapshot['room_id']}/snapshots/{snapshot['id']}")

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        final = list(pool.map(get, range(len(created))))
    completed = [snapshot for snapshot in final if snapshot["status"] == "completed"]
    layers = {}
    for snapshot in completed:
        layers[snapshot["cache_layer"]] = layers.get(snapshot["cache_layer"], 0) + 1
    processing = [snapshot["timings"]["total_ms"] for snapshot in completed]
    gathering = [snapshot["timings"]["gather_ms"] for snapshot in completed]
    latencies = [parse_time(s["completed_at"]) - parse_time(s["created_at"]) for s in completed]
    busy: dict[str, float] = {}
    for (principal, service, operation), quantities in METER.lines().items():
        if service == "dynamodb":
            busy["dynamodb"] = busy.get("dynamodb", 0) + quantities.get("locked_ms", 0) / 1000
        if service == "lambda" and operation == "Invoke":
            busy[principal] = busy.get(principal, 0) + quantities["duration_ms"] / 1000
    return {
        "refused": BURST - len(created),
        "unanswered_polls": unanswered_polls,
        "posted": posted,
        "busy": busy,
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
    header = ("measure", "value", "target", "verdict and context")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    print(title)
    for row in [header, tuple("-" * width for width in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    print(f"\n**{title}**\n")
    for row in [header, ("---", "---:", "---", "---"), *rows]:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


def ratio_row(measure: str, value: float, target: float | None, context: str, higher_is_better: bool = False) -> tuple:
    """A target line: a ratio of two things measured in the same run, absolute times as context."""
    if target is None:
        return (measure, f"{value:.2f}x", "", context)
    ok = value >= target if higher_is_better else value <= target
    return (measure, f"{value:.2f}x", f"{'>=' if higher_is_better else '<='} {target:g}x", f"{verdict(ok)}; {context}")


def main() -> None:
    sys.path.insert(0, str(ROOT / "layers/common/python"))  # roomsnap, as tests/conftest.py does
    from template_emulator.pricing import load_prices

    from scripts import cost
    from scripts.local import emulate
    from tests.support import reference_room

    run_started = time.monotonic()
    title, log_path = cost.announce("benchmark")
    # The stack prints its functions' logs to stdout, which is for the table: they go to the file.
    with (
        open(log_path, "w") as log,
        contextlib.redirect_stdout(log),
        emulate(port=0, start_schedules=False, parameter_overrides=PARAMETERS) as stack,
    ):
        token = stack.mint_token(OWNER)
        patient = patient_client(stack.base_url, token)
        renderer_timeout = stack.template.functions()["RendererFunction"].timeout
        sizes = " and ".join(f"{size:,}" for size in TRANSACTION_TABLE_SIZES)
        print(f"{TRANSACTIONS} transactions on a table of {sizes} items...", file=sys.stderr)
        transactions = {size: ms(times) for size, times in transaction_latency(stack).items()}
        print("building the reference room and the burst's rooms...", file=sys.stderr)
        reference = reference_room(patient, "Reference STS")
        burst_rooms = clone_room(stack, reference, "Reference STS", BURST_ROOMS)
        latency_room = patient.create_room("Latency room")["id"]
        print("cold imports...", file=sys.stderr)
        imports = cold_imports(stack)
        print(f"API handler x {API_CALLS}...", file=sys.stderr)
        measured = measure_api(stack, token, latency_room)
        api_unanswered = len(measured.pop("unanswered"))
        api = {name: ms(values) for name, values in measured.items()}
        print("renderer: vs plain platypus, budget worst case, cache layers, peak RSS...", file=sys.stderr)
        rendering = run_in_function(
            stack, "RendererFunction", "renderer", {"room_id": reference}, {"MEMORY_CACHE_MB": str(L1_MB)}
        )
        print(f"{LONE_SNAPSHOTS} lone snapshots...", file=sys.stderr)
        patient.wait_for_task(patient.create_snapshot(latency_room, "Warm-up")["task_id"])  # one renderer started
        lone = lone_snapshots(stack, token, reference)
        print(f"cost: {COST_SNAPSHOTS} snapshots at 50 % cache hits...", file=sys.stderr)
        cost_50 = cost.per_million_snapshots(
            cost.run_rate(stack, patient, reference, 0.5, COST_SNAPSHOTS), load_prices()
        )
        print(f"burst of {BURST} snapshots over {BURST_ROOMS} rooms...", file=sys.stderr)
        bursting = burst(stack, token, burst_rooms)

    cores = len(os.sched_getaffinity(0))
    render_p50 = p50(ms(rendering["render"]))
    sign_p50, signing_render_p50 = p50(ms(rendering["signing"]["sign"])), p50(ms(rendering["signing"]["render"]))
    handler_p50, calls_p50, must_p50 = p50(api["handler"]), p50(api["aws_calls"]), p50(api["must_do"])
    miss, s3_hit, memory_hit = (p50(ms(rendering[layer])) for layer in ("rendered", "s3", "memory"))
    versus = {
        name: (p50(ms(times["ours"])), p50(ms(times["plain"]))) for name, times in rendering["versus_plain"].items()
    }
    worst_ms = max(ms(rendering["worst"]))
    lone_c2c = p50([(parse_time(s["completed_at"]) - parse_time(s["created_at"])) * 1000 for s in lone])
    lone_render = p50([s["timings"]["render_ms"] for s in lone])
    lone_wait = p50([s["timings"]["queue_wait_ms"] for s in lone])
    lone_gather = p50([s["timings"]["gather_ms"] for s in lone])
    boto3_p50 = p50(imports["boto3"])
    openapi_note = (
        f"; Powertools' OpenAPI models, which it no longer imports (the description is built on its first "
        f"request), would add {p50(imports['openapi']):.0f} ms, {p50(imports['openapi']) / boto3_p50:.2f}x"
    )
    burst_ms = ms(bursting["latencies"])
    capacity = bursting["completed"] / bursting["total"] / cores
    busy = bursting["busy"]
    small, large = (p50(transactions[size]) for size in TRANSACTION_TABLE_SIZES)
    rows = [
        ratio_row(
            f"transaction at {TRANSACTION_TABLE_SIZES[1]:,} items / at {TRANSACTION_TABLE_SIZES[0]:,}",
            large / small,
            1.5,
            f"p50 {large:.1f} vs {small:.1f} ms (p99 {p99(transactions[TRANSACTION_TABLE_SIZES[1]]):.1f} vs "
            f"{p99(transactions[TRANSACTION_TABLE_SIZES[0]]):.1f} ms); a conditional Put + an Update, table with a "
            f"stream, {TRANSACTIONS} each, interleaved",
        ),
        ratio_row(
            "render_report / plain platypus, reference room",
            versus["reference"][0] / versus["reference"][1],
            1.3,
            f"{versus['reference'][0]:.1f} vs {versus['reference'][1]:.1f} ms, same content and TTF fonts, interleaved",
        ),
        ratio_row(
            "render_report / plain platypus, every-script room",
            versus["every_script"][0] / versus["every_script"][1],
            1.3,
            f"{versus['every_script'][0]:.1f} vs {versus['every_script'][1]:.1f} ms: the reference room with a name "
            f"in another script or emoji in every row, same fonts and HarfBuzz shaping, interleaved",
        ),
        ratio_row(
            f"render_report / plain platypus, {LARGE_ROWS}-row room",
            versus["large"][0] / versus["large"][1],
            1.3,
            f"{versus['large'][0]:.0f} vs {versus['large'][1]:.0f} ms",
        ),
        ratio_row(
            "render at the budget's limits / renderer timeout",
            worst_ms / (renderer_timeout * 1000),
            RECORD_ALLOWANCE_S / renderer_timeout,
            f"{worst_ms / 1000:.1f} s at {rendering['worst_size'][0]} rows and {rendering['worst_size'][1]:,} "
            f"characters vs {renderer_timeout} s; the target is the share a record is started with "
            f"({RECORD_ALLOWANCE_S} s, RECORD_TIME_ALLOWANCE_S)",
        ),
        ratio_row(
            "POST handler / bare PutItem + SendMessage",
            handler_p50 / calls_p50,
            1.5,
            f"{handler_p50:.1f} vs {calls_p50:.1f} ms; the create is one TransactWriteItems (party check, limits, "
            f"snapshot, audit line) and one SendMessage, where the bare pair is a PutItem and a SendMessage",
        ),
        ratio_row(
            "POST handler / bare calls of what it must do",
            handler_p50 / must_p50,
            1.3,
            f"{handler_p50:.1f} vs {must_p50:.1f} ms (TransactWriteItems of 4 items + SendMessage); "
            f"p99 {p99(api['handler']):.1f} vs {p99(api['must_do']):.1f} ms",
        ),
        *(
            ratio_row(
                f"cold import {logical_id} / import boto3",
                p50(imports[logical_id]) / boto3_p50,
                target,
                f"{p50(imports[logical_id]):.0f} vs {boto3_p50:.0f} ms, fresh interpreters, interleaved{why}",
            )
            for logical_id, target, why in (
                (
                    "ApiFunction",
                    2.0,
                    openapi_note,
                ),
                ("RendererFunction", 2.5, ""),
                ("CleanupFunction", None, ""),
            )
        ),
        ratio_row(
            "cold import renderer.logic.signing (pyHanko, first miss only) / import boto3",
            p50(imports["signing"]) / boto3_p50,
            None,
            f"{p50(imports['signing']):.0f} vs {boto3_p50:.0f} ms; not in the renderer's cold start (imported lazily)",
        ),
        ratio_row(
            "signing (kms:Sign + pyHanko) / render, reference room",
            sign_p50 / signing_render_p50,
            None,
            f"{sign_p50:.1f} vs {signing_render_p50:.1f} ms, interleaved, moto's KMS; a container's first signature "
            f"{rendering['first_sign'] * 1000:.0f} ms (pyHanko's import, GetPublicKey, GetParameter); "
            f"the signature adds {rendering['signed_growth'] / 1024:.1f} KB",
        ),
        ratio_row("process() miss / S3 hit", miss / s3_hit, 5, f"{miss:.1f} vs {s3_hit:.1f} ms", True),
        ratio_row("process() miss / memory hit", miss / memory_hit, 5, f"{miss:.1f} vs {memory_hit:.1f} ms", True),
        ratio_row(
            "lone snapshot created->completed / its render",
            lone_c2c / lone_render,
            None,
            f"{lone_c2c:.0f} vs {lone_render:.0f} ms render; queue wait {lone_wait:.0f} ms, gather "
            f"{lone_gather:.0f} ms (moto's Query of ~175 items), the rest the writes and S3",
        ),
        (
            f"burst capacity, {BURST} over {BURST_ROOMS} rooms",
            f"{capacity:.1f} snapshots/s/core",
            "",
            f"{bursting['completed']}/{BURST} in {bursting['total']:.1f} s on {cores} cores "
            f"({bursting['refused']} creates and {bursting['unanswered_polls']} status polls not answered in time; "
            f"posting "
            f"{bursting['posted']:.1f} s); moto's DynamoDB busy {busy.get('dynamodb', 0):.1f} s "
            f"({busy.get('dynamodb', 0) / bursting['total']:.0%} of the time, summed over its requests), "
            f"API {busy.get('ApiFunction', 0):.1f} s, renderers {busy.get('RendererFunction', 0):.1f} s, "
            f"notifier {busy.get('NotifierFunction', 0):.1f} s; "
            f"created->completed p50 {p50(burst_ms):.0f} ms, p99 {p99(burst_ms):.0f} ms; layers "
            + ", ".join(f"{layer} {count}" for layer, count in sorted(bursting["layers"].items())),
        ),
        (
            "$ per 1M snapshots at 50 % cache hits",
            f"${cost_50:.2f}",
            "<= $8",
            verdict(cost_50 <= 8) + "; make cost has the lines",
        ),
        (
            f"renderer peak RSS, {L1_MB} MB L1 full",
            f"{rendering['peak_rss_mb']:.0f} MB",
            "<= 200 MB",
            verdict(rendering["peak_rss_mb"] <= 200) + f"; {rendering['rss_after_import_mb']:.0f} MB after import",
        ),
    ]
    print_tables(title, rows)
    print(
        f"\nContext: render p50 of the reference room {render_p50:.1f} ms; L1 at the peak reading "
        f"{rendering['l1_entries']} PDFs, {rendering['l1_mb']:.1f} MB (a reference PDF: "
        f"{rendering['pdf_bytes'] / 1024:.0f} KB). Requests the stack could not answer in time outside the "
        f"burst (tried again): {type(patient).unanswered}, and {api_unanswered} of the API handler's "
        f"{API_WARMUP + API_CALLS} creates (not timed). Run time {time.monotonic() - run_started:.0f} s."
    )


if __name__ == "__main__":
    child() if sys.argv[1:2] == ["child"] else main()
