/** The Room Snapshots API (/api/v1): one function per operation, errors as ApiError (RFC 9457 problem details). */
import type { Role } from "./permissions";

export interface Room {
  id: string;
  title: string;
  location: string;
  operation_time: string;
  created_by: string;
  created_at: string;
  updated_at: string;
}
export interface Party {
  email: string;
  company: string;
  role: Role;
  added_at: string;
}
export interface Vessel {
  name: string;
  imo: string;
  vessel_type: string;
  flag: string;
  added_at: string;
}
export type DocumentStatus = "missing" | "uploaded" | "approved" | "rejected" | "expired";
export interface RoomDocument {
  id: string;
  name: string;
  document_type: string;
  status: DocumentStatus;
  expires_on: string | null;
  vessel_imo: string | null;
  updated_at: string;
}
export type ApprovalStatus = "pending" | "approved" | "rejected";
export interface Approval {
  id: string;
  status: ApprovalStatus;
  comment: string;
  by: string;
  at: string;
}
export interface RoomDetail extends Room {
  parties: Party[];
  vessels: Vessel[];
  documents: RoomDocument[];
  approvals: Approval[];
}
export interface Activity {
  id: string;
  at: string;
  actor: string;
  action: string;
  detail: string;
  category: "room" | "audit";
}
export interface Snapshot {
  id: string;
  room_id: string;
  title: string;
  created_by: string;
  created_at: string;
  status: "generating" | "completed" | "failed" | "cancelled";
  file_size: number;
  download_url: string;
  task_id: string;
  include_documents: boolean;
  include_activity: boolean;
  include_approvals: boolean;
  completed_at: string | null;
  error: string | null;
  cache_layer: "memory" | "s3" | "rendered" | null;
}
export type TaskStatus = "pending" | "running" | "completed" | "failed" | "cancelled";
export interface Task {
  task_id: string;
  status: TaskStatus;
  progress: number;
  stage: string;
  created_at: string;
  completed_at: string | null;
  result: { snapshot_id: string; file_size: number; cache_layer: Snapshot["cache_layer"] } | null;
  error: string | null;
}
export interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string;
  enabled: boolean;
  created_at: string;
  secret?: string;
}
export interface Delivery {
  message_id: string;
  event_type: string;
  attempt: number;
  status_code: number | null;
  error?: string | null;
  duration_ms: number | null;
  at: string;
  next_attempt_at: string | null;
  response_body?: string | null;
}
export interface Statistics {
  median: number | null;
  p95: number | null;
  p99: number | null;
  count: number;
}
export interface QueueDepth {
  visible: number;
  in_flight: number;
  delayed: number;
}
export interface Failure {
  task_id: string;
  snapshot_id: string;
  room_id: string;
  error: string;
  at: string;
}
export interface MetricsSummary {
  timestamp: string;
  pdf_generation: {
    total_generations: number;
    cache_hit_rate_percent: number;
    by_layer: Record<"memory" | "s3" | "rendered", number>;
    failed_count: number;
    cancelled_count: number;
    statistics: Statistics;
  };
  queue: {
    render_queue: QueueDepth;
    dead_letter_queue: QueueDepth;
    oldest_unfinished_task_age_seconds: number;
  };
  recent_failures?: Failure[];
}
export interface SeriesBucket {
  start: string;
  count: number;
  completed: number;
  failed: number;
  cancelled: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  cache_hits: number;
}
export interface Verification {
  verdict: "issued" | "changed_after_signing" | "not_issued";
  issued: boolean;
  sha256: string;
  message: string;
  issued_at: string | null;
  snapshot_id: string | null;
  issuances: { snapshot_id: string; issued_at: string; room_id: string | null; room_title: string | null }[];
  signed_revision_sha256: string | null;
  signature: {
    intact: boolean;
    signed_at: string | null;
    signer: string | null;
    changes_after_signing: boolean;
  } | null;
}
export interface Page<T> {
  items: T[];
  next: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly requestId: string | null,
  ) {
    super(detail);
  }

  /** The server has no such route or method yet (an API older than this page). */
  get unsupported(): boolean {
    return this.status === 405 || (this.status === 404 && this.detail === "no such route");
  }
}

