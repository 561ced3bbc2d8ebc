/**
 * The pushed source: AWS AppSync Events' realtime WebSocket protocol, one socket per page and one subscription
 * per watched channel. It knows the protocol and nothing of tasks (progress.ts decides what an event means,
 * and when to poll instead); the same code talks to AWS and to the local stack's emulation.
 *
 * The socket opens with the subprotocols "aws-appsync-event-ws" and "header-<base64url {host, Authorization}>",
 * then connection_init → connection_ack {connectionTimeoutMs}; the server sends "ka" to show it lives, and
 * silence for connectionTimeoutMs means the connection is dead. subscribe → subscribe_success | subscribe_error,
 * then data {id, event: a JSON string}; unsubscribe when done. The server may close the socket at any time, and
 * nothing published while a socket is down is replayed: a listener reconciles after each subscribe_success.
 * Failures are retried with backoff (1 s, doubling up to 60 s, with jitter).
 */
import type { EventsConfig } from "./config";

export interface ChannelListener {
  /** An event published on the channel, as its JSON parsed. */
  onEvent(event: unknown): void;
  /** true on subscribe_success; false when the socket or the subscription fails (it is then retried). */
  onState(up: boolean): void;
}

interface Channel {
  name: string;
  listener: ChannelListener;
  /** Of the subscribe sent on the current socket; null while not subscribed. */
  id: string | null;
  up: boolean;
  /** Waiting for the subscribe's answer, or for the next try after a refusal. */
  timer: ReturnType<typeof setTimeout> | undefined;
  retryMs: number;
}

interface Message {
  type?: string;
  id?: string;
  event?: unknown;
  connectionTimeoutMs?: number;
  errors?: { errorType?: string; message?: string }[];
}

const SUBPROTOCOL = "aws-appsync-event-ws";
const DEFAULT_TIMEOUT_MS = 300_000; // AppSync's, should connection_ack not say
const ANSWER_TIMEOUT_MS = 10_000; // for connection_ack after opening, and for a subscribe's answer
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

let events: EventsConfig | null = null;
let currentToken: () => string | null = () => null;
let unauthorized: () => void = () => {};

const channels = new Set<Channel>();
let socket: WebSocket | null = null;
let acked = false;
let timeoutMs = DEFAULT_TIMEOUT_MS;
let aliveTimer: ReturnType<typeof setTimeout> | undefined;
let ackTimer: ReturnType<typeof setTimeout> | undefined;
let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
let retryMs = FIRST_RETRY_MS;

/** Where the channel is (none: the app only polls), the token to show, and what to do when it is refused. */
export function configureLive(
  config: EventsConfig | undefined,
  token: () => string | null,
  onUnauthorized: () => void,
) {
  events = config?.http && config.realtime ? config : null;
  currentToken = token;
  unauthorized = onUnauthorized;
}

export function liveConfigured(): boolean {
  return events !== null;
}

/** Subscribes to a channel ("/rooms/<id>") until the returned function is called; the last one closes the socket. */
export function listen(name: string, listener: ChannelListener): () => void {
  const channel: Channel = { name, listener, id: null, up: false, timer: undefined, retryMs: FIRST_RETRY_MS };
  channels.add(channel);
  if (acked) subscribeTo(channel);
  else if (reconnectTimer !== undefined) queueMicrotask(() => channels.has(channel) && listener.onState(false));
  else connect(); // (while failing, the channel is down until the next try succeeds)
  return () => {
    if (!channels.delete(channel)) return;
    clearTimeout(channel.timer);
    if (channel.id && acked) send({ type: "unsubscribe", id: channel.id });
    if (!channels.size) disconnect();
  };
}

function connect(): void {
  if (socket || reconnectTimer !== undefined || !events || !channels.size) return;
  const token = sessionToken();
  if (!token) return;
  const header = base64url(JSON.stringify({ host: events.http, Authorization: token }));
  let opened: WebSocket;
  try {
    opened = new WebSocket(events.realtime, [SUBPROTOCOL, `header-${header}`]);
  } catch {
    return drop(); // a malformed URL: treated as any other failure
  }
  socket = opened;
  opened.onopen = () => send({ type: "connection_init" });
  opened.onmessage = (message) => opened === socket && receive(message.data);
  opened.onclose = () => opened === socket && drop();
  ackTimer = setTimeout(drop, ANSWER_TIMEOUT_MS);
}

