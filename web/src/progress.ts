/**
 * The one source of task progress for every page: subscribe(taskIds, onUpdate) until the tasks finish.
 *
 * Today it polls: every unfinished task on screen in ONE bulk-status call, again after the Retry-After the
 * server sends (1 s without one), backing off while nothing moves and after errors, pausing while the tab
 * is hidden, and stopping when nothing is left to watch. A pushed source (AppSync Events) can replace this
 * module behind the same subscribe().
 */
import { api, ApiError, type Task } from "./api";

/** A task's latest state, or word that it is gone (deleted, or not visible to this user). */
export type TaskUpdate = Task | { task_id: string; status: "not_found" };
type Listener = (update: TaskUpdate) => void;

const FIRST_DELAY_S = 1;
const MAX_DELAY_S = 10; // while nothing changes
const MAX_ERROR_DELAY_S = 30;
const MAX_TASKS_PER_CALL = 100; // the API's bound; beyond it the rest wait for the next round

const listeners = new Map<string, Set<Listener>>();
const lastSeen = new Map<string, string>();
let timer: ReturnType<typeof setTimeout> | null = null;
let delay = FIRST_DELAY_S;
let polling = false;
let askAgainAtOnce = false;

export function subscribe(taskIds: string[], onUpdate: Listener): () => void {
  const fresh = taskIds.filter((id) => !listeners.has(id));
  for (const id of taskIds) {
    if (!listeners.has(id)) listeners.set(id, new Set());
    listeners.get(id)!.add(onUpdate);
  }
  if (fresh.length) {
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

function forget(id: string): void {
  listeners.delete(id);
  lastSeen.delete(id);
  if (!listeners.size && timer !== null) {
    clearTimeout(timer);
    timer = null;
  }
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
  if (!listeners.size) return;
  if (document.hidden) {
    document.addEventListener("visibilitychange", () => schedule(0), { once: true });
    return;
  }
  polling = true;
  try {
    const answer = await api.bulkStatus([...listeners.keys()].slice(0, MAX_TASKS_PER_CALL));
    let changed = false;
    for (const task of answer.tasks) changed = publish(task) || changed;
    for (const id of answer.not_found) changed = publish({ task_id: id, status: "not_found" }) || changed;
    const base = answer.retryAfter ?? FIRST_DELAY_S;
    delay = changed ? base : Math.min(Math.max(delay, base) * 1.5, MAX_DELAY_S);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) listeners.clear(); // signed out: nothing to show
    delay = Math.min(delay * 2, MAX_ERROR_DELAY_S);
  } finally {
    polling = false;
  }
  if (listeners.size) schedule(askAgainAtOnce ? 0 : delay);
  askAgainAtOnce = false;
}

/** Tells the task's listeners if it changed; a finished task is then no longer watched. */
function publish(update: TaskUpdate): boolean {
  const fingerprint = JSON.stringify(update);
  const changed = lastSeen.get(update.task_id) !== fingerprint;
  lastSeen.set(update.task_id, fingerprint);
  if (changed) for (const listener of [...(listeners.get(update.task_id) ?? [])]) listener(update);
  if (update.status !== "pending" && update.status !== "running") forget(update.task_id);
  return changed;
}