let currentToken: () => string | null = () => null;
let unauthorized: () => void = () => {};

export function configureApi(token: () => string | null, onUnauthorized: () => void): void {
  currentToken = token;
  unauthorized = onUnauthorized;
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json, application/problem+json" };
  const token = currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  // A file goes as its own bytes and media type (POST /verify takes a PDF); anything else as JSON.
  if (body !== undefined)
    headers["Content-Type"] = body instanceof Blob ? body.type || "application/pdf" : "application/json";
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined || body instanceof Blob ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "The service cannot be reached. Check the connection and try again.", null);
  }
  if (response.ok) return response;
  if (response.status === 401) unauthorized();
  throw await problem(response);
}

async function problem(response: Response): Promise<ApiError> {
  let body: { detail?: unknown; message?: unknown; request_id?: unknown } = {};
  try {
    body = await response.json();
  } catch {
    // not JSON (a proxy's page): the status says enough
  }
  const detail =
    typeof body.detail === "string"
      ? body.detail
      : response.status === 401
        ? "Your session has ended. Sign in again."
        : typeof body.message === "string"
          ? body.message
          : `The service answered ${response.status} ${response.statusText}`.trim();
  const requestId = typeof body.request_id === "string" ? body.request_id : response.headers.get("apigw-requestid");
  return new ApiError(response.status, detail, requestId);
}

async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await send(method, path, body);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

async function page<T>(path: string, cursor: string | null, limit: number): Promise<Page<T>> {
  const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
  const response = await send("GET", `${path}?${query}`);
  return { items: await response.json(), next: response.headers.get("X-Next-Cursor") };
}

