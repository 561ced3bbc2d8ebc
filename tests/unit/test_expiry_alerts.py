"""The daily expiry run against in-memory fakes: its window, its data, once per document per day."""

from datetime import date

from roomsnap.models import Document, DocumentStatus, RoomDetail, Vessel

from expiry.logic import ExpiryAlerts, window

TODAY = date(2026, 3, 10)


def test_the_window_is_today_to_n_days_ahead_and_back_to_the_day_after_the_last_run():
    assert window(TODAY, None, 2) == [date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)]
    assert window(TODAY, date(2026, 3, 9), 1) == [date(2026, 3, 10), date(2026, 3, 11)]  # daily runs
    assert window(TODAY, date(2026, 3, 7), 0) == [date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)]
    assert window(TODAY, TODAY, 0) == [TODAY]  # a second run the same day


def document(document_id: str, expires_on: date, vessel_imo: str | None = "9074729") -> Document:
    return Document(
        id=document_id,
        name=f"Certificate {document_id}",
        document_type="certificate",
        status=DocumentStatus.APPROVED,
        expires_on=expires_on,
        vessel_imo=vessel_imo,
        updated_at="t",
    )


ROOM = RoomDetail(
    id="r1",
    title="STS Malta",
    location="Hurd's Bank",
    operation_time="t",
    created_by="o@x.io",
    created_at="t",
    updated_at="t",
    vessels=[Vessel(name="MT Seawise", imo="9074729", vessel_type="tanker", flag="MT", added_at="t")],
)


class FakeDocuments:
    """The index by expiry day, the alert records (written once per document and day), the last run."""

    def __init__(self, by_day: dict[date, list[tuple[str, Document]]], last_run: date | None = None):
        self.by_day = by_day
        self.days_read: list[date] = []
        self.alerts: dict[tuple[str, str], tuple] = {}
        self.run_day = last_run

    def expiring_on(self, day):
        self.days_read.append(day)
        return self.by_day.get(day, [])

    def record_alert(self, alert, audit):
        key = (alert.document_id, alert.day)
        if key in self.alerts:
            return False
        self.alerts[key] = (alert, audit)
        return True

    def last_run(self):
        return self.run_day

    def record_run(self, day):
        self.run_day = day


class FakeRooms:
    def __init__(self):
        self.reads = 0

    def get_room_detail(self, room_id):
        self.reads += 1
        return ROOM if room_id == "r1" else None


def test_each_document_in_the_window_is_announced_once_a_day_with_room_vessel_and_days_left():
    documents = FakeDocuments(
        {
            date(2026, 3, 10): [("r1", document("d1", date(2026, 3, 10)))],
            date(2026, 3, 13): [("r1", document("d2", date(2026, 3, 13), vessel_imo=None))],
            date(2026, 3, 11): [("gone", document("d3", date(2026, 3, 11)))],  # its room was deleted
        }
    )
    rooms = FakeRooms()
    alerts = ExpiryAlerts(documents, rooms, days_ahead=14)

    report = alerts.run(TODAY)

    assert documents.days_read == [date(2026, 3, 10 + offset) for offset in range(15)]  # 15 partitions read
    assert report.as_dict() == {"days_read": 15, "documents": 2, "alerts": 2}
    assert rooms.reads == 2  # each room once per run
    first, audit = documents.alerts[("d1", "2026-03-10")]
    assert first.data == {
        "room": {"id": "r1", "title": "STS Malta"},
        "document": {
            "id": "d1",
            "name": "Certificate d1",
            "document_type": "certificate",
            "status": "approved",
            "expires_on": "2026-03-10",
        },
        "vessel": {"imo": "9074729", "name": "MT Seawise"},
        "days_left": 0,
    }
    assert documents.alerts[("d2", "2026-03-10")][0].data["days_left"] == 3
    assert documents.alerts[("d2", "2026-03-10")][0].data["vessel"] is None
    assert (audit.category, audit.action, audit.actor) == ("audit", "document.expiring", "room-snapshots")
    assert documents.run_day == TODAY
    # A second run the same day announces nothing again
    assert alerts.run(TODAY).alerts == 0


def test_documents_that_expired_while_no_run_happened_are_announced_with_negative_days_left():
    documents = FakeDocuments({date(2026, 3, 8): [("r1", document("d1", date(2026, 3, 8)))]}, last_run=date(2026, 3, 6))
    assert ExpiryAlerts(documents, FakeRooms(), days_ahead=0).run(TODAY).alerts == 1
    assert documents.alerts[("d1", "2026-03-10")][0].data["days_left"] == -2
