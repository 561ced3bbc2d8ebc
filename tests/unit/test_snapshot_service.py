"""SnapshotService against in-memory repositories: create and its Idempotency-Key, reads, bulk
status, cancel, delete and download."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from roomsnap.dal.create_limits import Limits
from roomsnap.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests, UnprocessableEntity
from roomsnap.ids import new_id
from roomsnap.models import MAX_BULK_TASKS, TASK_ID_PREFIX, Role, Snapshot, SnapshotIn, TaskStatus

from api.logic.rooms import RoomService
from api.logic.snapshots import SnapshotService, download_filename
from tests.unit.builders import ADMIN, OWNER, STRANGER, member, new_room, new_snapshot, rendered
from tests.unit.fakes import Repositories

BODY = SnapshotIn(title="Before transfer")
KEY = "3f1c-create-once"
INLINE_MAX = 1_000


@pytest.fixture
def service(repos: Repositories) -> SnapshotService:
    return SnapshotService(
        RoomService(repos.rooms), repos.snapshots, repos.idempotency_keys, repos.limits, repos.pdfs, repos.queue
    )


def create(service: SnapshotService, *args, **kwargs) -> tuple[Snapshot, bool]:
    """The snapshot a create answers, and whether it is new (not a replay of an Idempotency-Key)."""
    created = service.create(*args, **kwargs)
    return created.snapshot, not created.replayed


def audit_lines(repos: Repositories, room_id: str, action: str) -> list[str]:
    """The details of the room's audit lines of this action, as written."""
    return [line.detail for line in repos.rooms.logs[room_id] if line.action == action and line.category == "audit"]


def download(service: SnapshotService, snapshot: Snapshot, caller=OWNER, redirect=None):
    return service.download(caller, snapshot.room_id, snapshot.id, INLINE_MAX, presign_ttl=300, redirect=redirect)


# ---------------------------------------------------------------- create


def test_create_records_a_pending_snapshot_with_an_audit_line_and_one_queue_message(repos, service, room_id):
    # When an operator asks for a snapshot
    snapshot, created = create(service, member(Role.OPERATOR), room_id, BODY, correlation_id="req-1")
    # Then it is new, stored as pending, and made by the operator
    assert created is True
    assert repos.snapshots.get(snapshot.id) == snapshot
    assert (snapshot.task_status, snapshot.status, snapshot.progress) == (TaskStatus.PENDING, "generating", 0)
    assert (snapshot.room_id, snapshot.created_by, snapshot.title) == (room_id, member(Role.OPERATOR).email, BODY.title)
    # And the room's audit log names it, and one message asks for its render, with the request's correlation id
    assert audit_lines(repos, room_id, "snapshot.created") == [f"{snapshot.id}: Before transfer"]
    assert repos.queue.sent == [{"snapshot_id": snapshot.id, "room_id": room_id, "correlation_id": "req-1"}]
    assert snapshot.correlation_id == "req-1"


def test_the_sections_asked_for_are_recorded_with_the_snapshot(service, room_id):
    # When a snapshot of the documents alone is asked for
    body = SnapshotIn(title="Documents only", include_activity=False, include_approvals=False)
    snapshot, _ = create(service, OWNER, room_id, body, correlation_id="")
    # Then the record says which sections to print
    assert (snapshot.include_documents, snapshot.include_activity, snapshot.include_approvals) == (True, False, False)


def test_a_viewer_may_not_create_a_snapshot_and_nothing_is_written(repos, service, room_id):
    # When a viewer asks for a snapshot
    with pytest.raises(Forbidden):
        service.create(member(Role.VIEWER), room_id, BODY, correlation_id="")
    # Then no record, no audit line and no message
    assert repos.snapshots.records == {}
    assert audit_lines(repos, room_id, "snapshot.created") == []
    assert repos.queue.sent == []


