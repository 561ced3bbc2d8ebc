/** A room's activity log, newest first, a page at a time (the API's X-Next-Cursor). */
import { api } from "../api";
import { ErrorNote, formatTime, Loading, Table, usePages } from "../ui";

export function ActivityLog({ roomId }: { roomId: string }) {
  const log = usePages((cursor) => api.listActivity(roomId, cursor), [roomId]);
  return (
    <section class="card" aria-labelledby="activity-heading">
      <div class="section-head">
        <h2 id="activity-heading">Activity</h2>
        <button type="button" class="quiet" onClick={() => void log.reload()}>
          Refresh
        </button>
      </div>
      {!log.items && !log.error && <Loading what="the activity" />}
      {log.items && (
        <Table
          caption="Activity"
          head={["When", "Who", "What", "Detail"]}
          empty="Nothing has happened in this room yet."
        >
          {log.items.map((entry) => (
            <tr key={entry.id}>
              <td>{formatTime(entry.at)}</td>
              <td>{entry.actor}</td>
              <td>
                {entry.action}
                {entry.category === "audit" && <span class="badge">audit</span>}
              </td>
              <td>{entry.detail}</td>
            </tr>
          ))}
        </Table>
      )}
      <ErrorNote error={log.error} />
      {log.next && (
        <button type="button" onClick={() => void log.more()} aria-busy={log.busy}>
          {log.busy ? "Loading…" : "Show older entries"}
        </button>
      )}
    </section>
  );
}
