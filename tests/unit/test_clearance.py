"""The one clearance decision: each blocker kind, judged against the operation, and what does not block."""

from datetime import UTC, date, datetime

import pytest

from roomsnap.clearance import BlockerKind, ClearanceStatus, decide
from roomsnap.models import ApprovalLine, DocumentLine

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
OPERATION = datetime(2026, 12, 12, 6, 0, tzinfo=UTC)  # a transfer off Fujairah


def document(name: str = "P&I certificate", status: str = "approved", expires_on: date | None = None, id: str = "d1"):
    return DocumentLine(id=id, name=name, document_type="certificate", status=status, expires_on=expires_on)


def approval(status: str = "approved", by: str = "terminal@sohar.om", at: str = "2026-12-01T10:00:00Z", **extra):
    return ApprovalLine(id=extra.pop("id", "a1"), status=status, comment="", by=by, at=at, **extra)


def kinds(clearance) -> list[BlockerKind]:
    return [blocker.kind for blocker in clearance.blockers]


def test_approved_valid_documents_and_an_approval_clear_the_transfer():
    clearance = decide([document(expires_on=date(2027, 6, 1))], [approval()], OPERATION, NOW)
    assert clearance.status is ClearanceStatus.CLEARED
    assert clearance.blockers == []
    assert clearance.judged_at == "2026-12-04T09:30:00.000Z"
    assert clearance.operation_time == "2026-12-12T06:00:00.000Z"


def test_a_certificate_valid_today_that_expires_before_the_operation_blocks_it():
    # Given a P&I certificate expiring on 8 Dec, for a transfer on 12 Dec, judged on 4 Dec
    clearance = decide([document(expires_on=date(2026, 12, 8))], [approval()], OPERATION, NOW)

    assert clearance.status is ClearanceStatus.NOT_CLEARED
    (blocker,) = clearance.blockers
    assert (blocker.kind, blocker.item, blocker.id, blocker.name, blocker.date) == (
        BlockerKind.EXPIRES_BEFORE_OPERATION,
        "document",
        "d1",
        "P&I certificate",
        "2026-12-08",
    )


def test_a_document_is_valid_through_its_expiry_day():
    clearance = decide([document(expires_on=OPERATION.date())], [approval()], OPERATION, NOW)
    assert clearance.status is ClearanceStatus.CLEARED


@pytest.mark.parametrize(
    ("status", "expires_on", "expected"),
    [
        ("approved", date(2026, 12, 3), [BlockerKind.EXPIRED]),
        ("expired", None, [BlockerKind.EXPIRED]),
        ("missing", date(2026, 12, 3), [BlockerKind.MISSING]),
        ("uploaded", None, [BlockerKind.NOT_APPROVED]),
        ("rejected", None, [BlockerKind.NOT_APPROVED]),
        ("uploaded", date(2026, 12, 10), [BlockerKind.EXPIRES_BEFORE_OPERATION, BlockerKind.NOT_APPROVED]),
        ("uploaded", date(2026, 12, 1), [BlockerKind.EXPIRED, BlockerKind.NOT_APPROVED]),
    ],
)
def test_each_document_blocker_kind(status, expires_on, expected):
    clearance = decide([document(status=status, expires_on=expires_on)], [approval()], OPERATION, NOW)
    assert kinds(clearance) == expected
    assert all(blocker.status == status for blocker in clearance.blockers)


def test_a_past_operation_is_judged_at_the_moment_judged():
    # Given an operation that took place last month, and a certificate that expired after it
    past = datetime(2026, 11, 10, tzinfo=UTC)
    clearance = decide([document(expires_on=date(2026, 11, 20))], [approval()], past, NOW)
    assert kinds(clearance) == [BlockerKind.EXPIRED]
    # Judged on a day before that expiry (a snapshot's own day), it was valid
    assert decide([document(expires_on=date(2026, 11, 20))], [approval()], past, datetime(2026, 11, 15)).blockers == []


def test_no_approval_at_all_blocks_and_names_the_room():
    clearance = decide([], [], OPERATION, NOW)
    assert clearance.status is ClearanceStatus.NOT_CLEARED
    (blocker,) = clearance.blockers
    assert (blocker.kind, blocker.item, blocker.id) == (BlockerKind.NO_APPROVAL, "room", None)


def test_rejected_and_pending_approvals_block_with_whose_they_are():
    approvals = [
        approval("rejected", by="vetting@ras-tanura.sa", id="a1"),
        approval("pending", by="broker@piraeus.gr", party="ελληνική@ναυτιλία.gr", id="a2"),
    ]
    clearance = decide([], approvals, OPERATION, NOW)
    assert [(b.kind, b.id, b.name) for b in clearance.blockers] == [
        (BlockerKind.REJECTED_APPROVAL, "a1", "vetting@ras-tanura.sa"),
        (BlockerKind.PENDING_APPROVAL, "a2", "ελληνική@ναυτιλία.gr"),
    ]


def test_only_the_latest_approval_of_a_party_about_a_subject_counts():
    # Given a terminal that rejected, then approved; and approved one document, then rejected it
    approvals = [
        approval("rejected", at="2026-12-01T08:00:00Z", id="a1"),
        approval("approved", at="2026-12-02T08:00:00Z", id="a2"),
        approval("approved", at="2026-12-01T08:00:00Z", document_id="d9", id="a3"),
        approval("rejected", at="2026-12-03T08:00:00Z", document_id="d9", id="a4"),
    ]
    clearance = decide([], approvals, OPERATION, NOW)
    assert [(b.kind, b.id) for b in clearance.blockers] == [(BlockerKind.REJECTED_APPROVAL, "a4")]


def test_a_verdict_over_sections_not_read_is_unknown():
    for documents, approvals in (([document()], None), (None, [approval()]), (None, None)):
        clearance = decide(documents, approvals, OPERATION, NOW)
        assert (clearance.status, clearance.blockers) == (ClearanceStatus.UNKNOWN, [])


def test_times_without_a_zone_are_utc():
    clearance = decide([], [approval()], datetime(2026, 12, 12, 6), datetime(2026, 12, 4, 9, 30))
    assert (clearance.judged_at, clearance.operation_time) == ("2026-12-04T09:30:00.000Z", "2026-12-12T06:00:00.000Z")
