"""The room and snapshot domain as pydantic models: API input, stored records and report content."""

import unicodedata
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

API_PREFIX = "/api/v1"
ID_PATTERN = r"^[0-9a-hjkmnp-tv-z]{26}$"
TASK_ID_PREFIX = "snapshot-"  # a snapshot's task id is this and the snapshot's id
TASK_ID_PATTERN = f"^{TASK_ID_PREFIX}{ID_PATTERN[1:]}"
# Where a completed snapshot's PDF came from: the renderer's memory (L1), S3 (L2), or a render.
CacheLayer = Literal["memory", "s3", "rendered"]
CACHE_LAYERS: tuple[CacheLayer, ...] = get_args(CacheLayer)
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


def normalize_email(text: str) -> str:
    """The one form in which emails are stored and compared: NFKC case-folded (Unicode's
    NFKC_Casefold), so that "Ａlice@Example.com" and "alice@example.com" are the same person."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip()).casefold())


Email = Annotated[
    str,
    BeforeValidator(lambda value: normalize_email(value) if isinstance(value, str) else value),
    StringConstraints(max_length=254, pattern=EMAIL_PATTERN),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


def iso(moment: datetime) -> str:
    """The one timestamp format of records: UTC, milliseconds, a trailing Z (sorts as text)."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return iso(datetime.now(UTC))


class Role(StrEnum):
    OWNER = "owner"
    BROKER = "broker"
    OPERATOR = "operator"
    INSPECTOR = "inspector"
    VIEWER = "viewer"


class DocumentStatus(StrEnum):
    MISSING = "missing"
    UPLOADED = "uploaded"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)


# Progress of a snapshot's task and the message a UI shows beside it.
STAGES = {
    0: "Queued, waiting for a renderer",
    10: "Rendering started",
    30: "Room data gathered",
    60: "PDF cache checked",
    80: "PDF rendered and stored",
    100: "Completed",
}


