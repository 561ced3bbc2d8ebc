"""Builders shared by the integration tests: records made through the product's own repositories."""

from datetime import UTC, datetime

from roomsnap.dal.signing_key import certificate_chain
from roomsnap.dal.storage import pdf_key
from roomsnap.ids import new_id
from roomsnap.models import Activity, Party, Role, Room, Snapshot, utc_now
from roomsnap.webhooks import Webhook, new_secret, system_audit

from renderer.logic.cache import ByteBoundedLRU
from renderer.logic.render import SnapshotRenderer
from renderer.logic.signing import PdfSealer, SignerSettings
from renderer.report import LIBRARY_VERSION, TEMPLATE_VERSION, render_report


def sealer(parts) -> PdfSealer:
    """The renderer's signer over moto's KMS key, certified by the development CA."""
    return PdfSealer(parts["signing_key"], SignerSettings(certificate_chain(parts["certificate_parameter"])))


def make_renderer(parts, render=render_report, claim_rows: int | None = None, sign=None) -> SnapshotRenderer:
    """claim_rows=0: every render claims the task (and holds a lease) first, as large rooms do;
    `sign` replaces the development signer (a sealer with other settings)."""
    return SnapshotRenderer(
        parts["rooms"],
        parts["snapshots"],
        parts["pdf_records"],
        parts["pdfs"],
        ByteBoundedLRU(8 << 20),
        render,
        TEMPLATE_VERSION,
        LIBRARY_VERSION,
        sign=sign or sealer(parts).sign,
        issuances=parts["issuances"],
        **({} if claim_rows is None else {"claim_rows": claim_rows}),
    )


def new_room(parts, title="Integration room") -> str:
    now = utc_now()
    room = Room(
        id=new_id(),
        title=title,
        location="Off Malta",
        operation_time="2026-12-01T06:00:00+00:00",
        created_by="o@x.io",
        created_at=now,
        updated_at=now,
    )
    owner = Party(email="o@x.io", company="Owner", role=Role.OWNER, added_at=now)
    parts["rooms"].create_room(room, owner, Activity(id=new_id(), at=now, actor="o@x.io", action="room.created"))
    return room.id


def new_snapshot(parts, room_id: str, title="Same") -> Snapshot:
    snapshot = Snapshot(id=new_id(), room_id=room_id, title=title, created_by="o@x.io", created_at=utc_now())
    audit = Activity(id=new_id(), at=snapshot.created_at, actor="o@x.io", action="snapshot.created", category="audit")
    parts["snapshots"].create(snapshot, audit, guards=[])
    return snapshot


def process(renderer, snapshot):
    return renderer.process(snapshot.id, datetime.now(UTC), lease_seconds=30)


def objects(parts, content_hash):
    return parts["s3"].list_objects_v2(Bucket=parts["bucket"], Prefix=pdf_key(content_hash)).get("KeyCount", 0)


def new_webhook(hooks, url="http://127.0.0.1:9/hook") -> tuple[Webhook, str]:
    room_id = new_room(hooks)
    webhook_id, secret, now = new_id(), new_secret(), utc_now()
    webhook = Webhook(
        id=webhook_id,
        room_id=room_id,
        url=url,
        events=["snapshot.completed"],
        created_by="o@x.io",
        created_at=now,
        updated_at=now,
        secret_ciphertext=hooks["secrets"].seal(secret, room_id, webhook_id),
    )
    hooks["webhooks"].create(webhook, audit_line("webhook.created"))
    return webhook, secret


def audit_line(action):
    return system_audit(action, "test")
