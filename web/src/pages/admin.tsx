/** The admins' dashboard: generation times and throughput over time, cache hits, queues, recent failures,
 * and two operator actions: retry a failed snapshot, redrive the dead-letter queue. */
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError, type Failure, type MetricsSummary, type SeriesBucket } from "../api";
import { TimeChart } from "../chart";
import { Link } from "../router";
import { ErrorNote, formatTime, Loading, Table, useAction, useLoad } from "../ui";

// Bucket size for each period: a few dozen points per chart.
const PERIODS: [hours: number, bucketMinutes: number, label: string][] = [
  [1, 5, "last hour"],
  [6, 15, "last 6 hours"],
  [24, 60, "last 24 hours"],
  [72, 180, "last 3 days"],
  [168, 360, "last 7 days"],
];

export function AdminPage() {
  useEffect(() => void (document.title = "Dashboard · Room Snapshots"), []);
  const [hours, setHours] = useState(24);
  const bucketMinutes = PERIODS.find(([h]) => h === hours)![1];
  const summary = useLoad(() => api.metricsSummary(hours), [hours]);
  const series = useLoad(() => api.metricsSeries(hours, bucketMinutes), [hours]);

  return (
    <>
      <div class="section-head">
        <h1>Dashboard</h1>
        <label class="inline">
          Period
          <select value={hours} onChange={(event) => setHours(Number(event.currentTarget.value))}>
            {PERIODS.map(([value, , label]) => (
              <option value={value}>{label}</option>
            ))}
          </select>
        </label>
        <button
          type="button"
          class="quiet"
          onClick={() => {
            void summary.reload();
            void series.reload();
          }}
        >
          Refresh
        </button>
      </div>
      {summary.loading && !summary.data && <Loading what="the figures" />}
      <ErrorNote error={summary.error} />
      {summary.data && <Figures summary={summary.data} />}
      <section class="card" aria-labelledby="series-heading">
        <h2 id="series-heading">Over time</h2>
        {series.error instanceof ApiError && series.error.unsupported ? (
          <p class="muted">This server does not offer the time series yet.</p>
        ) : (
          <ErrorNote error={series.error} />
        )}
        {series.data && <Series buckets={series.data.buckets} />}
      </section>
      {summary.data && <Operations summary={summary.data} reload={summary.reload} />}
    </>
  );
}

function Figures({ summary }: { summary: MetricsSummary }) {
  const generation = summary.pdf_generation;
  const queue = summary.queue;
  const layers = Object.entries(generation.by_layer);
  const total = layers.reduce((sum, [, count]) => sum + count, 0);
  const ms = (value: number | null) => (value === null ? "–" : `${Math.round(value)} ms`);
  return (
    <>
      <section class="tiles" aria-label="Key figures">
        <Tile label="Snapshots generated" value={String(generation.total_generations)} />
        <Tile label="Generation time p50" value={ms(generation.statistics.median)} />
        <Tile label="Generation time p95" value={ms(generation.statistics.p95)} />
        <Tile label="Generation time p99" value={ms(generation.statistics.p99)} />
        <Tile label="Cache hit rate" value={`${generation.cache_hit_rate_percent} %`} />
        <Tile label="Failed / cancelled" value={`${generation.failed_count} / ${generation.cancelled_count}`} />
        <Tile
          label="Render queue (waiting / in flight)"
          value={`${queue.render_queue.visible} / ${queue.render_queue.in_flight}`}
        />
        <Tile
          label="Dead-letter queue"
          value={String(queue.dead_letter_queue.visible)}
          alert={queue.dead_letter_queue.visible > 0}
        />
        <Tile label="Oldest unfinished task" value={`${Math.round(queue.oldest_unfinished_task_age_seconds)} s`} />
      </section>
      <section class="card" aria-labelledby="layers-heading">
        <h2 id="layers-heading">Where PDFs came from</h2>
        <Table
          caption="Snapshots by cache layer"
          head={["Layer", "Snapshots", "Share"]}
          empty="No snapshots in this period."
        >
          {total
            ? layers.map(([layer, count]) => (
                <tr key={layer}>
                  <td>{layer === "rendered" ? "rendered (cache miss)" : `${layer} cache`}</td>
                  <td>{count}</td>
                  <td>
                    <span class="share">
                      <span class="share-bar" style={{ width: `${(100 * count) / total}%` }} />
                    </span>
                    {Math.round((100 * count) / total)} %
                  </td>
                </tr>
              ))
            : []}
        </Table>
      </section>
    </>
  );
}

