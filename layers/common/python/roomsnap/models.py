"""The room and snapshot domain as pydantic models: API input, stored records and report content."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from roomsnap.clearance import Clearance
from roomsnap.model_base import Model as Model  # re-exported: the base of every model
from roomsnap.times import iso as iso  # re-exported: the records' timestamp format
from roomsnap.times import utc_now as utc_now

API_PREFIX = "/api/v1"
ID_PATTERN = r"^[0-9a-hjkmnp-tv-z]{26}$"
TASK_ID_PREFIX = "snapshot-"  # a snapshot's task id is this and the snapshot's id
TASK_ID_PATTERN = f"^{TASK_ID_PREFIX}{ID_PATTERN[1:]}"
IMO_PATTERN = "^[0-9]{7}$"
# Where a completed snapshot's PDF came from: the renderer's memory (L1), S3 (L2), or a render.
CacheLayer = Literal["memory", "s3", "rendered"]
CACHE_LAYERS: tuple[CacheLayer, ...] = get_args(CacheLayer)

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


# ------------------------------------------------------------------ what text may hold

# Text may hold any character a person can type in any script, symbols and emoji included, but not
# C0 and C1 control characters (tab and newline are allowed where text has lines), lone surrogates
# (halves of a UTF-16 pair, no character at all) nor noncharacters (reserved by Unicode for a
# program's internal use, never for interchange).
NONCHARACTERS = [(0xFDD0, 0xFDEF)] + [(plane * 0x10000 + 0xFFFE, plane * 0x10000 + 0xFFFF) for plane in range(17)]


def _refused_ranges(lines: bool) -> list[tuple[int, int]]:
    c0 = [(0x00, 0x08), (0x0B, 0x1F)] if lines else [(0x00, 0x1F)]
    return [*c0, (0x7F, 0x9F), (0xD800, 0xDFFF), *NONCHARACTERS]


def _class_item(code: int) -> str:
    """A character of a pattern's class in the syntax ECMA-262 (with the u flag, as JSON Schema asks)
    and Python's re share: a \\u escape in the Basic Multilingual Plane, the character itself above it."""
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def refused_class(lines: bool) -> str:
    """The characters text may not hold, as the inside of a regular expression's character class."""
    return "".join(
        _class_item(low) + (f"-{_class_item(high)}" if high != low else "") for low, high in _refused_ranges(lines)
    )


def _describe(char: str) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        kind = "a lone surrogate"
    elif code < 0x20 or 0x7F <= code <= 0x9F:
        kind = "a control character"
    else:
        kind = "a noncharacter"
    return f"U+{code:04X} ({kind})"


@dataclass(frozen=True)
class Printable:
    """Refuses text holding what `refused_class` names, before anything strips or changes it, with
    a message naming the character; states the same rule in the JSON Schema as a `pattern`.
    `nonblank`: the text must hold something besides whitespace (stated in the pattern too)."""

    lines: bool = False
    nonblank: bool = False
    stated_as: str = ""  # the pattern the JSON Schema states, when the text has a stricter shape than this

    @property
    def pattern(self) -> str:
        if self.stated_as:
            return self.stated_as
        refused = refused_class(self.lines)
        if self.nonblank:
            return f"^[^{refused}]*[^\\s{refused}][^{refused}]*$"
        return f"^[^{refused}]*$"

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        refused = re.compile(f"[{refused_class(self.lines)}]")
        allowed = " (tab and newline excepted)" if self.lines else ""

        def check(value: Any) -> Any:
            if isinstance(value, str) and (found := refused.search(value)):
                raise PydanticCustomError(
                    "unprintable_text",
                    "holds {character}: text may hold any character except control characters{allowed}, lone "
                    "surrogates and noncharacters",
                    {"character": _describe(found.group()), "allowed": allowed},
                )
            return value

        return core_schema.no_info_before_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict:
        described = handler(schema)
        described["pattern"] = self.pattern
        return described


# Strict: a moment is a string in RFC 3339 (ISO 8601 with an offset), a day a full date; numbers,
# and strings of digits that pydantic would read as seconds since 1970, are refused.
DAY_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
MOMENT_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"


@dataclass(frozen=True)
class Written:
    """A date or time accepted from JSON only as a string of its pattern (stated in the JSON Schema too)."""

    pattern: str
    what: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        shape = re.compile(self.pattern)

        def check(value: Any) -> Any:
            if isinstance(value, date) or (isinstance(value, str) and shape.match(value)):
                return value  # a date or datetime object, from code rather than JSON, is taken as it is
            raise PydanticCustomError("iso_8601", "must be {what}", {"what": self.what})

        return core_schema.no_info_before_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict:
        described = handler(schema)
        described["pattern"] = self.pattern
        return described


Moment = Annotated[
    datetime, Written(MOMENT_PATTERN, "a date and time in ISO 8601 with its offset, such as 2026-12-01T06:00:00Z")
]
Day = Annotated[date, Written(DAY_PATTERN, "a date in ISO 8601, such as 2027-01-15")]


