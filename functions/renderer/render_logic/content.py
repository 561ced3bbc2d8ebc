"""Gathers what a snapshot prints from the room's current data, in one canonical order."""

from datetime import date

from roomsnap.dal import RoomRepository
from roomsnap.errors import PermanentRenderError
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

# Beyond this a report would run to hundreds of pages; such a snapshot fails with this reason
# instead of timing out the renderer.
MAX_REPORT_ROWS = 5000
_ROLE_ORDER = {role: index for index, role in enumerate(Role)}


def _lines(model, records) -> list:
    """The printed part of each record, sorted by everything printed, so the order never depends
    on how the table returned them."""
    lines = [model.model_validate(record.model_dump()) for record in records]
    return sorted(lines, key=lambda line: line.model_dump_json())


def gather(rooms: RoomRepository, snapshot: Snapshot, today: date) -> tuple[ReportContent, int]:
    """What the snapshot prints, and the room version it was read at."""
    detail = rooms.get_room_detail(snapshot.room_id)
    if detail is None:
        raise PermanentRenderError("the room no longer exists")
    parties = sorted(_lines(PartyLine, detail.parties), key=lambda party: _ROLE_ORDER[party.role])
    activity = (
        [ActivityLine.model_validate(entry.model_dump()) for entry in rooms.room_activity(snapshot.room_id)]
        if snapshot.include_activity
        else None
    )
    content = ReportContent(
        title=snapshot.title,
        room=ReportRoom(
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
    )
    rows = sum(
        len(section or [])
        for section in (content.parties, content.vessels, content.documents, content.approvals, content.activity)
    )
    if rows > MAX_REPORT_ROWS:
        raise PermanentRenderError(f"the room holds {rows} rows to print; one report holds at most {MAX_REPORT_ROWS}")
    return content, detail.version