def test_a_non_member_asking_for_a_snapshot_gets_404(repos, service, room_id):
    # When a stranger asks for a snapshot
    # Then the room is not found, and nothing is sent
    with pytest.raises(NotFound):
        service.create(STRANGER, room_id, BODY, correlation_id="")
    assert repos.queue.sent == []


def test_without_an_idempotency_key_each_request_is_a_new_snapshot(service, room_id):
    # When the same request comes twice without a key
    first, _ = create(service, OWNER, room_id, BODY, correlation_id="")
    second, created = create(service, OWNER, room_id, BODY, correlation_id="")
    # Then each is a snapshot of its own
    assert created is True
    assert first.id != second.id


# ---------------------------------------------------------------- Idempotency-Key


def test_a_replayed_idempotency_key_returns_the_first_snapshot_and_writes_nothing(repos, service, room_id):
    # Given a snapshot created with an Idempotency-Key
    first, _ = create(service, OWNER, room_id, BODY, correlation_id="req-1", idempotency_key=KEY)
    # When the same request comes again with the same key (a retry after a timeout)
    again, created = create(service, OWNER, room_id, BODY, correlation_id="req-2", idempotency_key=KEY)
    # Then it is the first snapshot, not a new one: one record, one audit line, one message
    assert (again, created) == (first, False)
    assert list(repos.snapshots.records) == [first.id]
    assert len(audit_lines(repos, room_id, "snapshot.created")) == 1
    assert len(repos.queue.sent) == 1


