/** Small shared pieces: loading data, running actions, showing errors, forms, and formatting. */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, type Page } from "./api";

/** Loads data when `key` changes; `reload` loads it again. */
export function useLoad<T>(load: () => Promise<T>, key: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const reload = useCallback(async () => {
    setState((previous) => ({ ...previous, loading: true }));
    try {
      setState({ data: await load(), loading: false });
    } catch (error) {
      setState({ error, loading: false });
    }
  }, key);
  useEffect(() => void reload(), [reload]);
  return { ...state, reload };
}

/** A list read a page at a time: the first page when `key` changes, then `more()` appends the next. */
export function usePages<T>(load: (cursor: string | null) => Promise<Page<T>>, key: unknown[]) {
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const fetchPage = async (cursor: string | null) => {
    setBusy(true);
    setError(null);
    try {
      const page = await load(cursor);
      setItems((previous) => (cursor && previous ? [...previous, ...page.items] : page.items));
      setNext(page.next);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => void fetchPage(null), key);
  return { items, setItems, next, error, busy, reload: () => fetchPage(null), more: () => fetchPage(next) };
}

/** Runs an action once at a time, keeping its error to show. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A) => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await action(...args);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error };
}

/** What went wrong, in words, with the request id to quote to support; never a stack or raw JSON. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  return (
    <div class="error" role="alert">
      <p>{api ? api.detail : "Something went wrong in this page. Reload it and try again."}</p>
      {api?.requestId && (
        <p class="request-id">
          Request id: <code>{api.requestId}</code>
        </p>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A form whose fields are read on submit; after a successful submit they start afresh (remounted, so that
 * each takes its initial value again). */
export function Form(props: {
  title: string;
  /** Of the form's own heading: 3 inside a section with its own heading, 2 where the form stands alone. */
  level?: 2 | 3;
  submit: string;
  onSubmit: (data: FormData) => Promise<unknown>;
  children: ComponentChildren;
}) {
  const [round, setRound] = useState(0);
  const Heading = props.level === 2 ? "h2" : "h3";
  const { run, busy, error } = useAction(async (form: HTMLFormElement) => {
    await props.onSubmit(new FormData(form));
    setRound((count) => count + 1);
  });
  return (
    <form
      class="form"
      aria-label={props.title}
      onSubmit={(event) => {
        event.preventDefault();
        void run(event.currentTarget as HTMLFormElement);
      }}
    >
      <Heading>{props.title}</Heading>
      <div class="fields" key={round}>
        {props.children}
      </div>
      <button type="submit" aria-busy={busy}>
        {busy ? "Saving…" : props.submit}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

export function text(data: FormData, name: string): string {
  return String(data.get(name) ?? "").trim();
}

const DATE_TIME = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
  timeZone: "UTC",
});
const DATE = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

/** "1 Dec 2026, 19:26 UTC" */
export function formatTime(iso: string | null | undefined): string {
  return iso ? `${DATE_TIME.format(new Date(iso))} UTC` : "";
}

export function formatDate(isoDate: string): string {
  return DATE.format(new Date(`${isoDate}T00:00:00Z`));
}

export function formatBytes(bytes: number): string {
  return bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 * 1024
      ? `${(bytes / 1024).toFixed(1)} kB`
      : `${(bytes / 1048576).toFixed(1)} MB`;
}

export function Table(props: { caption: string; head: string[]; empty: string; children: ComponentChildren[] }) {
  if (!props.children.length) return <p class="muted">{props.empty}</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {props.head.map((name) => (
              <th scope="col">{name}</th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}
