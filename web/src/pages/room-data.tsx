/** A room's parties, vessels, documents and approvals, with the changes the caller's role allows. */
import { useState } from "preact/hooks";
import {
  api,
  type ApiError,
  type ApprovalStatus,
  type DocumentStatus,
  type Party,
  type RoomDetail,
  type RoomDocument,
} from "../api";
import type { Me } from "../auth";
import { ROLES, type Can, type Role } from "../permissions";
import { ErrorNote, Form, formatDate, formatTime, Table, text, useAction } from "../ui";

const DOCUMENT_STATUSES: DocumentStatus[] = ["missing", "uploaded", "approved", "rejected", "expired"];
const APPROVAL_STATUSES: ApprovalStatus[] = ["pending", "approved", "rejected"];
const EXPIRY_WARNING_DAYS = 30;

interface Props {
  room: RoomDetail;
  me: Me;
  can: Can;
  reload: () => Promise<void>;
}

export function RoomData(props: Props) {
  return (
    <>
      <Parties {...props} />
      <Vessels {...props} />
      <Documents {...props} />
      <Approvals {...props} />
    </>
  );
}

function Parties({ room, me, can, reload }: Props) {
  const myRole = room.parties.find((party) => party.email === me.email)?.role;
  // Only an owner (or an admin) may make someone an owner.
  const assignable = ROLES.filter((role) => role !== "owner" || me.isAdmin || myRole === "owner");
  return (
    <section class="card" aria-labelledby="parties-heading">
      <h2 id="parties-heading">Parties</h2>
      <Table
        caption="Parties"
        head={["Email", "Company", "Role", "Added", ...(can("manageParties") ? ["Change"] : [])]}
        empty="No parties."
      >
        {room.parties.map((party) => (
          <tr key={party.email}>
            <td>{party.email}</td>
            <td>{party.company}</td>
            <td>{party.role}</td>
            <td>{formatTime(party.added_at)}</td>
            {can("manageParties") && (
              <td>
                {party.email === me.email ? (
                  <span class="muted">you</span>
                ) : (
                  <PartyControls roomId={room.id} party={party} roles={assignable} reload={reload} />
                )}
              </td>
            )}
          </tr>
        ))}
      </Table>
      {can("manageParties") && (
        <Form
          title="Add a party"
          submit="Add party"
          onSubmit={async (data) => {
            await api.addParty(room.id, {
              email: text(data, "email"),
              company: text(data, "company"),
              role: text(data, "role") as Role,
            });
            await reload();
          }}
        >
          <label>
            Email
            <input name="email" type="email" required maxLength={254} />
          </label>
          <label>
            Company
            <input name="company" required maxLength={200} />
          </label>
          <label>
            Role
            <select name="role">
              {assignable.map((role) => (
                <option value={role} selected={role === "viewer"}>
                  {role}
                </option>
              ))}
            </select>
          </label>
        </Form>
      )}
    </section>
  );
}

function PartyControls({
  roomId,
  party,
  roles,
  reload,
}: {
  roomId: string;
  party: Party;
  roles: Role[];
  reload: () => Promise<void>;
}) {
  const [role, setRole] = useState<Role>(party.role);
  const change = useAction(async (work: () => Promise<unknown>) => {
    await work();
    await reload();
  });
  const unsupported = (change.error as ApiError | null)?.unsupported;
  return (
    <div class="inline-controls">
      <label>
        <span class="visually-hidden">New role of {party.email}</span>
        <select value={role} onChange={(event) => setRole(event.currentTarget.value as Role)}>
          {roles.map((name) => (
            <option value={name}>{name}</option>
          ))}
        </select>
      </label>
      <button type="button" onClick={() => void change.run(() => api.changePartyRole(roomId, party.email, role))}>
        Change role<span class="visually-hidden"> of {party.email}</span>
      </button>
      <button
        type="button"
        class="danger"
        onClick={() => {
          if (confirm(`Remove ${party.email} from this room?`))
            void change.run(() => api.removeParty(roomId, party.email));
        }}
      >
        Remove<span class="visually-hidden"> {party.email}</span>
      </button>
      {unsupported ? (
        <p class="error" role="alert">
          This server cannot change parties yet.
        </p>
      ) : (
        <ErrorNote error={change.error} />
      )}
    </div>
  );
}

function Vessels({ room, can, reload }: Props) {
  return (
    <section class="card" aria-labelledby="vessels-heading">
      <h2 id="vessels-heading">Vessels</h2>
      <Table caption="Vessels" head={["Name", "IMO", "Type", "Flag", "Added"]} empty="No vessels yet.">
        {room.vessels.map((vessel) => (
          <tr key={vessel.imo}>
            <td>{vessel.name}</td>
            <td>{vessel.imo}</td>
            <td>{vessel.vessel_type}</td>
            <td>{vessel.flag}</td>
            <td>{formatTime(vessel.added_at)}</td>
          </tr>
        ))}
      </Table>
      {can("editRoom") && (
        <Form
          title="Add a vessel"
          submit="Add vessel"
          onSubmit={async (data) => {
            await api.addVessel(room.id, {
              name: text(data, "name"),
              imo: text(data, "imo"),
              vessel_type: text(data, "vessel_type"),
              flag: text(data, "flag"),
            });
            await reload();
          }}
        >
          <label>
            Name
            <input name="name" required maxLength={200} placeholder="MT Seawise" />
          </label>
          <label>
            IMO number
            <input name="imo" required pattern="(IMO ?)?[0-9]{7}" placeholder="9074729" inputMode="numeric" />
          </label>
          <label>
            Type
            <input name="vessel_type" required maxLength={200} placeholder="crude tanker" />
          </label>
          <label>
            Flag
            <input name="flag" required maxLength={200} placeholder="MT" />
          </label>
        </Form>
      )}
    </section>
  );
}