const at = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}`;

export const api = {
  listRooms: () => json<Room[]>("GET", "/rooms"),
  createRoom: (room: { title: string; location: string; operation_time: string; company: string }) =>
    json<Room>("POST", "/rooms", room),
  getRoom: (roomId: string) => json<RoomDetail>("GET", at(roomId)),

  addParty: (roomId: string, party: { email: string; company: string; role: Role }) =>
    json<Party>("POST", `${at(roomId)}/parties`, party),
  changePartyRole: (roomId: string, email: string, role: Role) =>
    json<Party>("PATCH", `${at(roomId)}/parties/${encodeURIComponent(email)}`, { role }),
  removeParty: (roomId: string, email: string) =>
    json<void>("DELETE", `${at(roomId)}/parties/${encodeURIComponent(email)}`),
  addVessel: (roomId: string, vessel: { name: string; imo: string; vessel_type: string; flag: string }) =>
    json<Vessel>("POST", `${at(roomId)}/vessels`, vessel),
  addDocument: (
    roomId: string,
    document: { name: string; document_type: string; status: DocumentStatus; expires_on?: string; vessel_imo?: string },
  ) => json<RoomDocument>("POST", `${at(roomId)}/documents`, document),
  setDocumentStatus: (roomId: string, documentId: string, status: DocumentStatus) =>
    json<{ status: DocumentStatus }>("PATCH", `${at(roomId)}/documents/${encodeURIComponent(documentId)}`, { status }),
  addApproval: (roomId: string, approval: { status: ApprovalStatus; comment: string }) =>
    json<Approval>("POST", `${at(roomId)}/approvals`, approval),
  listActivity: (roomId: string, cursor: string | null) => page<Activity>(`${at(roomId)}/activity`, cursor, 50),

  listSnapshots: (roomId: string, cursor: string | null) => page<Snapshot>(`${at(roomId)}/snapshots`, cursor, 20),
  getSnapshot: (roomId: string, snapshotId: string) =>
    json<Snapshot>("GET", `${at(roomId)}/snapshots/${encodeURIComponent(snapshotId)}`),
  createSnapshot: (
    roomId: string,
    snapshot: { title: string; include_documents: boolean; include_activity: boolean; include_approvals: boolean },
  ) => json<Snapshot>("POST", `${at(roomId)}/snapshots`, { ...snapshot, snapshot_type: "pdf" }),
  deleteSnapshot: (roomId: string, snapshotId: string) =>
    json<void>("DELETE", `${at(roomId)}/snapshots/${encodeURIComponent(snapshotId)}`),
  cancelTask: (taskId: string) => json<Task>("POST", `/snapshots/tasks/${encodeURIComponent(taskId)}/cancel`),
  retryTask: (taskId: string) => json<Task>("POST", `/snapshots/tasks/${encodeURIComponent(taskId)}/retry`),
  /** The tasks, and the seconds the server asks to wait before asking again (null when it does not say). */
  async bulkStatus(taskIds: string[]): Promise<{ tasks: Task[]; not_found: string[]; retryAfter: number | null }> {
    const response = await send("POST", "/snapshots/tasks/bulk-status", { task_ids: taskIds });
    const retryAfter = Number.parseFloat(response.headers.get("Retry-After") ?? "");
    return { ...(await response.json()), retryAfter: Number.isFinite(retryAfter) ? retryAfter : null };
  },
  /** The PDF's bytes, fetched with the bearer token (a plain link could not send it). */
  async download(snapshot: Snapshot): Promise<{ blob: Blob; filename: string }> {
    const response = await send("GET", snapshot.download_url.replace(/^\/api\/v1/, ""));
    const disposition = response.headers.get("Content-Disposition") ?? "";
    const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `${snapshot.title}.pdf`;
    return { blob: await response.blob(), filename };
  },

  listWebhooks: (roomId: string) => json<Webhook[]>("GET", `${at(roomId)}/webhooks`),
  createWebhook: (roomId: string, webhook: { url: string; events: string[]; description: string }) =>
    json<Webhook>("POST", `${at(roomId)}/webhooks`, webhook),
  updateWebhook: (roomId: string, webhookId: string, change: { enabled?: boolean; events?: string[] }) =>
    json<Webhook>("PATCH", `${at(roomId)}/webhooks/${encodeURIComponent(webhookId)}`, change),
  deleteWebhook: (roomId: string, webhookId: string) =>
    json<void>("DELETE", `${at(roomId)}/webhooks/${encodeURIComponent(webhookId)}`),
  rotateWebhookSecret: (roomId: string, webhookId: string) =>
    json<{ secret: string }>("POST", `${at(roomId)}/webhooks/${encodeURIComponent(webhookId)}/rotate-secret`),
  testWebhook: (roomId: string, webhookId: string) =>
    json<unknown>("POST", `${at(roomId)}/webhooks/${encodeURIComponent(webhookId)}/test`),
  listDeliveries: (roomId: string, webhookId: string, cursor: string | null) =>
    page<Delivery>(`${at(roomId)}/webhooks/${encodeURIComponent(webhookId)}/deliveries`, cursor, 20),
  retryDelivery: (roomId: string, webhookId: string, messageId: string) =>
    json<unknown>(
      "POST",
      `${at(roomId)}/webhooks/${encodeURIComponent(webhookId)}/deliveries/${encodeURIComponent(messageId)}/retry`,
    ),

  metricsSummary: (hours: number) => json<MetricsSummary>("GET", `/snapshots/metrics/summary?hours=${hours}`),
  metricsSeries: (hours: number, bucketMinutes: number) =>
    json<{ buckets: SeriesBucket[] }>(
      "GET",
      `/snapshots/metrics/series?hours=${hours}&bucket_minutes=${bucketMinutes}`,
    ),
  redriveDeadLetters: () => json<{ moved: number }>("POST", "/admin/dead-letters/redrive"),

  /** Whether this service issued exactly this file (sent whole: a change after signing is then told apart). */
  verifyPdf: (file: Blob) => json<Verification>("POST", "/verify", new Blob([file], { type: "application/pdf" })),
  /** The same question for a file of any size, asked by its SHA-256 (computed here). */
  async verifySha256(file: Blob): Promise<Verification> {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
    const sha256 = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
    return json<Verification>("POST", "/verify", { sha256 });
  },
};
