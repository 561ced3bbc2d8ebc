"""Is the transfer cleared, and what blocks it: the one decision that the API, the PDF, the web app
and the webhooks all show.

The verdict is judged against the operation: a document that is valid today but expires before the
operation time blocks it as surely as one that has expired. Once the operation is in the past there
is nothing ahead to judge against, so documents are judged at the moment judged (`as_of`: now for the
API, the snapshot's day for a PDF).

- A document blocks when it is missing, has expired (its status says so, or its expiry day is before
  the day judged), expires before the operation's day (a document is valid through its expiry day),
  or is not approved (uploaded, or rejected).
- Approvals count per approver and subject: only the latest approval of a party (the `party` it was
  given for, else the person who recorded it) about one subject (a document, or the transfer as a
  whole) counts, so a party that rejected and later approved no longer blocks. A rejected or
  pending latest approval blocks; a room with no approval at all is not cleared.
- `unknown` when the documents or the approvals were not looked at (a snapshot that leaves either
  section out): nothing can be said about what was not read.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Literal, Protocol

from roomsnap.model_base import Model
from roomsnap.times import iso


class ClearanceStatus(StrEnum):
    CLEARED = "cleared"
    NOT_CLEARED = "not_cleared"
    UNKNOWN = "unknown"


class BlockerKind(StrEnum):
    EXPIRED = "expired"
    EXPIRES_BEFORE_OPERATION = "expires_before_operation"
    MISSING = "missing"
    NOT_APPROVED = "not_approved"
    REJECTED_APPROVAL = "rejected_approval"
    PENDING_APPROVAL = "pending_approval"
    NO_APPROVAL = "no_approval"


class Blocker(Model):
    kind: BlockerKind
    item: Literal["document", "approval", "room"]
    id: str | None = None  # the document's or the approval's id; None for "no approval at all"
    name: str  # what a person reads: the document's name, or whose approval it is
    date: str | None = None  # the date that matters: the expiry day, or when the approval was recorded
    status: str | None = None  # the item's own status, where it explains the blocker (uploaded, rejected…)


class Clearance(Model):
    status: ClearanceStatus
    blockers: list[Blocker]
    judged_at: str  # the moment (ISO 8601) the documents were judged at
    operation_time: str


class ClearanceDocument(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def expires_on(self) -> date | None: ...


class ClearanceApproval(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def by(self) -> str: ...
    @property
    def at(self) -> str: ...
    @property
    def party(self) -> str | None: ...
    @property
    def document_id(self) -> str | None: ...


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def document_blockers(document: ClearanceDocument, judged_on: date, operation_day: date) -> list[Blocker]:
    """What keeps one document from clearing the transfer (nothing, for an approved valid one)."""

    def blocker(kind: BlockerKind) -> Blocker:
        expires = document.expires_on.isoformat() if document.expires_on else None
        return Blocker(kind=kind, item="document", id=document.id, name=document.name, date=expires, status=status)

    status = str(document.status)
    if status == "missing":
        return [blocker(BlockerKind.MISSING)]
    expires_on = document.expires_on
    blockers = []
    if status == "expired" or (expires_on is not None and expires_on < judged_on):
        blockers.append(blocker(BlockerKind.EXPIRED))
    elif expires_on is not None and expires_on < operation_day:
        blockers.append(blocker(BlockerKind.EXPIRES_BEFORE_OPERATION))
    if status not in ("approved", "expired"):
        blockers.append(blocker(BlockerKind.NOT_APPROVED))
    return blockers


def effective_approvals(approvals: Sequence[ClearanceApproval]) -> list[ClearanceApproval]:
    """The latest approval of each approver about each subject, oldest first."""
    latest: dict[tuple[str, str | None], ClearanceApproval] = {}
    for approval in sorted(approvals, key=lambda a: (a.at, a.id)):
        latest[(approval.party or approval.by, approval.document_id)] = approval
    return sorted(latest.values(), key=lambda a: (a.at, a.id))


def approval_blockers(approvals: Sequence[ClearanceApproval]) -> list[Blocker]:
    effective = effective_approvals(approvals)
    if not effective:
        return [Blocker(kind=BlockerKind.NO_APPROVAL, item="room", id=None, name="no approval recorded")]
    kinds = {"rejected": BlockerKind.REJECTED_APPROVAL, "pending": BlockerKind.PENDING_APPROVAL}
    return [
        Blocker(
            kind=kinds[str(a.status)],
            item="approval",
            id=a.id,
            name=a.party or a.by,
            date=a.at,
            status=str(a.status),
        )
        for a in effective
        if str(a.status) in kinds
    ]


def decide(
    documents: Sequence[ClearanceDocument] | None,
    approvals: Sequence[ClearanceApproval] | None,
    operation_time: datetime,
    as_of: datetime,
) -> Clearance:
    """The verdict on a room's documents and approvals, judged at `as_of` against the operation.
    None for documents or approvals means that section was not read: the verdict is then unknown."""
    operation, judged = _utc(operation_time), _utc(as_of)
    common = {"judged_at": iso(judged), "operation_time": iso(operation)}
    if documents is None or approvals is None:
        return Clearance(status=ClearanceStatus.UNKNOWN, blockers=[], **common)
    operation_day = max(operation.date(), judged.date())  # a past operation is judged at as_of
    blockers = [
        blocker for document in documents for blocker in document_blockers(document, judged.date(), operation_day)
    ]
    blockers += approval_blockers(approvals)
    status = ClearanceStatus.NOT_CLEARED if blockers else ClearanceStatus.CLEARED
    return Clearance(status=status, blockers=blockers, **common)


class DocumentFacts(Model):
    id: str
    name: str
    status: str
    expires_on: date | None = None


class ApprovalFacts(Model):
    id: str
    status: str
    by: str
    at: str
    party: str | None = None
    document_id: str | None = None


class ClearanceFacts(Model):
    """What a room's verdict is judged from, kept on the room itself so that a list of rooms is
    judged without reading their documents and approvals: the documents that can block (an
    approved one without an expiry day never does) and the approvals that count. The verdict
    depends on the clock (expiry), so it is judged from these at read time, never stored."""

    documents: list[DocumentFacts] = []
    approvals: list[ApprovalFacts] = []

    @classmethod
    def of(cls, documents: Sequence[ClearanceDocument], approvals: Sequence[ClearanceApproval]) -> "ClearanceFacts":
        return cls(
            documents=[
                DocumentFacts.model_validate(document, from_attributes=True)
                for document in documents
                if str(document.status) != "approved" or document.expires_on is not None
            ],
            approvals=[ApprovalFacts.model_validate(a, from_attributes=True) for a in effective_approvals(approvals)],
        )

    def decide(self, operation_time: datetime, as_of: datetime) -> Clearance:
        return decide(self.documents, self.approvals, operation_time, as_of)