def test_a_replay_returns_the_first_snapshot_as_it_is_now(repos, service, room_id):
    # Given a snapshot created with a key, completed since
    first, _ = create(service, OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    rendered(repos, first)
    # When the request is replayed
    again, _ = create(service, OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    # Then the answer shows it completed
    assert (again.id, again.task_status) == (first.id, TaskStatus.COMPLETED)


def test_the_same_key_with_another_body_is_422(repos, service, room_id):
    # Given a key used for one request
    service.create(OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    # When it comes with another title
    # Then it is refused, and nothing more is created
    with pytest.raises(UnprocessableEntity, match="this Idempotency-Key was used with a different request"):
        service.create(OWNER, room_id, SnapshotIn(title="After transfer"), correlation_id="", idempotency_key=KEY)
    assert len(repos.snapshots.records) == 1
    assert len(repos.queue.sent) == 1


def test_the_same_key_for_another_room_with_the_same_body_is_another_request(repos, service, room_id):
    # Given a key used in one room, and another room of the same owner
    service.create(OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    other_room = new_room(repos.rooms)
    # When the same body comes with the same key for the other room
    # Then it is a different request under a used key
    with pytest.raises(UnprocessableEntity):
        service.create(OWNER, other_room, BODY, correlation_id="", idempotency_key=KEY)


def test_the_same_key_from_another_user_is_independent(repos, service, room_id):
    # Given a key used by the owner
    first, _ = create(service, OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    # When a broker of the room sends the same request with the same key
    second, created = create(service, member(Role.BROKER), room_id, BODY, correlation_id="", idempotency_key=KEY)
    # Then the broker gets a snapshot of its own
    assert created is True
    assert second.id != first.id
    assert second.created_by == member(Role.BROKER).email
    assert len(repos.queue.sent) == 2


def test_a_key_whose_snapshot_is_gone_is_409(service, room_id):
    # Given a snapshot created with a key, deleted since
    first, _ = create(service, OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    service.delete(OWNER, room_id, first.id)
    # When the request is replayed
    # Then it is a conflict, not a second snapshot
    with pytest.raises(Conflict, match="was deleted"):
        service.create(OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)


def test_a_key_claimed_more_than_24_hours_ago_starts_a_new_snapshot(repos, service, room_id):
    # Given the owner's key claimed 25 hours ago, for another request
    long_ago = datetime.now(UTC) - timedelta(hours=25)
    repos.idempotency_keys.claim_guard(OWNER.email, KEY, "digest of an old request", new_id(), long_ago).apply()
    # When the key comes again
    snapshot, created = create(service, OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    # Then the old claim no longer counts
    assert created is True
    assert repos.snapshots.get(snapshot.id) == snapshot


def test_a_replay_is_authorized_like_any_request(service, room_id):
    # Given a key used by the owner
    service.create(OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    # When a stranger sends the same request with the same key
    # Then the room is not found for the stranger
    with pytest.raises(NotFound):
        service.create(STRANGER, room_id, BODY, correlation_id="", idempotency_key=KEY)


# ---------------------------------------------------------------- reads


def test_a_room_s_snapshots_are_listed_newest_first_for_its_parties(repos, service, room_id):
    # Given three snapshots, one per millisecond at least
    made = [new_snapshot(repos, room_id, title=f"S{i}") for i in range(3)]
    # When a viewer lists them two at a time
    page, cursor = service.list_for_room(member(Role.VIEWER), room_id, limit=2, cursor=None)
    rest, _ = service.list_for_room(member(Role.VIEWER), room_id, limit=2, cursor=cursor)
    # Then every snapshot comes once, by id descending (ids sort by creation)
    assert [s.id for s in page + rest] == sorted((s.id for s in made), reverse=True)


def test_a_non_member_cannot_list_a_room_s_snapshots(service, room_id):
    # When a stranger lists the room's snapshots
    # Then the room is not found
    with pytest.raises(NotFound):
        service.list_for_room(STRANGER, room_id, limit=10, cursor=None)


def test_a_snapshot_is_not_found_through_another_room(repos, service, room_id):
    # Given a snapshot of a room, and another room the owner also owns
    snapshot = new_snapshot(repos, room_id)
    other_room = new_room(repos.rooms)
    # When it is asked for under the other room's path
    # Then it is not found there
    with pytest.raises(NotFound, match="snapshot not found"):
        service.get(OWNER, other_room, snapshot.id)
    assert service.get(OWNER, room_id, snapshot.id) == snapshot


def test_a_task_is_read_by_its_task_id(repos, service, room_id):
    # Given a snapshot
    snapshot = new_snapshot(repos, room_id)
    # When a viewer of its room and an admin read its task
    # Then both get it
    assert service.task(member(Role.VIEWER), snapshot.task_id) == snapshot
    assert service.task(ADMIN, snapshot.task_id) == snapshot


def test_a_task_of_a_room_the_caller_is_not_in_is_reported_exactly_like_a_missing_one(repos, service, room_id):
    # Given a task of a room the stranger is not in
    snapshot = new_snapshot(repos, room_id)
    # When the stranger asks for it, and for a task that does not exist
    with pytest.raises(NotFound) as hidden:
        service.task(STRANGER, snapshot.task_id)
    with pytest.raises(NotFound) as missing:
        service.task(STRANGER, f"{TASK_ID_PREFIX}{new_id()}")
    # Then the two answers cannot be told apart
    assert type(hidden.value) is type(missing.value)
    assert hidden.value.message == missing.value.message == "task not found"


# ---------------------------------------------------------------- bulk status


def test_bulk_status_answers_in_the_order_asked(repos, service, room_id):
    # Given three tasks, asked for newest first (not the order they are stored in)
    tasks = [new_snapshot(repos, room_id, title=f"S{i}").task_id for i in range(3)]
    asked = [tasks[2], tasks[0], tasks[1]]
    # When their status is asked in bulk
    found, not_found = service.bulk_status(member(Role.VIEWER), asked)
    # Then they come back in that order
    assert [s.task_id for s in found] == asked
    assert not_found == []


def test_bulk_status_collapses_duplicates(repos, service, room_id):
    # Given a task, and an id of none
    task_id = new_snapshot(repos, room_id).task_id
    missing = f"{TASK_ID_PREFIX}{new_id()}"
    # When each is asked for twice
    found, not_found = service.bulk_status(OWNER, [task_id, missing, task_id, missing])
    # Then each is answered once (and the table was asked for each once)
    assert [s.task_id for s in found] == [task_id]
    assert not_found == [missing]


def test_bulk_status_reports_missing_and_unreadable_tasks_alike_as_not_found(repos, service, room_id):
    # Given a task of the viewer's room, one of a room it is not in, and an id of no task
    mine = new_snapshot(repos, room_id).task_id
    theirs = new_snapshot(repos, new_room(repos.rooms, roles=())).task_id
    missing = f"{TASK_ID_PREFIX}{new_id()}"
    # When the viewer asks for all three
    found, not_found = service.bulk_status(member(Role.VIEWER), [theirs, mine, missing])
    # Then it sees its own, and the other two are not found, in the order asked
    assert [s.task_id for s in found] == [mine]
    assert not_found == [theirs, missing]


def test_bulk_status_shows_an_admin_every_existing_task(repos, service, room_id):
    # Given tasks of two rooms the admin is no party of
    tasks = [new_snapshot(repos, new_room(repos.rooms, roles=())).task_id for _ in range(2)]
    # When the admin asks for them
    found, not_found = service.bulk_status(ADMIN, tasks)
    # Then it sees both
    assert [s.task_id for s in found] == tasks
    assert not_found == []


def test_bulk_status_takes_at_most_max_bulk_tasks(repos, service, room_id):
    # Given a task
    task_id = new_snapshot(repos, room_id).task_id
    # When MAX_BULK_TASKS ids are sent, it is answered
    found, _ = service.bulk_status(OWNER, [task_id] * MAX_BULK_TASKS)
    assert len(found) == 1
    # Then one more is a bad request that says the bound
    with pytest.raises(BadRequest, match=f"at most {MAX_BULK_TASKS} task ids per call; {MAX_BULK_TASKS + 1} were"):
        service.bulk_status(OWNER, [task_id] * (MAX_BULK_TASKS + 1))


# ---------------------------------------------------------------- cancel


def test_cancelling_a_pending_task_settles_it_and_audits_it(repos, service, room_id):
    # Given a pending task
    snapshot = new_snapshot(repos, room_id)
    # When an inspector cancels it
    cancelled = service.cancel(member(Role.INSPECTOR), snapshot.task_id)
    # Then it is cancelled for good, in the audit log and in the generation log
    assert cancelled.task_status is TaskStatus.CANCELLED
    assert repos.snapshots.get(snapshot.id).task_status is TaskStatus.CANCELLED
    assert audit_lines(repos, room_id, "snapshot.cancelled") == [snapshot.id]
    assert [line["outcome"] for line in repos.log.lines] == ["cancelled"]


def test_cancel_requires_the_cancel_permission(repos, service, room_id):
    # Given a task a viewer may read
    snapshot = new_snapshot(repos, room_id)
    assert service.task(member(Role.VIEWER), snapshot.task_id) == snapshot
    # When the viewer cancels it
    with pytest.raises(Forbidden):
        service.cancel(member(Role.VIEWER), snapshot.task_id)
    # Then it is still pending
    assert repos.snapshots.get(snapshot.id).task_status is TaskStatus.PENDING


def test_a_non_member_cancelling_a_task_is_told_it_does_not_exist(repos, service, room_id):
    # Given a task of a room the stranger is not in
    snapshot = new_snapshot(repos, room_id)
    # When the stranger cancels it
    # Then it is not found
    with pytest.raises(NotFound, match="task not found"):
        service.cancel(STRANGER, snapshot.task_id)


def test_a_completed_task_cannot_be_cancelled(repos, service, room_id):
    # Given a completed task
    snapshot = rendered(repos, new_snapshot(repos, room_id))
    # When it is cancelled
    # Then it is a conflict that says why, and nothing is audited
    with pytest.raises(Conflict, match="the task is already completed"):
        service.cancel(OWNER, snapshot.task_id)
    assert audit_lines(repos, room_id, "snapshot.cancelled") == []


# ---------------------------------------------------------------- delete


def test_deleting_a_snapshot_removes_its_record_and_audits_it(repos, service, room_id):
    # Given a completed snapshot
    snapshot = rendered(repos, new_snapshot(repos, room_id))
    # When a broker deletes it
    service.delete(member(Role.BROKER), room_id, snapshot.id)
    # Then its record is gone and the audit log says so
    assert repos.snapshots.get(snapshot.id) is None
    assert audit_lines(repos, room_id, "snapshot.deleted") == [snapshot.id]
    # The cached PDF stays for the cleanup to judge
    assert repos.pdfs.exists(snapshot.content_hash)


def test_delete_requires_the_delete_permission(repos, service, room_id):
    # Given a snapshot
    snapshot = new_snapshot(repos, room_id)
    # When a viewer deletes it
    # Then it is refused, and the snapshot stays
    with pytest.raises(Forbidden):
        service.delete(member(Role.VIEWER), room_id, snapshot.id)
    assert repos.snapshots.get(snapshot.id) == snapshot


def test_deleting_a_deleted_snapshot_is_404(repos, service, room_id):
    # Given a snapshot deleted
    snapshot = new_snapshot(repos, room_id)
    service.delete(OWNER, room_id, snapshot.id)
    # When it is deleted again
    # Then it is not found, and audited once only
    with pytest.raises(NotFound):
        service.delete(OWNER, room_id, snapshot.id)
    assert len(audit_lines(repos, room_id, "snapshot.deleted")) == 1


# ---------------------------------------------------------------- download


@pytest.mark.parametrize("status", ["pending", "running", "failed", "cancelled"])
def test_a_snapshot_that_is_not_completed_cannot_be_downloaded(repos, service, room_id, status):
    # Given a snapshot in this state
    snapshot = new_snapshot(repos, room_id)
    if status != "pending":
        repos.snapshots.claim(snapshot.id, lease_seconds=30)
    if status == "failed":
        repos.snapshots.fail(snapshot.id, "the room no longer exists")
    if status == "cancelled":
        service.cancel(OWNER, snapshot.task_id)
    # When it is downloaded
    # Then it is a conflict that says what it is
    legacy = "generating" if status in ("pending", "running") else status
    with pytest.raises(Conflict, match=f"snapshot is {legacy}; download it once it is completed"):
        download(service, snapshot)


def test_a_small_completed_snapshot_downloads_inline_with_its_filename(repos, service, room_id):
    # Given a completed snapshot of a small PDF
    snapshot = rendered(repos, new_snapshot(repos, room_id), pdf=b"%PDF-1.7 small")
    # When a viewer downloads it
    answer = download(service, snapshot, caller=member(Role.VIEWER))
    # Then the bytes come in the answer, under a filename made of the title and the id
    assert (answer.pdf, answer.redirect_url) == (b"%PDF-1.7 small", None)
    assert answer.filename == f"Before-transfer-{snapshot.id}.pdf"


def test_a_download_asked_as_a_redirect_is_a_presigned_url(repos, service, room_id):
    # Given a completed snapshot
    snapshot = rendered(repos, new_snapshot(repos, room_id))
    # When it is downloaded as a redirect
    answer = download(service, snapshot, redirect=True)
    # Then the answer is a presigned URL of its PDF, not its bytes
    assert answer.pdf is None
    assert answer.redirect_url == repos.pdfs.presigned_url(snapshot.content_hash, answer.filename, 300)


def test_a_pdf_over_the_inline_limit_is_redirected_and_one_at_the_limit_is_not(repos, service, room_id):
    # Given a PDF of the inline limit's size and one a byte larger
    at_limit = rendered(repos, new_snapshot(repos, room_id), pdf=b"x" * INLINE_MAX)
    over = rendered(repos, new_snapshot(repos, room_id), pdf=b"y" * (INLINE_MAX + 1))
    # When each is downloaded
    # Then the first comes inline, the second as a redirect
    assert download(service, at_limit).pdf == b"x" * INLINE_MAX
    assert download(service, over).redirect_url is not None


def test_the_bytes_of_a_pdf_too_large_for_a_response_are_refused_with_the_way_to_get_it(repos, service, room_id):
    # Given a PDF over the inline limit
    over = rendered(repos, new_snapshot(repos, room_id), pdf=b"%PDF" + b"z" * INLINE_MAX)
    audits = len(audit_lines(repos, room_id, "snapshot.downloaded"))
    # When its bytes are asked for explicitly
    with pytest.raises(UnprocessableEntity, match=r"\?redirect=true") as refused:
        download(service, over, redirect=False)
    # Then the refusal says why and how, and nothing was downloaded (no audit line)
    assert "more than a response can carry" in refused.value.message
    assert len(audit_lines(repos, room_id, "snapshot.downloaded")) == audits
    # And a small one's bytes come as asked
    small = rendered(repos, new_snapshot(repos, room_id, title="Small"), pdf=b"%PDF-1.7 small")
    assert download(service, small, redirect=False).pdf == b"%PDF-1.7 small"


def test_the_inline_limit_keeps_a_base64_response_inside_lambdas_6_mb(repos):
    # API Gateway passes the PDF to Lambda's response base64-encoded (4/3), in a JSON envelope
    from roomsnap.config import Settings

    from scripts.capacity import load_quotas

    inline_max = Settings.model_fields["inline_download_max_bytes"].default
    lambda_response = load_quotas()["lambda.sync_payload_bytes"].value
    assert (inline_max + 2) // 3 * 4 + 16_384 < lambda_response


def test_a_completed_snapshot_whose_pdf_is_gone_is_404(repos, service, room_id):
    # Given a completed snapshot whose PDF was removed from the bucket
    snapshot = rendered(repos, new_snapshot(repos, room_id))
    repos.pdfs.delete(snapshot.content_hash)
    # When it is downloaded
    # Then it is not found, in words
    with pytest.raises(NotFound, match="the snapshot's PDF is no longer stored"):
        download(service, snapshot)


def test_every_download_is_audited(repos, service, room_id):
    # Given a completed snapshot
    snapshot = rendered(repos, new_snapshot(repos, room_id))
    # When the owner downloads it, and the viewer by redirect
    download(service, snapshot)
    download(service, snapshot, caller=member(Role.VIEWER), redirect=True)
    # Then each download has an audit line naming who
    lines = [line for line in repos.rooms.logs[room_id] if line.action == "snapshot.downloaded"]
    assert [(line.actor, line.detail, line.category) for line in lines] == [
        (OWNER.email, snapshot.id, "audit"),
        (member(Role.VIEWER).email, snapshot.id, "audit"),
    ]


def test_a_non_member_cannot_download(repos, service, room_id):
    # Given a completed snapshot
    snapshot = rendered(repos, new_snapshot(repos, room_id))
    # When a stranger downloads it
    # Then the room is not found, and nothing is audited
    with pytest.raises(NotFound):
        download(service, snapshot, caller=STRANGER)
    assert audit_lines(repos, room_id, "snapshot.downloaded") == []


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Before transfer", "Before-transfer"),
        ("  STS / Malta #2 (final)!  ", "STS-Malta-2-final"),
        ("Ελληνική Ναυτιλία", "snapshot"),
        ("***", "snapshot"),
        ("A" * 80, "A" * 60),
        ("A" * 59 + " B", "A" * 59),  # no hyphen left dangling where the title is cut
    ],
)
def test_the_download_filename_is_a_slug_of_the_title_and_the_id(title, slug):
    # Given a snapshot with this title
    snapshot = Snapshot(id="01hzzz", room_id="r", title=title, created_by="o@x.io", created_at="2026-01-01T00:00:00Z")
    # When its download filename is made
    # Then it is the title's ASCII letters and digits joined by hyphens (at most 60), then the id
    assert download_filename(snapshot) == f"{slug}-01hzzz.pdf"


# ---------------------------------------------------------------- per-user limits


def limited(repos: Repositories, **limits: int) -> SnapshotService:
    repos.limits.limits = Limits(**{"per_minute": 60, "per_hour": 600, "unfinished": 50, **limits})
    return SnapshotService(
        RoomService(repos.rooms), repos.snapshots, repos.idempotency_keys, repos.limits, repos.pdfs, repos.queue
    )


def test_creates_over_the_per_minute_limit_are_refused_with_when_to_retry(repos, room_id):
    # Given a limit of three creates a minute, all used
    service = limited(repos, per_minute=3)
    for _ in range(3):
        rendered(repos, service.create(OWNER, room_id, BODY, correlation_id="").snapshot)
    # When a fourth is asked for
    with pytest.raises(TooManyRequests) as refused:
        service.create(OWNER, room_id, BODY, correlation_id="")
    # Then it is a 429 that says when to come back, and nothing was written
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    assert '"per-minute";r=0' in refused.value.headers["RateLimit"]
    assert len(repos.snapshots.records) == 3
    assert len(repos.queue.sent) == 3


def test_every_create_says_what_is_left_of_each_limit(repos, room_id):
    service = limited(repos, per_minute=3, per_hour=10, unfinished=5)
    headers = service.create(OWNER, room_id, BODY, correlation_id="").rate_limit_headers
    assert headers["RateLimit-Policy"] == '"per-minute";q=3;w=60, "per-hour";q=10;w=3600, "unfinished";q=5'
    assert re.fullmatch(r'"per-minute";r=2;t=\d+, "per-hour";r=9;t=\d+, "unfinished";r=4', headers["RateLimit"])


def test_snapshots_that_finished_no_longer_count_as_unfinished(repos, room_id):
    # Given a cap of two unfinished snapshots, reached by two that have finished since
    service = limited(repos, unfinished=2)
    for _ in range(2):
        rendered(repos, service.create(OWNER, room_id, BODY, correlation_id="").snapshot)
    # When a third is asked for
    created = service.create(OWNER, room_id, BODY, correlation_id="")
    # Then the finished ones were dropped from the count and it is created
    assert created.snapshot.task_status is TaskStatus.PENDING
    assert repos.limits.active[OWNER.email] == {created.snapshot.id}


def test_snapshots_still_generating_count_against_the_cap(repos, room_id):
    service = limited(repos, unfinished=2)
    for _ in range(2):
        service.create(OWNER, room_id, BODY, correlation_id="")
    with pytest.raises(TooManyRequests, match="still generating"):
        service.create(OWNER, room_id, BODY, correlation_id="")


def test_the_limits_are_per_user(repos, room_id):
    service = limited(repos, per_minute=1)
    service.create(OWNER, room_id, BODY, correlation_id="")
    assert service.create(member(Role.OPERATOR), room_id, BODY, correlation_id="").snapshot


def test_a_refused_create_counts_nothing_and_claims_no_key(repos, room_id):
    # Given a limit of one create a minute, used
    service = limited(repos, per_minute=1)
    service.create(OWNER, room_id, BODY, correlation_id="")
    # When the owner asks again with a key, and a viewer asks
    with pytest.raises(TooManyRequests):
        service.create(OWNER, room_id, SnapshotIn(title="Second"), correlation_id="", idempotency_key=KEY)
    with pytest.raises(Forbidden):
        service.create(member(Role.VIEWER), room_id, BODY, correlation_id="")
    # Then neither wrote anything of its transaction: no key claimed, no count for the viewer
    assert repos.idempotency_keys.claims == {}
    assert sum(count for (user, _), count in repos.limits.counts.items() if user == member(Role.VIEWER).email) == 0
    assert len(repos.snapshots.records) == 1


def test_a_replay_of_an_idempotency_key_does_not_count_against_the_limits(repos, room_id):
    service = limited(repos, per_minute=1)
    first = service.create(OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    again = service.create(OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    assert (again.snapshot, again.replayed) == (first.snapshot, True)


# ---------------------------------------------------------------- failed creates


class Failing:
    """A dependency whose `method` fails, as a throttled or unreachable AWS call does."""

    def __init__(self, real, method: str):
        self.real, self.method = real, method

    def __getattr__(self, name):
        if name == self.method:

            def fail(*args, **kwargs):
                raise ConnectionError("the dependency did not answer")

            return fail
        return getattr(self.real, name)


def test_a_create_whose_transaction_failed_leaves_its_idempotency_key_free(repos, room_id):
    # Given a create with a key whose transaction fails (the key's claim is one of its items)
    failing = SnapshotService(
        RoomService(repos.rooms),
        Failing(repos.snapshots, "create"),
        repos.idempotency_keys,
        repos.limits,
        repos.pdfs,
        repos.queue,
    )
    with pytest.raises(ConnectionError):
        failing.create(OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    # When the client retries with the same key
    snapshot, new = create(limited(repos), OWNER, room_id, BODY, correlation_id="", idempotency_key=KEY)
    # Then it is a new create, not a 409 for the next 24 hours
    assert new is True
    assert repos.snapshots.get(snapshot.id) == snapshot


def test_a_snapshot_whose_message_could_not_be_sent_fails_at_once_and_its_key_is_given_back(repos, room_id):
    failing = SnapshotService(
        RoomService(repos.rooms),
        repos.snapshots,
        repos.idempotency_keys,
        repos.limits,
        repos.pdfs,
        Failing(repos.queue, "send"),
    )
    with pytest.raises(ConnectionError):
        failing.create(OWNER, room_id, BODY, correlation_id="req-9", idempotency_key=KEY)
    (orphan,) = repos.snapshots.records.values()
    assert orphan.task_status is TaskStatus.FAILED
    assert "could not be queued" in orphan.error
    assert "quoting reference req-9" in orphan.error
    assert repos.idempotency_keys.claims == {}


# ---------------------------------------------------------------- retry


def test_a_failure_whose_cause_still_holds_is_not_retried_until_a_correction_removes_it(repos, room_id):
    # Given a room over a render budget of 8 rows (5 parties and 4 approvals), and its failed snapshot
    from roomsnap.content import Budget
    from roomsnap.models import ApprovalIn

    rooms = RoomService(repos.rooms)
    service = SnapshotService(
        rooms, repos.snapshots, repos.idempotency_keys, repos.limits, repos.pdfs, repos.queue, Budget(rows=8)
    )
    approvals = [rooms.add_approval(OWNER, room_id, ApprovalIn(status="approved")) for _ in range(4)]
    failed = new_snapshot(repos, room_id, include_activity=False)
    repos.snapshots.fail(failed.id, "the room is too large to print")
    # When it is retried, it is refused with the reason, and nothing is created
    with pytest.raises(Conflict, match="retrying would fail the same way: the room is too large to print: 9 rows"):
        service.retry(member(Role.OPERATOR), failed.task_id, correlation_id="req-r")
    assert repos.queue.sent == []
    # And once an approval is withdrawn, the retry is a new snapshot of the same sections
    rooms.withdraw_approval(OWNER, room_id, approvals[0].id)
    created = service.retry(member(Role.OPERATOR), failed.task_id, correlation_id="req-r")
    assert created.snapshot.include_activity is False
    assert [m["snapshot_id"] for m in repos.queue.sent] == [created.snapshot.id]
    assert audit_lines(repos, room_id, "snapshot.retried") == [f"{failed.id} as {created.snapshot.id}"]


def test_only_a_failed_snapshot_is_retried_and_only_by_who_may_create_one(repos, service, room_id):
    pending = new_snapshot(repos, room_id)
    with pytest.raises(Conflict, match="only a failed snapshot can be retried; this one is generating"):
        service.retry(OWNER, pending.task_id, correlation_id="c")
    repos.snapshots.fail(pending.id, "could not be rendered")
    with pytest.raises(Forbidden):
        service.retry(member(Role.VIEWER), pending.task_id, correlation_id="c")
    with pytest.raises(NotFound, match="task not found"):
        service.retry(STRANGER, pending.task_id, correlation_id="c")
