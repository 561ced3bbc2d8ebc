"""The API's configured services, built once per container at cold start from its settings."""

from functools import partial

from roomsnap.config import settings
from roomsnap.content import Budget
from roomsnap.dal import RoomRepository, SnapshotRepository
from roomsnap.dal.api_latency import ApiLatencyStats
from roomsnap.dal.create_limits import CreateLimits, Limits
from roomsnap.dal.generation_log import GenerationLog
from roomsnap.dal.idempotency import IdempotencyKeys
from roomsnap.dal.queues import DeadLetterQueue, QueueDepths, RenderQueue, WebhookQueue
from roomsnap.dal.secrets import SecretBox
from roomsnap.dal.storage import PdfStore
from roomsnap.dal.webhooks import DeliveryLog, MessageRepository, WebhookRepository
from roomsnap.snapstart import after_restore
from roomsnap.ssrf import check_url

from api.logic.latency import LatencyRecorder
from api.logic.metrics import MetricsService
from api.logic.rooms import RoomService
from api.logic.snapshots import SnapshotService
from api.logic.webhooks import WebhookService, WebhookServices

SETTINGS = settings()
rooms = RoomService(RoomRepository(SETTINGS.table_name))
snapshots = SnapshotService(
    rooms,
    SnapshotRepository(SETTINGS.table_name, SETTINGS.snapshot_retention_days),
    IdempotencyKeys(SETTINGS.table_name),
    CreateLimits(
        SETTINGS.table_name,
        Limits(SETTINGS.snapshots_per_minute, SETTINGS.snapshots_per_hour, SETTINGS.max_unfinished_snapshots),
    ),
    PdfStore(SETTINGS.bucket_name),
    RenderQueue(SETTINGS.render_queue_url, copies=2 if SETTINGS.fault_duplicate_sends else 1),
    Budget(SETTINGS.report_max_rows, SETTINGS.report_max_characters),
)
metrics = MetricsService(
    GenerationLog(SETTINGS.table_name),
    ApiLatencyStats(SETTINGS.table_name),
    SnapshotRepository(SETTINGS.table_name),
    QueueDepths({"render_queue": SETTINGS.render_queue_url, "dead_letter_queue": SETTINGS.dead_letter_queue_url}),
)
latency = LatencyRecorder(ApiLatencyStats(SETTINGS.table_name), SETTINGS.api_stats_flush_seconds)
after_restore(latency.restart_clock)
dead_letters = DeadLetterQueue(SETTINGS.dead_letter_queue_url)
webhooks = WebhookService(
    rooms,
    WebhookServices(
        WebhookRepository(SETTINGS.table_name),
        MessageRepository(SETTINGS.table_name, SETTINGS.webhook_log_retention_days),
        DeliveryLog(SETTINGS.table_name, SETTINGS.webhook_log_retention_days),
        SecretBox(SETTINGS.webhook_key_id),
        WebhookQueue(SETTINGS.webhook_queue_url),
        partial(check_url, loopback_only=SETTINGS.webhook_loopback_only),
    ),
)
