"""The snapshot as the API shows it: the legacy contract (field names fixed; fields are only ever
added). In the layer because webhooks carry the same view as `GET …/snapshots/{id}` answers, so a
`snapshot.completed` event carries the clearance its PDF printed, and a failed or cancelled one,
which printed nothing, none."""

from typing import Literal

from pydantic import ConfigDict, Field

from roomsnap.clearance import Clearance
from roomsnap.models import CacheLayer, Model, Snapshot, Timings


class View(Model):
    """Every field of a response is always present (None where it has no value yet)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class SnapshotView(View):
    id: str
    room_id: str
    title: str
    created_by: str
    created_at: str
    status: Literal["generating", "completed", "failed", "cancelled"]
    file_size: int
    snapshot_type: Literal["pdf"]
    download_url: str
    task_id: str
    include_documents: bool
    include_activity: bool
    include_approvals: bool
    completed_at: str | None
    error: str | None
    content_hash: str | None
    pdf_sha256: str | None = Field(description="SHA-256 of the signed PDF's bytes (POST /verify takes it)")
    cache_layer: CacheLayer | None
    timings: Timings
    clearance: Clearance | None = Field(
        description="The verdict the snapshot's PDF printed (once completed; none for a failed or cancelled one)"
    )


def snapshot_view(snapshot: Snapshot) -> dict:
    return SnapshotView.model_validate(snapshot, from_attributes=True).model_dump(mode="json")