/** "expired" or "expires in N days" when within the warning window; days are whole UTC days. */
export function expiryFlag(
  expiresOn: string | null,
  today = new Date(),
): { text: string; level: "expired" | "soon" } | null {
  if (!expiresOn) return null;
  const todayUtc = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const days = Math.round((Date.parse(`${expiresOn}T00:00:00Z`) - todayUtc) / 86_400_000);
  if (days < 0) return { text: "expired", level: "expired" };
  if (days > EXPIRY_WARNING_DAYS) return null;
  return { text: days === 0 ? "expires today" : `expires in ${days} day${days === 1 ? "" : "s"}`, level: "soon" };
}

function Documents({ room, can, reload }: Props) {
  const vesselName = (imo: string | null) => room.vessels.find((vessel) => vessel.imo === imo)?.name ?? imo ?? "";
  return (
    <section class="card" aria-labelledby="documents-heading">
      <h2 id="documents-heading">Documents</h2>
      <Table caption="Documents" head={["Name", "Type", "Vessel", "Expires", "Status"]} empty="No documents yet.">
        {room.documents.map((document) => {
          const flag = expiryFlag(document.expires_on);
          return (
            <tr key={document.id}>
              <td>{document.name}</td>
              <td>{document.document_type}</td>
              <td>{vesselName(document.vessel_imo)}</td>
              <td>
                {document.expires_on ? formatDate(document.expires_on) : <span class="muted">no expiry</span>}
                {flag && <span class={`flag ${flag.level}`}>{flag.text}</span>}
              </td>
              <td>
                {can("editRoom") ? (
                  <DocumentStatusControl roomId={room.id} document={document} reload={reload} />
                ) : (
                  <span class={`status ${document.status}`}>{document.status}</span>
                )}
              </td>
            </tr>
          );
        })}
      </Table>
      {can("editRoom") && (
        <Form
          title="Add a document"
          submit="Add document"
          onSubmit={async (data) => {
            await api.addDocument(room.id, {
              name: text(data, "name"),
              document_type: text(data, "document_type"),
              status: text(data, "status") as DocumentStatus,
              ...(text(data, "expires_on") ? { expires_on: text(data, "expires_on") } : {}),
              ...(text(data, "vessel_imo") ? { vessel_imo: text(data, "vessel_imo") } : {}),
            });
            await reload();
          }}
        >
          <label>
            Name
            <input name="name" required maxLength={200} placeholder="Q88" />
          </label>
          <label>
            Type
            <input name="document_type" required maxLength={200} placeholder="questionnaire" />
          </label>
          <label>
            Status
            <select name="status">
              {DOCUMENT_STATUSES.map((status) => (
                <option value={status} selected={status === "uploaded"}>
                  {status}
                </option>
              ))}
            </select>
          </label>
          <label>
            Expires on <span class="muted">(optional)</span>
            <input name="expires_on" type="date" />
          </label>
          <label>
            Vessel <span class="muted">(optional)</span>
            <select name="vessel_imo">
              <option value="">none</option>
              {room.vessels.map((vessel) => (
                <option value={vessel.imo}>
                  {vessel.name} ({vessel.imo})
                </option>
              ))}
            </select>
          </label>
        </Form>
      )}
    </section>
  );
}

function DocumentStatusControl({
  roomId,
  document,
  reload,
}: {
  roomId: string;
  document: RoomDocument;
  reload: () => Promise<void>;
}) {
  const [status, setStatus] = useState(document.status);
  const save = useAction(async () => {
    await api.setDocumentStatus(roomId, document.id, status);
    await reload();
  });
  return (
    <div class="inline-controls">
      <label>
        <span class="visually-hidden">Status of {document.name}</span>
        <select value={status} onChange={(event) => setStatus(event.currentTarget.value as DocumentStatus)}>
          {DOCUMENT_STATUSES.map((name) => (
            <option value={name}>{name}</option>
          ))}
        </select>
      </label>
      <button type="button" onClick={() => void save.run()}>
        Set<span class="visually-hidden"> status of {document.name}</span>
      </button>
      <ErrorNote error={save.error} />
    </div>
  );
}

function Approvals({ room, can, reload }: Props) {
  return (
    <section class="card" aria-labelledby="approvals-heading">
      <h2 id="approvals-heading">Approvals</h2>
      <Table caption="Approvals" head={["Status", "Comment", "By", "At"]} empty="No approvals recorded yet.">
        {room.approvals.map((approval) => (
          <tr key={approval.id}>
            <td>
              <span class={`status ${approval.status}`}>{approval.status}</span>
            </td>
            <td>{approval.comment}</td>
            <td>{approval.by}</td>
            <td>{formatTime(approval.at)}</td>
          </tr>
        ))}
      </Table>
      {can("approve") && (
        <Form
          title="Record an approval"
          submit="Record approval"
          onSubmit={async (data) => {
            await api.addApproval(room.id, {
              status: text(data, "status") as ApprovalStatus,
              comment: text(data, "comment"),
            });
            await reload();
          }}
        >
          <label>
            Status
            <select name="status">
              {APPROVAL_STATUSES.map((status) => (
                <option value={status} selected={status === "approved"}>
                  {status}
                </option>
              ))}
            </select>
          </label>
          <label class="wide">
            Comment <span class="muted">(optional)</span>
            <textarea name="comment" rows={2} maxLength={2000} />
          </label>
        </Form>
      )}
    </section>
  );
}
