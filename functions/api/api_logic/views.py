"""Response shapes of the legacy contract (field names fixed; fields are only ever added)."""

from roomsnap.models import Snapshot, TaskStatus


def snapshot_view(snapshot: Snapshot) -> dict:
    return {
        "id": snapshot.id,
        "room_id": snapshot.room_id,
        "title": snapshot.title,
        "created_by": snapshot.created_by,
        "created_at": snapshot.created_at,
        "status": snapshot.status,
        "file_size": snapshot.file_size,
        "snapshot_type": snapshot.snapshot_type,
        "download_url": snapshot.download_url,
        "task_id": snapshot.task_id,
        "include_documents": snapshot.include_documents,
        "include_activity": snapshot.include_activity,
        "include_approvals": snapshot.include_approvals,
        "completed_at": snapshot.completed_at,
        "error": snapshot.error,
        "content_hash": snapshot.content_hash,
        "cache_layer": snapshot.cache_layer,
        "timings": snapshot.timings.model_dump(),
    }


def task_view(snapshot: Snapshot) -> dict:
    completed = snapshot.task_status is TaskStatus.COMPLETED
    return {
        "task_id": snapshot.task_id,
        "task_type": "generate_pdf",
        "status": snapshot.task_status.value,
        "progress": snapshot.progress,
        "stage": snapshot.stage,
        "created_at": snapshot.created_at,
        "started_at": snapshot.started_at,
        "completed_at": snapshot.completed_at,
        "result": {
            "snapshot_id": snapshot.id,
            "room_id": snapshot.room_id,
            "file_size": snapshot.file_size,
            "download_url": snapshot.download_url,
            "content_hash": snapshot.content_hash,
            "cache_layer": snapshot.cache_layer,
        }
        if completed
        else None,
        "error": snapshot.error,
    }
