/**
 * The one source of task progress for every page: subscribe(taskIds, onUpdate) until the tasks finish, and
 * watchRoom(roomId, onRoomEvent) for what happens to a room's snapshots.
 *
 * Two sources behind it. Pushed: a watched room's channel (live.ts, AppSync Events) carries every change of
 * the room's tasks; while it is up nothing is polled, and after each (re)subscribe ONE bulk-status call
 * catches up with what was missed while it was down (AppSync replays nothing); a pushed task nothing was
 * heard of for a minute is asked about once (a publish the notifier dropped). Polled, for tasks of no room
 * with an up channel (no channel configured, or it failed and is being retried): every such task on screen
 * in ONE bulk-status call, again after the Retry-After the server sends (1 s without one), backing off while
 * nothing moves and after errors, pausing while the tab is hidden, and stopping when nothing is left to watch.
 */
import { api, ApiError, type Snapshot, type Task, type TaskStatus } from "./api";
import { listen, liveConfigured } from "./live";

/** A task's latest state, or word that it is gone (deleted, or not visible to this user). */
export type TaskUpdate = Task | { task_id: string; status: "not_found" };
/** What a room's channel says of one of its snapshots: created (pending), claimed or moved, finished, deleted. */
export interface RoomEvent {
  task_id: string;
  snapshot_id: string;
  status: TaskStatus | "deleted";
  progress: number;
  stage: string;
  at: string;
}
type Listener = (update: TaskUpdate) => void;
type RoomListener = (event: RoomEvent) => void;

interface WatchedRoom {
  listeners: Set<RoomListener>;
  /** connecting: the channel's first try, before it has failed (nothing polled yet); up: subscribed. */
  state: "connecting" | "up" | "down";
  stop: () => void;
}

const FIRST_DELAY_S = 1;
const MAX_DELAY_S = 10; // while nothing changes
const MAX_ERROR_DELAY_S = 30;
const MAX_TASKS_PER_CALL = 100; // the API's bound; beyond it the rest wait for the next round
const MAX_REMEMBERED_EVENTS = 500;
// A pushed task its channel has said nothing of for this long is asked about once: the notifier drops a
// publish that fails rather than hold the stream, so an event can be missed with the socket still up.
const SILENCE_CHECK_S = 60;

const listeners = new Map<string, Set<Listener>>();
const lastSeen = new Map<string, string>();
const roomOfTask = new Map<string, string>();
const rooms = new Map<string, WatchedRoom>();
/** The last event of each task of a watched room, for a listener that comes after it (a snapshot just listed). */
const lastEvent = new Map<string, { roomId: string; event: RoomEvent }>();
/** When each task's last event came: a bulk-status answer asked for before it is older than the event. */
const eventAt = new Map<string, number>();
/** The snapshot fetched for a task's terminal event (its error, size and cache layer), once per task. */
const finishing = new Map<string, Promise<TaskUpdate>>();
/** When each watched task was last heard of (its subscription, an event, a poll). */
const heardAt = new Map<string, number>();
let silenceTimer: ReturnType<typeof setInterval> | undefined;
let checkingSilence = false;
let timer: ReturnType<typeof setTimeout> | null = null;
let delay = FIRST_DELAY_S;
let polling = false;
let askAgainAtOnce = false;

/** Calls onUpdate with each new state of these tasks until they finish; roomId lets the room's channel carry them. */
export function subscribe(taskIds: string[], onUpdate: Listener, roomId?: string): () => void {
  const fresh = taskIds.filter((id) => !listeners.has(id));
  for (const id of taskIds) {
    if (!listeners.has(id)) listeners.set(id, new Set());
    listeners.get(id)!.add(onUpdate);
    if (!heardAt.has(id)) heardAt.set(id, performance.now());
    const room = roomId ?? lastEvent.get(id)?.roomId;
    if (room) roomOfTask.set(id, room);
  }
  for (const id of fresh) {
    const last = lastEvent.get(id);
    if (last) queueMicrotask(() => deliver(last.event)); // it came before this listener did
  }
  silenceTimer ??= setInterval(checkSilence, SILENCE_CHECK_S * 1000);
  if (fresh.some((id) => !pushed(id))) {
    delay = FIRST_DELAY_S;
    schedule(0); // new tasks are worth asking about now; subscriptions of the same tick share the call
  }
  return () => {
    for (const id of taskIds) {
      listeners.get(id)?.delete(onUpdate);
      if (!listeners.get(id)?.size) forget(id);
    }
  };
}

/** The task's state as the room's channel last told it, if it did (to show a bar for a snapshot just listed). */
export function lastKnown(taskId: string): Task | null {
  const event = lastEvent.get(taskId)?.event;
  return event && event.status !== "deleted" ? taskOf(event) : null;
}