class Input(BaseModel):
    """Request bodies: unknown fields are rejected rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ requests


class RoomIn(Input):
    title: ShortText
    location: ShortText
    operation_time: datetime
    company: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class PartyIn(Input):
    email: Email
    company: ShortText
    role: Role


class PartyPatch(Input):
    role: Role


class VesselIn(Input):
    name: ShortText
    imo: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(IMO ?)?\d{7}$")]
    vessel_type: ShortText
    flag: ShortText

    @field_validator("imo")
    @classmethod
    def imo_check_digit(cls, value: str) -> str:
        """IMO numbers carry a check digit: the weighted sum 7..2 of the first six digits, mod 10."""
        digits = value[-7:]
        if sum(int(d) * w for d, w in zip(digits[:6], range(7, 1, -1), strict=False)) % 10 != int(digits[6]):
            raise ValueError("not a valid IMO number (check digit mismatch)")
        return digits


class DocumentIn(Input):
    name: ShortText
    document_type: ShortText
    status: DocumentStatus = DocumentStatus.MISSING
    expires_on: date | None = None
    vessel_imo: Annotated[str, StringConstraints(pattern=r"^\d{7}$")] | None = None


class DocumentPatch(Input):
    status: DocumentStatus


class ApprovalIn(Input):
    status: ApprovalStatus = ApprovalStatus.PENDING
    comment: LongText = ""
    party: Email | None = None  # whose approval this is (a party of the room); the recorder's own by default
    document_id: Annotated[str, StringConstraints(pattern=ID_PATTERN)] | None = None  # what it approves


class SnapshotIn(Input):
    title: ShortText
    snapshot_type: Literal["pdf"] = "pdf"
    include_documents: bool = True
    include_activity: bool = True
    include_approvals: bool = True


TaskIdText = Annotated[str, StringConstraints(pattern=TASK_ID_PATTERN)]


MAX_BULK_TASKS = 100


class BulkStatusIn(Input):
    task_ids: list[TaskIdText] = Field(min_length=1, description=f"1 to {MAX_BULK_TASKS} task ids; more is a 400")


# ------------------------------------------------------------------ stored records


class Room(BaseModel):
    id: str
    title: str
    location: str
    operation_time: str
    created_by: str
    created_at: str
    updated_at: str
    version: int = 1  # +1 with every change to the room's data


# Each record extends the part of it that a report prints: the report models hold exactly the
# printed fields, so the content hash covers what is printed and nothing else.


class PartyLine(BaseModel):
    email: str
    company: str
    role: Role


class Party(PartyLine):
    added_at: str


class VesselLine(BaseModel):
    name: str
    imo: str
    vessel_type: str
    flag: str


class Vessel(VesselLine):
    added_at: str


class DocumentLine(BaseModel):
    id: str
    name: str
    document_type: str
    status: DocumentStatus
    expires_on: date | None = None
    vessel_imo: str | None = None


class Document(DocumentLine):
    updated_at: str


class ApprovalLine(BaseModel):
    id: str
    status: ApprovalStatus
    comment: str
    by: str
    at: str
    party: str | None = None  # whose approval it is, when recorded for a party other than `by`
    document_id: str | None = None  # the document it approves; None: the transfer as a whole


class Approval(ApprovalLine):
    pass


ActivityCategory = Literal["room", "audit"]


class ActivityLine(BaseModel):
    at: str
    actor: str
    action: str
    detail: str = ""


class Activity(ActivityLine):
    """One line of a room's activity log. `room` entries record changes to the room's data and are
    printed in its reports; `audit` entries (snapshot created, downloaded, cancelled, deleted) record
    access, so reading a room never changes what its report would print."""

    id: str
    category: ActivityCategory = "room"


class RoomDetail(Room):
    parties: list[Party] = []
    vessels: list[Vessel] = []
    documents: list[Document] = []
    approvals: list[Approval] = []


class Timings(BaseModel):
    queue_wait_ms: float | None = None
    gather_ms: float | None = None
    render_ms: float | None = None
    sign_ms: float | None = None
    store_ms: float | None = None
    total_ms: float | None = None


class Snapshot(BaseModel):
    """A snapshot and its generation task live in one record: one write creates both."""

    id: str
    room_id: str
    title: str
    snapshot_type: Literal["pdf"] = "pdf"
    include_documents: bool = True
    include_activity: bool = True
    include_approvals: bool = True
    created_by: str
    created_at: str
    task_status: TaskStatus = TaskStatus.PENDING
    progress: int = 0
    stage: str = STAGES[0]
    started_at: str | None = None
    completed_at: str | None = None
    error: str | None = None
    file_size: int = 0
    content_hash: str | None = None
    pdf_sha256: str | None = None  # of the signed PDF's bytes: what POST /verify looks up
    cache_layer: CacheLayer | None = None
    timings: Timings = Timings()
    correlation_id: str | None = None
    attempts: int = 0
    requeues: int = 0
    last_error: str | None = None
    lease_until: int | None = None  # epoch ms until which the renderer that claimed it holds it

    @property
    def task_id(self) -> str:
        return f"{TASK_ID_PREFIX}{self.id}"

    @property
    def status(self) -> str:
        """The legacy snapshot status: generating until the task is terminal."""
        return self.task_status.value if self.task_status.terminal else "generating"

    @property
    def download_url(self) -> str:
        return f"{API_PREFIX}/rooms/{self.room_id}/snapshots/{self.id}/download"


# ------------------------------------------------------------------ report content


class ReportRoom(BaseModel):
    title: str
    location: str
    operation_time: str
    data_as_of: str


class ReportContent(BaseModel):
    """Everything a snapshot PDF prints, and nothing else: its canonical JSON is what the content
    hash covers (with the template and ReportLab versions). Sections not asked for are None."""

    model_config = ConfigDict(frozen=True)

    title: str
    room: ReportRoom
    expiry_checked_on: date = Field(description="Day the document expiry flags are evaluated on")
    parties: list[PartyLine]
    vessels: list[VesselLine]
    documents: list[DocumentLine] | None
    approvals: list[ApprovalLine] | None
    activity: list[ActivityLine] | None
