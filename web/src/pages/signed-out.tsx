/** The page of someone not signed in: what the app is, and the way in. */
import { useEffect } from "preact/hooks";
import { signIn } from "../auth";

export function SignedOut({ problem }: { problem?: string }) {
  useEffect(() => void (document.title = "Sign in · Room Snapshots"), []);
  return (
    <main id="main" class="signed-out">
      <h1>Room Snapshots</h1>
      <p>
        Auditable PDF snapshots of ship-to-ship operation rooms: parties, vessels, documents, approvals and activity.
      </p>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <button
        type="button"
        onClick={() => void signIn(location.pathname === "/auth/callback" ? "/" : location.pathname)}
      >
        Sign in
      </button>
    </main>
  );
}