/**
 * Calls onRoomEvent with every event of the room's channel (a snapshot created, moved, finished or deleted, by
 * anyone) until the returned function is called; meanwhile the room's tasks come from the channel, not polls.
 * Without a channel (none configured, or down) it calls nothing, and the room's tasks are polled.
 */
export function watchRoom(roomId: string, onRoomEvent: RoomListener): () => void {
  let room = rooms.get(roomId);
  if (!room) {
    const watched: WatchedRoom = {
      listeners: new Set(),
      state: liveConfigured() ? "connecting" : "down",
      stop: () => {},
    };
    rooms.set(roomId, watched);
    room = watched;
    if (liveConfigured()) {
      const stop = listen(`/rooms/${roomId}`, {
        onEvent: (event) => received(roomId, event),
        onState: (up) => changed(roomId, watched, up),
      });
      if (rooms.get(roomId) === watched) watched.stop = stop;
      else stop(); // ended while listen() was starting (the session was over)
    }
  }
  const watched = room;
  watched.listeners.add(onRoomEvent);
  return () => {
    watched.listeners.delete(onRoomEvent);
    if (watched.listeners.size || rooms.get(roomId) !== watched) return;
    rooms.delete(roomId);
    watched.stop();
    forgetEvents(roomId);
    if ([...listeners.keys()].some((id) => roomOfTask.get(id) === roomId)) schedule(0); // polled from now on
  };
}

function changed(roomId: string, room: WatchedRoom, up: boolean): void {
  if (rooms.get(roomId) !== room) return;
  if (up) {
    if (room.state === "up") return;
    room.state = "up";
    void reconcile(roomId);
  } else {
    if (room.state === "down") return;
    room.state = "down";
    forgetEvents(roomId); // what the channel said may be overtaken by what it could not say
    delay = FIRST_DELAY_S;
    schedule(0); // the polls take over until the channel is back
  }
}

/** The channel is (again) up: ONE bulk-status call for the room's unfinished tasks catches up with what it missed. */
async function reconcile(roomId: string): Promise<void> {
  const ids = [...listeners.keys()].filter((id) => roomOfTask.get(id) === roomId).slice(0, MAX_TASKS_PER_CALL);
  if (!ids.length) return;
  const asked = performance.now();
  try {
    apply(await api.bulkStatus(ids), asked);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) listeners.clear(); // signed out: nothing to show
    // otherwise the channel's events still come
  }
}

function received(roomId: string, raw: unknown): void {
  const event = raw as Partial<RoomEvent> | null;
  if (typeof event?.task_id !== "string" || typeof event.snapshot_id !== "string" || typeof event.status !== "string")
    return;
  const known: RoomEvent = {
    task_id: event.task_id,
    snapshot_id: event.snapshot_id,
    status: event.status,
    progress: typeof event.progress === "number" ? event.progress : 0,
    stage: typeof event.stage === "string" ? event.stage : "",
    at: typeof event.at === "string" ? event.at : new Date().toISOString(),
  };
  if (listeners.has(known.task_id)) roomOfTask.set(known.task_id, roomId);
  lastEvent.delete(known.task_id); // (re)inserted last, so that the oldest go first
  lastEvent.set(known.task_id, { roomId, event: known });
  eventAt.set(known.task_id, performance.now());
  heardAt.set(known.task_id, performance.now());
  if (lastEvent.size > MAX_REMEMBERED_EVENTS) forgetEvent(lastEvent.keys().next().value!);
  deliver(known);
  for (const listener of [...(rooms.get(roomId)?.listeners ?? [])]) listener(known);
}

/** An event to the task's listeners, as the TaskUpdate a poll would have given. */
function deliver(event: RoomEvent): void {
  if (!listeners.has(event.task_id)) return;
  if (event.status === "deleted") return void publish({ task_id: event.task_id, status: "not_found" });
  if (event.status === "pending" || event.status === "running") return void publish(taskOf(event));
  // Finished: the event has no error, size or cache layer; the snapshot has them (one request per snapshot).
  const roomId = roomOfTask.get(event.task_id);
  if (!roomId) return void publish(taskOf(event));
  if (!finishing.has(event.task_id)) {
    finishing.set(
      event.task_id,
      api.getSnapshot(roomId, event.snapshot_id).then(
        (snapshot) => taskOf(event, snapshot),
        (error): TaskUpdate =>
          error instanceof ApiError && error.status === 404
            ? { task_id: event.task_id, status: "not_found" }
            : taskOf(event),
      ),
    );
  }
  void finishing.get(event.task_id)!.then((update) => listeners.has(update.task_id) && publish(update));
}