def normalize_email(text: str) -> str:
    """The one form in which emails are stored and compared: NFKC case-folded (Unicode's
    NFKC_Casefold), so that "Ａlice@Example.com" and "alice@example.com" are the same person."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip()).casefold())


_EMAIL_PART = f"[^@\\s{refused_class(lines=False)}]+"
EMAIL_PATTERN = f"^{_EMAIL_PART}@{_EMAIL_PART}\\.{_EMAIL_PART}$"

_EMAIL_SHAPE = re.compile(EMAIL_PATTERN)


def _email_shape(value: str) -> str:
    if not _EMAIL_SHAPE.match(value):
        raise PydanticCustomError("email", "is not an email address (name@domain.tld)")
    return value


# Checked as sent (what it may hold), then normalized, then for its shape.
Email = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_email_shape),
    BeforeValidator(lambda value: normalize_email(value) if isinstance(value, str) else value),
    Printable(stated_as=EMAIL_PATTERN),
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Printable(nonblank=True)
]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), Printable()]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), Printable(lines=True)]
Imo = Annotated[str, StringConstraints(strip_whitespace=True, pattern="^(IMO ?)?[0-9]{7}$")]
ImoDigits = Annotated[str, StringConstraints(pattern=IMO_PATTERN)]


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


class Input(Model):
    """Request bodies: unknown fields are rejected rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ requests


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def given(description: str | None = None) -> Any:
    """A field of a correction: absent leaves the value as it is (so it has no default to state)."""
    return Field(default=None, description=description, json_schema_extra=_no_default)


class Patch(Input):
    """A correction: the fields given are changed, the others kept; at least one must be given (and
    null only where a value may be cleared)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def something_to_change(self) -> "Patch":
        if not self.model_fields_set:
            raise PydanticCustomError(
                "nothing_to_change", "give at least one of {fields}", {"fields": ", ".join(type(self).model_fields)}
            )
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given, in the model's order."""
        return {name: getattr(self, name) for name in type(self).model_fields if name in self.model_fields_set}


def imo_check_digit(value: str) -> str:
    """IMO numbers carry a check digit: the weighted sum 7..2 of the first six digits, mod 10."""
    digits = value[-7:]
    if sum(int(d) * w for d, w in zip(digits[:6], range(7, 1, -1), strict=False)) % 10 != int(digits[6]):
        raise ValueError("not a valid IMO number (check digit mismatch)")
    return digits


class RoomIn(Input):
    title: ShortText
    location: ShortText
    operation_time: Moment
    company: OptionalText = ""


class RoomPatch(Patch):
    title: ShortText = given()
    location: ShortText = given()
    operation_time: Moment = given()


class PartyIn(Input):
    email: Email
    company: ShortText
    role: Role


class PartyPatch(Patch):
    role: Role = given()
    company: ShortText = given()


class VesselIn(Input):
    name: ShortText
    imo: Imo
    vessel_type: ShortText
    flag: ShortText

    _imo_check_digit = field_validator("imo")(imo_check_digit)


class VesselPatch(Patch):
    name: ShortText = given()
    imo: Imo = given()
    vessel_type: ShortText = given()
    flag: ShortText = given()

    _imo_check_digit = field_validator("imo")(imo_check_digit)


class DocumentIn(Input):
    name: ShortText
    document_type: ShortText
    status: DocumentStatus = DocumentStatus.MISSING
    expires_on: Day | None = None
    vessel_imo: ImoDigits | None = Field(default=None, description="A vessel of the room")


class DocumentPatch(Patch):
    name: ShortText = given()
    document_type: ShortText = given()
    status: DocumentStatus = given()
    expires_on: Day | None = given()
    vessel_imo: ImoDigits | None = given("A vessel of the room, or null for none")


class ApprovalIn(Input):
    status: ApprovalStatus = ApprovalStatus.PENDING
    comment: LongText = ""
    party: Email | None = Field(default=None, description="Whose approval: a party of the room (else the recorder's)")
    document_id: Id | None = Field(default=None, description="The document it approves (else the transfer as a whole)")


class ApprovalPatch(Patch):
    status: ApprovalStatus = given()
    comment: LongText = given()
    party: Email | None = given("Whose approval: a party of the room, or null for the recorder's own")
    document_id: Id | None = given("The document it approves, or null for the transfer as a whole")


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


class Room(Model):
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


class PartyLine(Model):
    email: str
    company: str
    role: Role


class Party(PartyLine):
    added_at: str


class VesselLine(Model):
    name: str
    imo: str
    vessel_type: str
    flag: str


class Vessel(VesselLine):
    added_at: str


class DocumentLine(Model):
    id: str
    name: str
    document_type: str
    status: DocumentStatus
    expires_on: date | None = None
    vessel_imo: str | None = None


class Document(DocumentLine):
    updated_at: str


class ApprovalLine(Model):
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


class ActivityLine(Model):
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


class Timings(Model):
    queue_wait_ms: float | None = None
    gather_ms: float | None = None
    render_ms: float | None = None
    sign_ms: float | None = None
    store_ms: float | None = None
    total_ms: float | None = None


class Snapshot(Model):
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
    clearance: Clearance | None = None  # the verdict its PDF prints (set on completion)

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


class ReportRoom(Model):
    id: str  # printed in every page's footer
    title: str
    location: str
    operation_time: str
    data_as_of: str


class ReportContent(Model):
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
    # Where anyone holding the PDF can have it verified (the deployment's /verify page), in the footer.
    verify_url: str | None = None