function receive(data: unknown): void {
  let message: Message;
  try {
    message = JSON.parse(String(data));
  } catch {
    return;
  }
  alive(); // any message shows the connection lives, not only "ka"
  const channel = message.id ? [...channels].find((each) => each.id === message.id) : undefined;
  switch (message.type) {
    case "connection_ack":
      acked = true;
      clearTimeout(ackTimer);
      timeoutMs = message.connectionTimeoutMs ?? DEFAULT_TIMEOUT_MS;
      alive();
      for (const each of channels) subscribeTo(each);
      break;
    case "subscribe_success":
      if (!channel) break;
      clearTimeout(channel.timer);
      channel.up = true;
      channel.retryMs = FIRST_RETRY_MS;
      retryMs = FIRST_RETRY_MS; // a connection that carries a subscription is worth reconnecting to at once
      channel.listener.onState(true);
      break;
    case "subscribe_error":
    case "error": // an error with a subscription's id is about that subscription
      if (channel) refused(channel, message.errors);
      break;
    case "data":
      if (channel?.up) deliver(channel, message.event);
      break;
    case "connection_error":
      if (isUnauthorized(message.errors)) return void endOfSession(); // the token itself is refused: a 401
      drop();
      break;
  }
}

function deliver(channel: Channel, event: unknown): void {
  let parsed: unknown = event;
  if (typeof event === "string") {
    try {
      parsed = JSON.parse(event);
    } catch {
      return;
    }
  }
  channel.listener.onEvent(parsed);
}

function subscribeTo(channel: Channel): void {
  clearTimeout(channel.timer);
  if (!acked || !events) return;
  const token = sessionToken();
  if (!token) return;
  channel.id = crypto.randomUUID();
  send({
    type: "subscribe",
    id: channel.id,
    channel: channel.name,
    authorization: { host: events.http, Authorization: token },
  });
  const id = channel.id;
  channel.timer = setTimeout(() => {
    send({ type: "unsubscribe", id }); // should it be admitted after all
    refused(channel, []);
  }, ANSWER_TIMEOUT_MS);
}

/** The subscription was refused (or not answered): down, and asked again later on the same socket. */
function refused(channel: Channel, errors: Message["errors"]): void {
  clearTimeout(channel.timer);
  channel.id = null;
  channel.up = false;
  channel.listener.onState(false);
  if (isUnauthorized(errors) && !sessionToken()) return; // the session ended (sessionToken told the app)
  channel.timer = setTimeout(() => subscribeTo(channel), jitter(channel.retryMs));
  channel.retryMs = Math.min(channel.retryMs * 2, MAX_RETRY_MS);
}

/** Keeps the connection for connectionTimeoutMs more; silence for that long means it is dead. */
function alive(): void {
  clearTimeout(aliveTimer);
  if (acked) aliveTimer = setTimeout(drop, timeoutMs);
}

/** The socket failed (closed, refused, silent): every channel is down, and a new socket is tried later. */
function drop(): void {
  closeSocket();
  for (const channel of channels) {
    clearTimeout(channel.timer);
    channel.id = null;
    channel.up = false;
    channel.listener.onState(false);
  }
  if (!channels.size || reconnectTimer !== undefined) return;
  reconnectTimer = setTimeout(() => {
    reconnectTimer = undefined;
    connect();
  }, jitter(retryMs));
  retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
}

function disconnect(): void {
  closeSocket();
  clearTimeout(reconnectTimer);
  reconnectTimer = undefined;
  retryMs = FIRST_RETRY_MS;
}

function closeSocket(): void {
  const closing = socket;
  socket = null;
  acked = false;
  clearTimeout(aliveTimer);
  clearTimeout(ackTimer);
  if (!closing) return;
  closing.onopen = closing.onmessage = closing.onclose = null;
  try {
    closing.close();
  } catch {
    // already closed
  }
}

function send(message: object): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

/** The ID token while it is valid; otherwise the session is over, as when the API answers 401. */
function sessionToken(): string | null {
  const token = currentToken();
  if (token && !expired(token)) return token;
  endOfSession();
  return null;
}

function endOfSession(): void {
  for (const channel of channels) clearTimeout(channel.timer);
  closeSocket();
  clearTimeout(reconnectTimer);
  reconnectTimer = undefined;
  for (const channel of channels) {
    channel.id = null;
    channel.up = false;
    channel.listener.onState(false);
  }
  unauthorized();
}

function isUnauthorized(errors: Message["errors"]): boolean {
  return (errors ?? []).some((error) => /unauthori[sz]ed|401/i.test(`${error.errorType} ${error.message}`));
}

function expired(jwt: string): boolean {
  try {
    const claims = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof claims.exp === "number" && claims.exp * 1000 <= Date.now();
  } catch {
    return false; // not ours to judge: the server will
  }
}

function base64url(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** 75–125 % of the wait, so that pages cut off together do not all come back in the same instant. */
function jitter(ms: number): number {
  return ms * (0.75 + Math.random() / 2);
}
