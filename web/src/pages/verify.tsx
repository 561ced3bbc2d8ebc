/** Anyone holding a snapshot's PDF checks here whether this service issued exactly that file (the address a
 * snapshot's footer is to print: docs/signing.md). A file of up to 4 MiB is sent (so a file changed after signing can be told
 * apart); a larger one is checked by its SHA-256, computed in the browser. Signed in, a party of the room
 * also sees its title. */
import { useEffect, useState } from "preact/hooks";
import { api, type Verification } from "../api";
import { ErrorNote, formatTime, useAction } from "../ui";

const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;

const HEADLINES: Record<Verification["verdict"], string> = {
  issued: "Issued by this service",
  changed_after_signing: "Changed after signing",
  not_issued: "Not issued by this service",
};

export function VerifyPage() {
  useEffect(() => void (document.title = "Verify a snapshot · Room Snapshots"), []);
  const [result, setResult] = useState<{ name: string; verification: Verification } | null>(null);
  const { run, busy, error } = useAction(async (file: File) => {
    setResult(null);
    const verification = file.size <= MAX_UPLOAD_BYTES ? await api.verifyPdf(file) : await api.verifySha256(file);
    setResult({ name: file.name, verification });
  });
  return (
    <section class="verify">
      <h1>Verify a snapshot</h1>
      <p>
        Choose a snapshot PDF to check that this service issued exactly that file, and when. Files up to 4 MB are sent
        to the service; larger ones are checked by their SHA-256 fingerprint, computed here.
      </p>
      <label class="field">
        PDF file
        <input
          type="file"
          accept="application/pdf,.pdf"
          disabled={busy}
          onChange={(event) => {
            const file = (event.currentTarget as HTMLInputElement).files?.[0];
            if (file) void run(file);
          }}
        />
      </label>
      {busy && (
        <p class="muted" role="status">
          Checking…
        </p>
      )}
      <ErrorNote error={error} />
      {result && <Verdict name={result.name} verification={result.verification} />}
    </section>
  );
}

function Verdict({ name, verification }: { name: string; verification: Verification }) {
  const first = verification.issuances[0];
  return (
    <div class={`verdict ${verification.verdict}`} role="status" aria-live="polite">
      <h2>{HEADLINES[verification.verdict]}</h2>
      <p>{verification.message}</p>
      <dl>
        <dt>File</dt>
        <dd>{name}</dd>
        {verification.issued_at && (
          <>
            <dt>{verification.issued ? "Issued" : "Signed part issued"}</dt>
            <dd>{formatTime(verification.issued_at)}</dd>
          </>
        )}
        {verification.snapshot_id && (
          <>
            <dt>Snapshot</dt>
            <dd>
              <code>{verification.snapshot_id}</code>
            </dd>
          </>
        )}
        {first?.room_title && (
          <>
            <dt>Room</dt>
            <dd>{first.room_title}</dd>
          </>
        )}
        {verification.signature?.signer && (
          <>
            <dt>Signed by</dt>
            <dd>{verification.signature.signer}</dd>
          </>
        )}
        <dt>SHA-256</dt>
        <dd>
          <code class="digest">{verification.sha256}</code>
        </dd>
      </dl>
    </div>
  );
}