function taskOf(event: RoomEvent, snapshot?: Snapshot): Task {
  const finished = event.status !== "pending" && event.status !== "running";
  return {
    task_id: event.task_id,
    status: event.status === "deleted" ? "cancelled" : event.status,
    progress: event.progress,
    stage: event.stage,
    created_at: snapshot?.created_at ?? event.at,
    completed_at: finished ? (snapshot?.completed_at ?? event.at) : null,
    result:
      snapshot?.status === "completed"
        ? { snapshot_id: snapshot.id, file_size: snapshot.file_size, cache_layer: snapshot.cache_layer }
        : null,
    error: snapshot?.error ?? null,
  };
}

/** A task is pushed while its room's channel is up, or trying for the first time (then polled if that fails). */
function pushed(taskId: string): boolean {
  const roomId = roomOfTask.get(taskId);
  const state = roomId === undefined ? undefined : rooms.get(roomId)?.state;
  return state === "up" || state === "connecting";
}

/** One bulk-status call for the pushed tasks nothing has been heard of for SILENCE_CHECK_S (rarely any). */
async function checkSilence(): Promise<void> {
  const now = performance.now();
  const silent = [...listeners.keys()].filter(
    (id) => pushed(id) && now - (heardAt.get(id) ?? now) >= SILENCE_CHECK_S * 1000,
  );
  if (!silent.length || document.hidden || checkingSilence) return;
  for (const id of silent) heardAt.set(id, now);
  checkingSilence = true;
  try {
    apply(await api.bulkStatus(silent.slice(0, MAX_TASKS_PER_CALL)), now);
  } catch {
    // the next check, or the channel, will tell
  } finally {
    checkingSilence = false;
  }
}

function forget(id: string): void {
  listeners.delete(id);
  lastSeen.delete(id);
  heardAt.delete(id);
  if (!listeners.size && silenceTimer !== undefined) {
    clearInterval(silenceTimer);
    silenceTimer = undefined;
  }
  finishing.delete(id);
  roomOfTask.delete(id);
  if (!listeners.size && timer !== null) {
    clearTimeout(timer);
    timer = null;
  }
}

function forgetEvent(id: string): void {
  lastEvent.delete(id);
  eventAt.delete(id);
}

function forgetEvents(roomId: string): void {
  for (const [id, last] of [...lastEvent]) if (last.roomId === roomId) forgetEvent(id);
}

function polled(): string[] {
  return [...listeners.keys()].filter((id) => !pushed(id));
}

function schedule(seconds: number): void {
  if (polling) {
    askAgainAtOnce ||= seconds === 0; // the running poll schedules the next one when it ends
    return;
  }
  if (timer !== null) clearTimeout(timer);
  timer = setTimeout(poll, seconds * 1000);
}

async function poll(): Promise<void> {
  timer = null;
  if (!polled().length) return; // nothing to watch, or the channels carry it all
  if (document.hidden) {
    document.addEventListener("visibilitychange", () => schedule(0), { once: true });
    return;
  }
  polling = true;
  try {
    const asked = performance.now();
    const answer = await api.bulkStatus(polled().slice(0, MAX_TASKS_PER_CALL));
    const changed = apply(answer, asked);
    const base = answer.retryAfter ?? FIRST_DELAY_S;
    delay = changed ? base : Math.min(Math.max(delay, base) * 1.5, MAX_DELAY_S);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) listeners.clear(); // signed out: nothing to show
    delay = Math.min(delay * 2, MAX_ERROR_DELAY_S);
  } finally {
    polling = false;
  }
  if (polled().length) schedule(askAgainAtOnce ? 0 : delay);
  askAgainAtOnce = false;
}

/** A bulk-status answer, except for tasks whose channel told of them after it was asked for (it is newer). */
function apply(answer: { tasks: Task[]; not_found: string[] }, asked: number): boolean {
  const newer = (id: string) => (eventAt.get(id) ?? -Infinity) > asked;
  let changed = false;
  for (const task of answer.tasks) if (!newer(task.task_id)) changed = publish(task) || changed;
  for (const id of answer.not_found) if (!newer(id)) changed = publish({ task_id: id, status: "not_found" }) || changed;
  return changed;
}

/** Tells the task's listeners if it changed; a finished task is then no longer watched. */
function publish(update: TaskUpdate): boolean {
  const fingerprint = JSON.stringify(update);
  const changed = lastSeen.get(update.task_id) !== fingerprint;
  lastSeen.set(update.task_id, fingerprint);
  if (listeners.has(update.task_id)) heardAt.set(update.task_id, performance.now());
  if (changed) for (const listener of [...(listeners.get(update.task_id) ?? [])]) listener(update);
  if (update.status !== "pending" && update.status !== "running") forget(update.task_id);
  return changed;
}
