/** A room's webhooks (owners and admins): add, send a test, enable or disable, rotate the secret, delete,
 * and each endpoint's deliveries, of which one can be sent again. */
import { useState } from "preact/hooks";
import { api, ApiError, type Webhook } from "../api";
import { ErrorNote, Form, formatTime, Loading, Table, text, useAction, useLoad, usePages } from "../ui";

const EVENTS = ["snapshot.completed", "snapshot.failed", "snapshot.cancelled", "document.expiring"];

export function Webhooks({ roomId }: { roomId: string }) {
  const hooks = useLoad(() => api.listWebhooks(roomId), [roomId]);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);

  if (hooks.error instanceof ApiError && hooks.error.unsupported) {
    return (
      <section class="card">
        <h2>Webhooks</h2>
        <p class="muted">This server does not offer webhooks yet.</p>
      </section>
    );
  }
  return (
    <>
      {secret && <SecretOnce {...secret} onDone={() => setSecret(null)} />}
      <section class="card" aria-labelledby="webhooks-heading">
        <h2 id="webhooks-heading">Webhooks</h2>
        {hooks.loading && !hooks.data && <Loading what="webhooks" />}
        <ErrorNote error={hooks.error} />
        {hooks.data?.length === 0 && (
          <p class="muted">No webhooks yet: add one below to tell another system about snapshots.</p>
        )}
        <ul class="webhooks">
          {hooks.data?.map((hook) => (
            <WebhookItem
              key={hook.id}
              roomId={roomId}
              hook={hook}
              reload={hooks.reload}
              onSecret={(value) => setSecret({ url: hook.url, secret: value })}
            />
          ))}
        </ul>
      </section>
      <section class="card">
        <Form
          title="Add a webhook"
          submit="Add webhook"
          onSubmit={async (data) => {
            const created = await api.createWebhook(roomId, {
              url: text(data, "url"),
              events: data.getAll("events").map(String),
              description: text(data, "description"),
            });
            if (created.secret) setSecret({ url: created.url, secret: created.secret });
            await hooks.reload();
          }}
        >
          <label class="wide">
            Endpoint URL
            <input name="url" type="url" required placeholder="https://example.com/hooks/room-snapshots" />
          </label>
          <fieldset>
            <legend>Events</legend>
            {EVENTS.map((event) => (
              <label class="check">
                <input type="checkbox" name="events" value={event} defaultChecked={event.startsWith("snapshot.")} />{" "}
                {event}
              </label>
            ))}
          </fieldset>
          <label class="wide">
            Description <span class="muted">(optional)</span>
            <input name="description" maxLength={200} />
          </label>
        </Form>
      </section>
    </>
  );
}

/** The signing secret, shown this once: the API never returns it again. */
function SecretOnce({ url, secret, onDone }: { url: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <section class="card secret" role="alert" aria-labelledby="secret-heading">
      <h2 id="secret-heading">Signing secret of {url}</h2>
      <p>Copy it now into the receiving system: it is shown only this once.</p>
      <p>
        <code class="secret-value">{secret}</code>
      </p>
      <div class="actions">
        <button
          type="button"
          onClick={async () => {
            await navigator.clipboard.writeText(secret);
            setCopied(true);
          }}
        >
          {copied ? "Copied" : "Copy secret"}
        </button>
        <button type="button" class="quiet" onClick={onDone}>
          I have stored it
        </button>
      </div>
    </section>
  );
}

function WebhookItem(props: {
  roomId: string;
  hook: Webhook;
  reload: () => Promise<void>;
  onSecret: (secret: string) => void;
}) {
  const { roomId, hook, reload } = props;
  const [showDeliveries, setShowDeliveries] = useState(false);
  const [note, setNote] = useState("");
  const action = useAction(async (work: () => Promise<void>) => {
    setNote("");
    await work();
  });
  return (
    <li class="webhook">
      <div class="snapshot-head">
        <h3>{hook.url}</h3>
        <span class={`status ${hook.enabled ? "completed" : "cancelled"}`}>
          {hook.enabled ? "enabled" : "disabled"}
        </span>
      </div>
      <p class="muted">
        {hook.events.join(", ")}
        {hook.description && ` · ${hook.description}`} · added {formatTime(hook.created_at)}
      </p>
      <div class="actions">
        <button
          type="button"
          onClick={() =>
            void action.run(async () => {
              await api.testWebhook(roomId, hook.id);
              setNote("A webhook.test event is on its way; see the deliveries.");
            })
          }
        >
          Send test
        </button>
        <button type="button" aria-expanded={showDeliveries} onClick={() => setShowDeliveries(!showDeliveries)}>
          {showDeliveries ? "Hide deliveries" : "Deliveries"}
        </button>
        <button
          type="button"
          onClick={() =>
            void action.run(async () => {
              await api.updateWebhook(roomId, hook.id, { enabled: !hook.enabled });
              await reload();
            })
          }
        >
          {hook.enabled ? "Disable" : "Enable"}
        </button>
        <button
          type="button"
          onClick={() =>
            void action.run(async () => {
              if (!confirm("Rotate the signing secret? The old one stays valid for 24 hours.")) return;
              props.onSecret((await api.rotateWebhookSecret(roomId, hook.id)).secret);
            })
          }
        >
          Rotate secret
        </button>
        <button
          type="button"
          class="danger"
          onClick={() =>
            void action.run(async () => {
              if (!confirm(`Delete the webhook to ${hook.url}?`)) return;
              await api.deleteWebhook(roomId, hook.id);
              await reload();
            })
          }
        >
          Delete
        </button>
      </div>
      {note && (
        <p class="note" role="status">
          {note}
        </p>
      )}
      <ErrorNote error={action.error} />
      {showDeliveries && <Deliveries roomId={roomId} webhookId={hook.id} />}
    </li>
  );
}

function Deliveries({ roomId, webhookId }: { roomId: string; webhookId: string }) {
  const log = usePages((cursor) => api.listDeliveries(roomId, webhookId, cursor), [roomId, webhookId]);
  const retry = useAction(async (messageId: string) => {
    await api.retryDelivery(roomId, webhookId, messageId);
    await log.reload();
  });
  return (
    <div class="deliveries">
      <div class="section-head">
        <h4>Deliveries</h4>
        <button type="button" class="quiet" onClick={() => void log.reload()}>
          Refresh
        </button>
      </div>
      {log.items && (
        <Table
          caption="Deliveries"
          head={["When", "Event", "Attempt", "Result", "Time", "Next attempt", "Action"]}
          empty="Nothing delivered yet."
        >
          {log.items.map((delivery) => (
            <tr key={`${delivery.message_id}-${delivery.attempt}`}>
              <td>{formatTime(delivery.at)}</td>
              <td>{delivery.event_type}</td>
              <td>{delivery.attempt}</td>
              <td>{delivery.status_code ?? delivery.error ?? "no answer"}</td>
              <td>{delivery.duration_ms === null ? "" : `${Math.round(delivery.duration_ms)} ms`}</td>
              <td>{formatTime(delivery.next_attempt_at)}</td>
              <td>
                <button type="button" onClick={() => void retry.run(delivery.message_id)}>
                  Send again<span class="visually-hidden"> message {delivery.message_id}</span>
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <ErrorNote error={log.error ?? retry.error} />
      {log.next && (
        <button type="button" onClick={() => void log.more()}>
          Show older deliveries
        </button>
      )}
    </div>
  );
}
