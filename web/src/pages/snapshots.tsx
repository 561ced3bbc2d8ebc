/** A room's snapshots: create one, watch its progress, cancel, download, preview inline, delete. The list follows
 * the room's events: a snapshot someone else creates appears, a deleted one goes. */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Snapshot, type Task } from "../api";
import type { Can } from "../permissions";
import { lastKnown, subscribe, watchRoom, type TaskUpdate } from "../progress";
import { ErrorNote, Form, formatBytes, formatTime, Loading, text, useAction, usePages } from "../ui";

const SECTIONS = [
  ["include_documents", "Documents"],
  ["include_approvals", "Approvals"],
  ["include_activity", "Activity"],
] as const;

export function Snapshots({ roomId, can }: { roomId: string; can: Can }) {
  const list = usePages((cursor) => api.listSnapshots(roomId, cursor), [roomId]);
  const replace = (changed: Snapshot) =>
    list.setItems((items) => (items ?? []).map((item) => (item.id === changed.id ? changed : item)));
  const remove = (gone: Snapshot) => list.setItems((items) => (items ?? []).filter((item) => item.id !== gone.id));
  const items = useRef(list.items);
  items.current = list.items;
  const loaded = list.items !== null;

  // Watched from when the first page is in: its unfinished snapshots are then subscribed, and the channel's
  // first subscribe catches up with whatever changed since the list was read.
  useEffect(() => {
    if (!loaded) return;
    const asked = new Set<string>();
    const deleted = new Set<string>();
    return watchRoom(roomId, (event) => {
      const id = event.snapshot_id;
      if (event.status === "deleted") {
        deleted.add(id);
        return list.setItems((listed) => listed && listed.filter((item) => item.id !== id));
      }
      if (asked.has(id) || deleted.has(id) || items.current?.some((item) => item.id === id)) return;
      asked.add(id); // fetched once, however many of its events come meanwhile
      api.getSnapshot(roomId, id).then(
        (snapshot) =>
          !deleted.has(id) &&
          list.setItems((listed) => listed && (listed.some((item) => item.id === id) ? listed : [snapshot, ...listed])),
        () => {}, // gone already, or no longer ours to see: nothing to add
      );
    });
  }, [roomId, loaded]);

  return (
    <>
      {can("createSnapshot") && (
        <section class="card">
          <Form
            title="Create a snapshot"
            level={2}
            submit="Create snapshot"
            onSubmit={async (data) => {
              const snapshot = await api.createSnapshot(roomId, {
                title: text(data, "title"),
                include_documents: data.has("include_documents"),
                include_approvals: data.has("include_approvals"),
                include_activity: data.has("include_activity"),
              });
              // (its first event may have added it already)
              list.setItems((listed) => [snapshot, ...(listed ?? []).filter((item) => item.id !== snapshot.id)]);
            }}
          >
            <label>
              Title
              <input name="title" required maxLength={200} placeholder="Before transfer" />
            </label>
            <fieldset>
              <legend>Sections</legend>
              {SECTIONS.map(([name, label]) => (
                <label class="check">
                  <input type="checkbox" name={name} defaultChecked /> {label}
                </label>
              ))}
            </fieldset>
          </Form>
        </section>
      )}
      <section class="card" aria-labelledby="snapshots-heading">
        <h2 id="snapshots-heading">Snapshots</h2>
        {!list.items && !list.error && <Loading what="snapshots" />}
        {list.items?.length === 0 && <p class="muted">No snapshots of this room yet.</p>}
        <ul class="snapshots">
          {list.items?.map((snapshot) => (
            <SnapshotItem key={snapshot.id} snapshot={snapshot} can={can} onChange={replace} onDelete={remove} />
          ))}
        </ul>
        <ErrorNote error={list.error} />
        {list.next && (
          <button type="button" onClick={() => void list.more()} aria-busy={list.busy}>
            {list.busy ? "Loading…" : "Show older snapshots"}
          </button>
        )}
      </section>
    </>
  );
}

interface ItemProps {
  snapshot: Snapshot;
  can: Can;
  onChange: (snapshot: Snapshot) => void;
  onDelete: (snapshot: Snapshot) => void;
}