function Tile({ label, value, alert }: { label: string; value: string; alert?: boolean }) {
  return (
    <div class={`tile${alert ? " alert" : ""}`}>
      <span class="tile-label">{label}</span>
      <span class="tile-value">{value}</span>
    </div>
  );
}

function Series({ buckets }: { buckets: SeriesBucket[] }) {
  const times = useMemo(() => buckets.map((bucket) => bucket.start), [buckets]);
  const latency = useMemo(
    () => [
      { label: "p50", color: "#0b5cad", values: buckets.map((bucket) => bucket.p50) },
      { label: "p95", color: "#c77800", values: buckets.map((bucket) => bucket.p95) },
      { label: "p99", color: "#a3261c", values: buckets.map((bucket) => bucket.p99) },
    ],
    [buckets],
  );
  const throughput = useMemo(
    () => [
      { label: "completed", color: "#1d7a3a", values: buckets.map((bucket) => bucket.completed) },
      { label: "failed", color: "#a3261c", values: buckets.map((bucket) => bucket.failed) },
      { label: "cancelled", color: "#6b7280", values: buckets.map((bucket) => bucket.cancelled) },
      { label: "cache hits", color: "#0b5cad", values: buckets.map((bucket) => bucket.cache_hits) },
    ],
    [buckets],
  );
  if (!buckets.some((bucket) => bucket.count)) return <p class="muted">No snapshots in this period.</p>;
  return (
    <div class="charts">
      <TimeChart title="Generation time" unit="ms" times={times} lines={latency} />
      <TimeChart title="Snapshots finished" unit="snapshots" times={times} lines={throughput} />
    </div>
  );
}

function Operations({ summary, reload }: { summary: MetricsSummary; reload: () => Promise<void> }) {
  const [moved, setMoved] = useState<number | null>(null);
  const [retried, setRetried] = useState<string[]>([]);
  const redrive = useAction(async () => {
    setMoved((await api.redriveDeadLetters()).moved);
    await reload();
  });
  const retry = useAction(async (failure: Failure) => {
    await api.retryTask(failure.task_id);
    setRetried((done) => [...done, failure.task_id]);
  });
  const failures = summary.recent_failures;
  const parked = summary.queue.dead_letter_queue.visible;
  return (
    <>
      <section class="card" aria-labelledby="failures-heading">
        <h2 id="failures-heading">Recent failures</h2>
        {failures === undefined ? (
          <p class="muted">This server does not list recent failures yet.</p>
        ) : (
          <Table
            caption="Recent failures"
            head={["When", "Room", "Reason", "Action"]}
            empty="No failures in this period."
          >
            {failures.map((failure) => (
              <tr key={failure.task_id}>
                <td>{formatTime(failure.at)}</td>
                <td>
                  <Link href={`/rooms/${failure.room_id}/snapshots`}>{failure.room_id}</Link>
                </td>
                <td>{failure.error}</td>
                <td>
                  {retried.includes(failure.task_id) ? (
                    <span role="status">Queued again</span>
                  ) : (
                    <button type="button" onClick={() => void retry.run(failure)}>
                      Retry<span class="visually-hidden"> snapshot {failure.snapshot_id}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
        <ErrorNote error={retry.error} />
      </section>
      <section class="card" aria-labelledby="dlq-heading">
        <h2 id="dlq-heading">Dead-letter queue</h2>
        <p>
          {parked === 1 ? "1 message is" : `${parked} messages are`} parked after their last delivery. Redriving moves
          them back to the render queue.
        </p>
        <button type="button" onClick={() => void redrive.run()} aria-busy={redrive.busy}>
          Redrive dead-letter queue
        </button>
        {moved !== null && (
          <p class="note" role="status">
            Moved {moved} message{moved === 1 ? "" : "s"} back to the render queue.
          </p>
        )}
        <ErrorNote error={redrive.error} />
      </section>
    </>
  );
}
