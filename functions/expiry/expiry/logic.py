"""The daily expiry run: documents that expire within N days, or expired since the last run, are
announced once per document per day. Each announcement is an alert item written together with the
room's audit line; the table's stream then publishes it as a `document.expiring` webhook event,
through the same fan-out as snapshot events. The run reads one index partition per day of its
window, never the table, and is safe to run twice (the second finds the day's alerts written)."""

from dataclasses import asdict, dataclass
from datetime import date, timedelta

from roomsnap.dal.expiring_documents import ExpiringDocuments
from roomsnap.dal.rooms import RoomRepository
from roomsnap.models import Document, RoomDetail, utc_now
from roomsnap.webhooks import ExpiryAlert, system_audit


@dataclass
class Report:
    days_read: int = 0
    documents: int = 0
    alerts: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def window(today: date, last_run: date | None, days_ahead: int) -> list[date]:
    """Today to `days_ahead` days ahead, and back to the day after the last run (documents that
    expired while no run happened)."""
    first = min(last_run + timedelta(days=1), today) if last_run else today
    return [first + timedelta(days=offset) for offset in range((today - first).days + days_ahead + 1)]


def alert_data(room: RoomDetail, document: Document, days_left: int) -> dict:
    vessel = next((v for v in room.vessels if v.imo == document.vessel_imo), None)
    return {
        "room": {"id": room.id, "title": room.title},
        "document": {
            "id": document.id,
            "name": document.name,
            "document_type": document.document_type,
            "status": document.status.value,
            "expires_on": document.expires_on.isoformat() if document.expires_on else None,
        },
        "vessel": {"imo": vessel.imo, "name": vessel.name} if vessel else None,
        "days_left": days_left,
    }


class ExpiryAlerts:
    def __init__(self, documents: ExpiringDocuments, rooms: RoomRepository, days_ahead: int):
        self.documents = documents
        self.rooms = rooms
        self.days_ahead = days_ahead

    def run(self, today: date) -> Report:
        report = Report()
        rooms: dict[str, RoomDetail | None] = {}
        for day in window(today, self.documents.last_run(), self.days_ahead):
            report.days_read += 1
            for room_id, document in self.documents.expiring_on(day):
                if room_id not in rooms:
                    rooms[room_id] = self.rooms.get_room_detail(room_id)
                room = rooms[room_id]
                if room is None:
                    continue
                report.documents += 1
                days_left = (day - today).days
                alert = ExpiryAlert(
                    room_id=room_id,
                    document_id=document.id,
                    day=today.isoformat(),
                    created_at=utc_now(),
                    data=alert_data(room, document, days_left),
                )
                detail = f"{document.id}: {document.name} expires on {day.isoformat()} ({days_left} days left)"
                report.alerts += self.documents.record_alert(alert, system_audit("document.expiring", detail))
        self.documents.record_run(today)
        return report
