"""SnapshotRenderer.process against in-memory repositories and a stand-in for ReportLab: the cache
layers, content keys, failures, cancellation, races, the touch window and progress."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from roomsnap.clearance import BlockerKind, ClearanceStatus
from roomsnap.content import printed_clearance
from roomsnap.dal.rooms import Change
from roomsnap.errors import (
    LeaseHeld,
    PdfBeingDeleted,
    PermanentRenderError,
    SigningUnavailable,
    SnapshotSettled,
    TransientError,
)
from roomsnap.hashing import canonical_json, content_hash
from roomsnap.ids import new_id
from roomsnap.models import Document, ReportContent, Snapshot, TaskStatus, Vessel, iso, utc_now

from api.logic.rooms import activity
from renderer.logic import render as render_module
from renderer.logic.cache import ByteBoundedLRU
from renderer.logic.render import CLAIM_ROWS, PROGRESS_INTERVAL_S, STORED_BLOCKERS, Outcome, Progress, SnapshotRenderer
from tests.unit.builders import OWNER, new_snapshot
from tests.unit.fakes import FakeClock, Repositories

VERSIONS = ("template-1", "library-1")


class Render:
    """Stands in for render_report: the same content gives the same bytes. Counts its calls, and
    runs `during` (a concurrent party's doing) or raises `error` inside the render."""

    def __init__(self, during=None, error: Exception | None = None):
        self.contents: list[ReportContent] = []
        self.during = during
        self.error = error

    def __call__(self, content: ReportContent) -> bytes:
        self.contents.append(content)
        if self.during:
            self.during(content)
        if self.error:
            raise self.error
        return b"%PDF-" + canonical_json(content.model_dump(mode="json"))


def sign(pdf: bytes) -> bytes:
    """Stands in for the PAdES signer: each signature is new (a signing time, a fresh ECDSA
    nonce), so two signatures of the same render differ, as with KMS."""
    return pdf + b"\n%signed " + uuid.uuid4().bytes.hex().encode()


def container(
    repos: Repositories, render: Render | None = None, touch_valid_s: float = 0, claim_rows: int = CLAIM_ROWS
) -> SnapshotRenderer:
    """A renderer container of its own (its own L1 and known keys) over the shared repositories;
    renders of `claim_rows` rows or more claim the task first (0: every render)."""
    return SnapshotRenderer(
        repos.rooms,
        repos.snapshots,
        repos.pdf_records,
        repos.pdfs,
        ByteBoundedLRU(1 << 20),
        render or Render(),
        *VERSIONS,
        sign=sign,
        issuances=repos.issuances,
        touch_valid_s=touch_valid_s,
        claim_rows=claim_rows,
    )


def process(renderer: SnapshotRenderer, snapshot: Snapshot, sent_at: datetime | None = None) -> Outcome:
    return renderer.process(snapshot.id, sent_at or datetime.now(UTC), lease_seconds=30)


@pytest.fixture
def render() -> Render:
    return Render()


@pytest.fixture
def renderer(repos, render) -> SnapshotRenderer:
    return container(repos, render)


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    return FakeClock.install(monkeypatch, render_module)


def cancelled_while_rendering(repos: Repositories, snapshot: Snapshot, error: Exception | None = None) -> Render:
    """A render during which the snapshot's owner cancels it."""
    audit = activity(OWNER, "snapshot.cancelled", snapshot.id, category="audit")
    return Render(during=lambda content: repos.snapshots.cancel(snapshot, audit), error=error)


def add_vessel(repos: Repositories, room_id: str) -> None:
    vessel = Vessel(name="MT Seawise", imo="9074729", vessel_type="crude tanker", flag="MT", added_at=utc_now())
    repos.rooms.add_vessel(room_id, vessel, activity(OWNER, "vessel.added", vessel.name))


# ---------------------------------------------------------------- the cache layers


def test_a_miss_renders_stores_and_completes(repos, render, renderer, room_id):
    # Given a snapshot no PDF exists for
    snapshot = new_snapshot(repos, room_id)
    # When it is processed
    outcome = process(renderer, snapshot)
    # Then the content is rendered once, signed, and stored under the hash of what it prints
    (content,) = render.contents
    digest = content_hash(content, *VERSIONS)
    assert outcome.cache_layer == "rendered"
    pdf = repos.pdfs.get(digest)
    assert pdf.startswith(render(content) + b"\n%signed ")
    # And the snapshot is completed, pointing at it, with the signed bytes' SHA-256, and logged
    stored = repos.snapshots.get(snapshot.id)
    assert stored == outcome.snapshot
    assert (stored.task_status, stored.progress, stored.content_hash) == (TaskStatus.COMPLETED, 100, digest)
    assert stored.file_size == outcome.pdf_bytes == len(pdf)
    assert stored.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert stored.timings.sign_ms is not None
    assert [(line["outcome"], line["cache_layer"]) for line in repos.log.lines] == [("completed", "rendered")]
    # And the issuance of those bytes to this snapshot is on record
    (issuance,) = repos.issuances.of(stored.pdf_sha256)
    assert (issuance.snapshot_id, issuance.room_id, issuance.content_hash) == (snapshot.id, room_id, digest)
    assert issuance.file_size == len(pdf)


def test_identical_content_is_served_the_same_signed_bytes_and_each_issuance_is_recorded(repos, room_id):
    # Given a PDF rendered and signed by one container
    first = process(container(repos), new_snapshot(repos, room_id))
    # When snapshots of the same content come to that container and to a fresh one
    again = process(container(repos), new_snapshot(repos, room_id))
    # Then they are served the very bytes first signed, and not signed again
    assert again.cache_layer == "s3"
    assert again.snapshot.pdf_sha256 == first.snapshot.pdf_sha256
    # And each snapshot's issuance of those bytes is recorded
    issued = repos.issuances.of(first.snapshot.pdf_sha256)
    assert {issuance.snapshot_id for issuance in issued} == {first.snapshot.id, again.snapshot.id}


def test_a_signing_failure_issues_nothing(repos, room_id):
    # Given a container whose signer cannot sign (the key disabled)
    def disabled(pdf: bytes) -> bytes:
        raise SigningUnavailable("the signing key is disabled")

    renderer = container(repos)
    renderer.sign = disabled
    snapshot = new_snapshot(repos, room_id)
    # When the snapshot is processed, the failure is a transient one
    with pytest.raises(SigningUnavailable):
        process(renderer, snapshot)
    # Then nothing was stored, cached or issued, and the snapshot is not completed
    assert repos.pdfs.objects == {}
    assert len(renderer.memory) == 0
    assert repos.issuances.records == {}
    assert repos.snapshots.get(snapshot.id).task_status is TaskStatus.PENDING


def test_the_same_content_again_is_served_from_memory(repos, render, renderer, room_id):
    # Given a PDF rendered by this container
    first = process(renderer, new_snapshot(repos, room_id))
    # When a snapshot of the same content comes
    second = process(renderer, new_snapshot(repos, room_id))
    # Then its memory serves it, without a second render
    assert second.cache_layer == "memory"
    assert len(render.contents) == 1
    assert second.snapshot.content_hash == first.snapshot.content_hash


def test_a_fresh_container_is_served_from_s3_then_from_its_memory(repos, renderer, room_id):
    # Given a PDF rendered by one container
    first = process(renderer, new_snapshot(repos, room_id))
    # When another container processes two snapshots of the same content
    fresh_render = Render()
    fresh = container(repos, fresh_render)
    second, third = (process(fresh, new_snapshot(repos, room_id)) for _ in range(2))
    # Then it reads the stored PDF instead of rendering, and keeps it in memory
    assert (second.cache_layer, third.cache_layer, fresh_render.contents) == ("s3", "memory", [])
    assert second.snapshot.content_hash == first.snapshot.content_hash


def test_a_known_content_key_skips_reading_the_room(repos, renderer, room_id):
    # Given a PDF rendered, which read the room once
    process(renderer, new_snapshot(repos, room_id))
    assert repos.rooms.reads["get_room_detail"] == 1
    # When the same container and a fresh one process snapshots of the same content
    process(renderer, new_snapshot(repos, room_id))
    process(container(repos), new_snapshot(repos, room_id))
    # Then neither read the room: its version named the content
    assert repos.rooms.reads["get_room_detail"] == 1


def test_a_completed_snapshot_records_the_clearance_its_pdf_prints_also_when_its_content_key_is_known(
    repos, render, renderer, room_id
):
    # Given a room whose crew list is missing, rendered once
    crew_list = Document(id=new_id(), name="Crew list", document_type="list", status="missing", updated_at=utc_now())
    repos.rooms.put_document(room_id, crew_list, Change(activity(OWNER, "document.added", crew_list.name)))
    first = process(renderer, new_snapshot(repos, room_id))
    # Then the snapshot records the verdict its PDF prints: not cleared, the crew list missing
    (content,) = render.contents
    clearance = repos.snapshots.get(first.snapshot.id).clearance
    assert clearance == printed_clearance(content)
    assert clearance.status is ClearanceStatus.NOT_CLEARED
    assert (clearance.blockers[0].kind, clearance.blockers[0].id) == (BlockerKind.MISSING, crew_list.id)
    # When a fresh container serves the same content by its content key, without reading the room
    second = process(container(repos), new_snapshot(repos, room_id))
    # Then its snapshot records the same verdict
    assert repos.rooms.reads["get_room_detail"] == 1
    assert repos.snapshots.get(second.snapshot.id).clearance == clearance


def test_the_clearance_a_record_keeps_names_at_most_so_many_blockers(repos, render, renderer, room_id):
    # Given a room with more missing documents than a record keeps blockers of
    for number in range(STORED_BLOCKERS + 20):
        missing = Document(id=new_id(), name=f"Doc {number}", document_type="c", status="missing", updated_at=utc_now())
        repos.rooms.put_document(room_id, missing, Change(activity(OWNER, "document.added", missing.name)))
    # When a snapshot of it completes
    outcome = process(renderer, new_snapshot(repos, room_id))
    # Then its record says it is not cleared and keeps the first blockers (the PDF names them all)
    clearance = repos.snapshots.get(outcome.snapshot.id).clearance
    assert clearance.status is ClearanceStatus.NOT_CLEARED
    assert clearance.blockers == printed_clearance(render.contents[0]).blockers[:STORED_BLOCKERS]


def test_a_content_key_whose_pdf_is_gone_from_both_caches_is_gathered_and_rendered_again(repos, renderer, room_id):
    # Given a PDF rendered, then removed from S3 (and a fresh container has no L1)
    first = process(renderer, new_snapshot(repos, room_id))
    repos.pdfs.delete(first.snapshot.content_hash)
    fresh_render = Render()
    # When the fresh container processes a snapshot of the same content
    second = process(container(repos, fresh_render), new_snapshot(repos, room_id))
    # Then it reads the room again, renders, and stores the PDF again
    assert (second.cache_layer, len(fresh_render.contents)) == ("rendered", 1)
    assert repos.rooms.reads["get_room_detail"] == 2
    assert repos.pdfs.exists(second.snapshot.content_hash)


def test_a_change_to_the_room_makes_a_new_pdf(repos, render, renderer, room_id):
    # Given a PDF rendered, then a vessel added to the room
    first = process(renderer, new_snapshot(repos, room_id))
    add_vessel(repos, room_id)
    # When a snapshot of the room is processed
    second = process(renderer, new_snapshot(repos, room_id))
    # Then it is rendered anew, with the vessel
    assert second.cache_layer == "rendered"
    assert second.snapshot.content_hash != first.snapshot.content_hash
    assert [v.imo for v in render.contents[-1].vessels] == ["9074729"]


@pytest.mark.parametrize(
    "other",
    [
        {"title": "After transfer"},
        {"include_activity": False},
        {"include_documents": False},
        {"include_approvals": False},
    ],
    ids=["title", "no-activity", "no-documents", "no-approvals"],
)
def test_a_snapshot_that_prints_something_else_is_another_pdf(repos, renderer, room_id, other):
    # Given a PDF of the room with every section
    first = process(renderer, new_snapshot(repos, room_id))
    # When a snapshot of the same room with another title or other sections is processed
    second = process(renderer, new_snapshot(repos, room_id, **other))
    # Then it is rendered, not served the first one's PDF
    assert second.cache_layer == "rendered"
    assert second.snapshot.content_hash != first.snapshot.content_hash


def test_a_completion_reports_this_container_s_memory_cache_to_the_generation_log(repos, renderer, room_id):
    # When a snapshot is completed
    outcome = process(renderer, new_snapshot(repos, room_id))
    # Then its log line says which container it was, and what that container's memory holds
    (line,) = repos.log.lines
    assert (line["renderer_id"], line["l1_entries"], line["l1_bytes"]) == (renderer.container_id, 1, outcome.pdf_bytes)


# ---------------------------------------------------------------- failures


def test_a_permanent_render_error_fails_the_snapshot_with_its_reason(repos, room_id):
    # Given content the report refuses for good
    reason = "the room holds 6000 rows to print; one report holds at most 5000"
    snapshot = new_snapshot(repos, room_id)
    # When it is processed
    outcome = process(container(repos, Render(error=PermanentRenderError(reason))), snapshot)
    # Then the snapshot fails with that reason, no PDF is stored, and the failure is logged
    stored = repos.snapshots.get(snapshot.id)
    assert (outcome.snapshot.task_status, outcome.snapshot.error) == (TaskStatus.FAILED, reason)
    assert (stored.task_status, stored.error, stored.stage) == (TaskStatus.FAILED, reason, "Failed")
    assert repos.pdfs.objects == {}
    assert [line["outcome"] for line in repos.log.lines] == ["failed"]


def test_a_snapshot_of_a_room_that_no_longer_exists_fails_without_rendering(repos, render, renderer, room_id):
    # Given a snapshot whose room is gone
    snapshot = new_snapshot(repos, room_id)
    del repos.rooms.items[room_id]
    # When it is processed
    outcome = process(renderer, snapshot)
    # Then it fails with a plain reason, and nothing is rendered
    assert (outcome.snapshot.task_status, outcome.snapshot.error) == (TaskStatus.FAILED, "the room no longer exists")
    assert render.contents == []


def test_a_transient_error_is_raised_for_a_retry_and_leaves_the_task_running(repos, room_id):
    # Given a render that fails for now
    snapshot = new_snapshot(repos, room_id)
    throttled = Render(error=TransientError("throttled"))
    # When it is processed
    # Then the error goes to the handler, which retries it, and the task is neither failed nor logged
    with pytest.raises(TransientError):
        process(container(repos, throttled), snapshot)
    assert repos.snapshots.get(snapshot.id).task_status is TaskStatus.PENDING  # a small render claims nothing
    assert repos.log.lines == []


def test_a_long_render_claims_the_task_so_pollers_see_it_running_and_a_duplicate_waits(repos, room_id):
    # Given a render long enough to claim its task (here: every render), failing for now
    snapshot = new_snapshot(repos, room_id)
    with pytest.raises(TransientError):
        process(container(repos, Render(error=TransientError("throttled")), claim_rows=0), snapshot)
    # Then the task is running under a lease, and a second delivery meanwhile waits for it
    assert repos.snapshots.get(snapshot.id).task_status is TaskStatus.RUNNING
    with pytest.raises(LeaseHeld):
        process(container(repos, claim_rows=0), snapshot)


def test_an_unclaimed_duplicate_renders_too_but_only_the_first_completion_counts(repos, room_id):
    # Given the same message delivered twice to two containers at once
    snapshot = new_snapshot(repos, room_id)
    second = container(repos)
    first = container(repos, Render(during=lambda content: process(second, snapshot)))
    # When both render it
    outcome = process(first, snapshot)
    # Then the one that completed first is the snapshot's, the other result is discarded
    assert outcome.snapshot is None
    assert repos.snapshots.get(snapshot.id).task_status is TaskStatus.COMPLETED
    assert len([line for line in repos.log.lines if line["outcome"] == "completed"]) == 1


def test_a_settled_snapshot_is_not_rendered_again(repos, render, renderer, room_id):
    # Given a snapshot completed
    snapshot = new_snapshot(repos, room_id)
    process(renderer, snapshot)
    # When its message comes again
    # Then there is nothing to do
    with pytest.raises(SnapshotSettled):
        process(renderer, snapshot)
    assert len(render.contents) == 1


def test_a_second_delivery_while_another_renderer_holds_the_lease_waits_for_it(repos, render, renderer, room_id):
    # Given a snapshot another renderer has claimed
    snapshot = new_snapshot(repos, room_id)
    repos.snapshots.claim(snapshot.id, lease_seconds=30)
    # When a second delivery of its message comes
    # Then it waits for the lease instead of rendering the same snapshot twice
    with pytest.raises(LeaseHeld):
        process(renderer, snapshot)
    assert render.contents == []


# ---------------------------------------------------------------- concurrent parties


def test_a_task_cancelled_while_rendering_has_its_result_discarded(repos, room_id):
    # Given a snapshot cancelled by its owner while it renders
    snapshot = new_snapshot(repos, room_id)
    # When the render is done
    outcome = process(container(repos, cancelled_while_rendering(repos, snapshot)), snapshot)
    # Then the result is discarded and the snapshot stays cancelled
    assert outcome.snapshot is None
    assert repos.snapshots.get(snapshot.id).task_status is TaskStatus.CANCELLED
    assert [line["outcome"] for line in repos.log.lines] == ["cancelled"]


def test_a_task_cancelled_before_a_permanent_failure_stays_cancelled(repos, room_id):
    # Given a snapshot cancelled while its render fails for good
    snapshot = new_snapshot(repos, room_id)
    render = cancelled_while_rendering(repos, snapshot, error=PermanentRenderError("too large to print"))
    # When it is processed
    outcome = process(container(repos, render), snapshot)
    # Then the failure is discarded: the snapshot stays cancelled
    assert outcome.snapshot is None
    assert repos.snapshots.get(snapshot.id).task_status is TaskStatus.CANCELLED


def test_the_loser_of_a_race_on_one_hash_adopts_the_stored_pdf(repos, room_id):
    # Given another renderer that stores its own signed PDF of the same content while this one renders it
    def other_renderer_stores(content: ReportContent) -> None:
        repos.pdfs.put_if_absent(content_hash(content, *VERSIONS), sign(Render()(content)))

    renderer = container(repos, Render(during=other_renderer_stores))
    # When this render is done (its own signature differs from the stored one)
    outcome = process(renderer, new_snapshot(repos, room_id))
    # Then the lost race is an S3 hit: the snapshot gets the stored bytes, their size and their hash
    stored = repos.pdfs.get(outcome.snapshot.content_hash)
    assert outcome.cache_layer == "s3"
    assert outcome.snapshot.task_status is TaskStatus.COMPLETED
    assert (outcome.snapshot.file_size, outcome.snapshot.pdf_sha256) == (
        len(stored),
        hashlib.sha256(stored).hexdigest(),
    )
    # And the container's memory holds the stored bytes, not its own copy
    assert renderer.memory.get(outcome.snapshot.content_hash) == stored
    assert [issuance.pdf_sha256 for issuance in repos.issuances.records.values()] == [outcome.snapshot.pdf_sha256]


# ---------------------------------------------------------------- the touch window


def test_without_a_touch_window_every_use_of_a_pdf_touches_its_record(repos, renderer, room_id):
    # When a container with no touch window renders a PDF, then serves it from memory
    first = process(renderer, new_snapshot(repos, room_id))
    process(renderer, new_snapshot(repos, room_id))
    # Then it touched the PDF's use record before each use
    assert repos.pdf_records.touches == [first.snapshot.content_hash] * 2


def test_within_the_touch_window_a_container_touches_a_pdf_once(repos, clock, room_id):
    # Given a container that trusts its own touch for 60 s
    renderer = container(repos, touch_valid_s=60)
    first = process(renderer, new_snapshot(repos, room_id))
    # When it serves the same PDF within the window, and again after it
    clock.advance(59)
    process(renderer, new_snapshot(repos, room_id))
    clock.advance(2)
    process(renderer, new_snapshot(repos, room_id))
    # Then it touched the record at first and after the window only
    assert repos.pdf_records.touches == [first.snapshot.content_hash] * 2


def test_a_memory_hit_puts_back_a_pdf_the_cleanup_removed(repos, renderer, room_id):
    # Given a PDF in this container's memory that the cleanup removed from S3
    first = process(renderer, new_snapshot(repos, room_id))
    repos.pdfs.delete(first.snapshot.content_hash)
    # When the container serves it from memory
    second = process(renderer, new_snapshot(repos, room_id))
    # Then it stores it again, so the snapshot does not point at nothing
    assert second.cache_layer == "memory"
    assert repos.pdfs.exists(second.snapshot.content_hash)
    assert second.snapshot.pdf_sha256 == first.snapshot.pdf_sha256


def test_a_memory_copy_gives_way_to_a_pdf_signed_anew_after_the_cleanup(repos, room_id):
    # Given a PDF in one container's memory that the cleanup removed, and another container that
    # then rendered and signed the same content anew
    holder = container(repos)
    first = process(holder, new_snapshot(repos, room_id))
    repos.pdfs.delete(first.snapshot.content_hash)
    resigned = process(container(repos), new_snapshot(repos, room_id))
    assert resigned.cache_layer == "rendered"
    assert resigned.snapshot.pdf_sha256 != first.snapshot.pdf_sha256
    # When the first container serves that content again
    again = process(holder, new_snapshot(repos, room_id))
    # Then it serves the stored, newly signed bytes, and keeps them in place of its own copy
    assert again.cache_layer == "s3"
    assert again.snapshot.pdf_sha256 == resigned.snapshot.pdf_sha256
    assert holder.memory.get(again.snapshot.content_hash) == repos.pdfs.get(again.snapshot.content_hash)


def test_a_pdf_the_cleanup_is_deleting_makes_the_render_retry(repos, renderer, room_id):
    # Given a PDF rendered, then marked for deletion by a cleanup
    first = process(renderer, new_snapshot(repos, room_id))
    now = datetime.now(UTC)
    digest = first.snapshot.content_hash
    assert repos.pdf_records.mark_for_deletion(digest, iso(now + timedelta(minutes=1)), iso(now - timedelta(hours=1)))
    # When a fresh container is about to use it
    snapshot = new_snapshot(repos, room_id)
    # Then it is retried later rather than served
    with pytest.raises(PdfBeingDeleted):
        process(container(repos), snapshot)
    assert repos.snapshots.get(snapshot.id).task_status is TaskStatus.PENDING


# ---------------------------------------------------------------- progress and timings


def test_a_fast_render_writes_no_intermediate_progress(repos, clock, renderer, room_id):
    # When a snapshot is processed within a progress interval
    process(renderer, new_snapshot(repos, room_id))
    # Then no intermediate progress was written (the claim and the completion write their own)
    assert repos.snapshots.progress_writes == []


def test_a_slow_render_writes_the_progress_a_poller_could_see(repos, clock, room_id):
    # Given a claimed render that takes two progress intervals
    slow = Render(during=lambda content: clock.advance(PROGRESS_INTERVAL_S * 2))
    # When a snapshot is processed
    process(container(repos, slow, claim_rows=0), new_snapshot(repos, room_id))
    # Then the step after the render is written, and only it
    assert repos.snapshots.progress_writes == [80]


def test_progress_is_written_at_most_once_per_interval(repos, clock, room_id):
    # Given a claimed snapshot's progress
    snapshot = new_snapshot(repos, room_id)
    repos.snapshots.claim(snapshot.id, lease_seconds=30)
    progress = Progress(repos.snapshots, snapshot.id)
    # When steps come at half intervals
    for percent in (30, 60, 80):
        clock.advance(PROGRESS_INTERVAL_S / 2)
        progress(percent)
    # Then only the step a whole interval after the last write is written
    assert repos.snapshots.progress_writes == [60]
    assert repos.snapshots.get(snapshot.id).progress == 60


def test_timings_measure_the_queue_wait_and_each_step(repos, clock, room_id):
    # Given a message sent 2 s ago and a render that takes 250 ms
    slow = Render(during=lambda content: clock.advance(0.25))
    sent_at = datetime.now(UTC) - timedelta(seconds=2)
    # When it is processed
    timings = process(container(repos, slow), new_snapshot(repos, room_id), sent_at).snapshot.timings
    # Then the render's time is its own, and the queue wait runs from the message's sending
    assert (timings.gather_ms, timings.render_ms, timings.store_ms, timings.total_ms) == (0, 250, 0, 250)
    assert timings.queue_wait_ms == pytest.approx(2000, abs=500)
