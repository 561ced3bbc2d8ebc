"""Gathers what a snapshot prints from the room's current data, in one canonical order."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from pydantic import BaseModel

from roomsnap.clearance import Clearance, decide
from roomsnap.dal import RoomRepository
from roomsnap.errors import PermanentRenderError, TransientError
from roomsnap.models import (
    ActivityLine,
    ApprovalLine,
    DocumentLine,
    PartyLine,
    ReportContent,
    ReportRoom,
    Role,
    Snapshot,
    VesselLine,
)

GATHER_ATTEMPTS = 3  # reads of a room that keeps changing meanwhile
_ROLE_ORDER = {role: index for index, role in enumerate(Role)}


@dataclass(frozen=True)
class Budget:
    """The render budget. A report's render time grows with its rows (~0.5 ms each) and with its
    characters (up to ~3 µs each, for long unbroken text); at both limits a render takes about 6 s
    on the benchmark machine (make bench measures it), well inside the renderer's 30 s timeout.
    A room over either limit fails at once with a reason instead of timing out the renderer, and
    its failed snapshot is not retried while the room is still over it (the API checks)."""

    rows: int = 5000
    characters: int = 1_000_000


DEFAULT_BUDGET = Budget()


def _lines(model, records) -> list:
    """The printed part of each record, sorted by everything printed, so the order never depends
    on how the table returned them."""
    lines = [model.model_validate(record.model_dump()) for record in records]
    return sorted(lines, key=lambda line: line.model_dump_json())


def gather(
    rooms: RoomRepository,
    snapshot: Snapshot,
    today: date,
    budget: Budget = DEFAULT_BUDGET,
    verify_url: str | None = None,
) -> tuple[ReportContent, int]:
    """What the snapshot prints, and the room version it was read at. A room is read in more than
    one request, so the version is read again afterwards: if it moved, a change landed mid-read
    and the room is read again, so that content and version always agree."""
    for _ in range(GATHER_ATTEMPTS):
        content, version = _read(rooms, snapshot, today, verify_url)
        if rooms.room_version(snapshot.room_id) == version:
            check_budget(content, budget)
            return content, version
    raise TransientError("the room kept changing while it was read")


def printed_clearance(content: ReportContent) -> Clearance:
    """The verdict a report prints, decided by roomsnap.clearance on the documents and approvals it
    prints. It is judged on the day the document expiry is checked on, not at the moment of
    rendering, so the same content always gets the same verdict (and the same bytes)."""
    judged = datetime.combine(content.expiry_checked_on, time(), UTC)
    try:
        operation = datetime.fromisoformat(content.room.operation_time)
    except ValueError:  # not a time the API would store: judged as if the operation were today
        operation = judged
    return decide(content.documents, content.approvals, operation, judged)


def printed_size(content: ReportContent) -> tuple[int, int]:
    """Rows and characters of user text a report prints."""
    lines: list[BaseModel] = [
        *content.parties,
        *content.vessels,
        *(content.documents or []),
        *(content.approvals or []),
        *(content.activity or []),
    ]
    texts = [value for line in (content.room, *lines) for value in line.model_dump().values() if isinstance(value, str)]
    return len(lines), len(content.title) + sum(map(len, texts))


def check_budget(content: ReportContent, budget: Budget = DEFAULT_BUDGET) -> None:
    rows, characters = printed_size(content)
    if rows > budget.rows or characters > budget.characters:
        raise PermanentRenderError(
            f"the room is too large to print: {rows} rows / {characters} characters; the limit is "
            f"{budget.rows} rows and {budget.characters:,} characters"
        )


def _read(rooms: RoomRepository, snapshot: Snapshot, today: date, verify_url: str | None) -> tuple[ReportContent, int]:
    detail = rooms.get_room_detail(snapshot.room_id)
    if detail is None:
        raise PermanentRenderError("the room no longer exists")
    parties = sorted(_lines(PartyLine, detail.parties), key=lambda party: _ROLE_ORDER[party.role])
    activity = (
        [ActivityLine.model_validate(entry.model_dump()) for entry in rooms.room_changes(snapshot.room_id)]
        if snapshot.include_activity
        else None
    )
    content = ReportContent(
        title=snapshot.title,
        room=ReportRoom(
            id=detail.id,
            title=detail.title,
            location=detail.location,
            operation_time=detail.operation_time,
            data_as_of=detail.updated_at,
        ),
        expiry_checked_on=today,
        parties=parties,
        vessels=_lines(VesselLine, detail.vessels),
        documents=_lines(DocumentLine, detail.documents) if snapshot.include_documents else None,
        approvals=sorted(_lines(ApprovalLine, detail.approvals), key=lambda a: a.at)
        if snapshot.include_approvals
        else None,
        activity=activity,
        verify_url=verify_url,
    )
    return content, detail.version