function SnapshotItem({ snapshot, can, onChange, onDelete }: ItemProps) {
  const [task, setTask] = useState<Task | null>(() => lastKnown(snapshot.task_id));
  const [preview, setPreview] = useState<string | null>(null);
  const generating = snapshot.status === "generating";

  useEffect(() => {
    if (!generating) return;
    return subscribe(
      [snapshot.task_id],
      (update: TaskUpdate) => {
        if (update.status === "not_found") return onDelete(snapshot);
        setTask(update);
        if (update.status === "completed" || update.status === "failed" || update.status === "cancelled") {
          onChange({
            ...snapshot,
            status: update.status,
            error: update.error,
            completed_at: update.completed_at,
            file_size: update.result?.file_size ?? snapshot.file_size,
            cache_layer: update.result?.cache_layer ?? snapshot.cache_layer,
          });
        }
      },
      snapshot.room_id,
    );
  }, [snapshot.task_id, generating]);
  useEffect(() => () => void (preview && URL.revokeObjectURL(preview)), [preview]);

  const action = useAction(async (work: () => Promise<void>) => work());
  const download = () =>
    action.run(async () => {
      const { blob, filename } = await api.download(snapshot);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = filename;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    });
  const togglePreview = () =>
    action.run(async () => {
      setPreview(preview ? null : URL.createObjectURL((await api.download(snapshot)).blob));
    });
  const cancel = () =>
    action.run(async () => {
      const cancelled = await api.cancelTask(snapshot.task_id);
      onChange({ ...snapshot, status: "cancelled", completed_at: cancelled.completed_at });
    });
  const remove = () =>
    action.run(async () => {
      if (!confirm(`Delete the snapshot "${snapshot.title}"?`)) return;
      await api.deleteSnapshot(snapshot.room_id, snapshot.id);
      onDelete(snapshot);
    });

  // Seen live, it keeps its bar once done, also when the list's copy finished before the task's last event came.
  const done = task !== null && snapshot.status === "completed";
  const progress = done ? 100 : (task?.progress ?? 0);
  const stage = done && task.status !== "completed" ? "Completed" : (task?.stage ?? "Requested");
  const sections = SECTIONS.filter(([name]) => snapshot[name]).map(([, label]) => label.toLowerCase());
  return (
    <li class={`snapshot ${snapshot.status}`}>
      <div class="snapshot-head">
        <h3>{snapshot.title}</h3>
        <span class={`status ${snapshot.status}`}>{snapshot.status}</span>
      </div>
      <p class="muted">
        {formatTime(snapshot.created_at)} by {snapshot.created_by} · parties, vessels
        {sections.length ? `, ${sections.join(", ")}` : ""}
        {snapshot.status === "completed" && ` · ${formatBytes(snapshot.file_size)}`}
      </p>
      {(generating || done) && (
        <div class="progress">
          <progress max={100} value={progress} aria-label={`Progress of ${snapshot.title}`} />
          <span aria-live="polite">
            {progress} % · {stage}
          </span>
        </div>
      )}
      {snapshot.status === "failed" && <p class="error">Failed: {snapshot.error ?? "no reason given"}</p>}
      <div class="actions">
        {snapshot.status === "completed" && can("download") && (
          <>
            <button type="button" onClick={() => void download()}>
              Download PDF<span class="visually-hidden"> of {snapshot.title}</span>
            </button>
            <button type="button" aria-expanded={preview !== null} onClick={() => void togglePreview()}>
              {preview ? "Hide preview" : "Preview"}
              <span class="visually-hidden"> of {snapshot.title}</span>
            </button>
          </>
        )}
        {generating && can("cancelSnapshot") && (
          <button type="button" onClick={() => void cancel()}>
            Cancel<span class="visually-hidden"> {snapshot.title}</span>
          </button>
        )}
        {can("deleteSnapshot") && (
          <button type="button" class="danger" onClick={() => void remove()}>
            Delete<span class="visually-hidden"> {snapshot.title}</span>
          </button>
        )}
      </div>
      <ErrorNote error={action.error} />
      {preview && <iframe class="preview" src={preview} title={`Preview of ${snapshot.title}`} />}
    </li>
  );
}
