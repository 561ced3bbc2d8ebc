/** The frame (header, navigation, sign-out) and the routes. */
import type { ComponentType } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { SESSION_ENDED, signOut, type Me } from "./auth";
import { RoomPage, type RoomTab } from "./pages/room";
import { RoomsPage } from "./pages/rooms";
import { SignedOut } from "./pages/signed-out";
import { VerifyPage } from "./pages/verify";
import { Link, navigate, usePath } from "./router";
import { Loading } from "./ui";

const ROOM_PATH = /^\/rooms\/([^/]+)(?:\/(snapshots|activity|webhooks))?\/?$/;

export function App({ initialUser }: { initialUser: Me | null }) {
  const [me, setMe] = useState(initialUser);
  const [ended, setEnded] = useState(false);
  const path = usePath();
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    const end = () => {
      setMe(null);
      setEnded(true);
    };
    addEventListener(SESSION_ENDED, end);
    return () => removeEventListener(SESSION_ENDED, end);
  }, []);

  // After a navigation, focus the new page's content, as a page load would for a screen reader.
  const firstRender = useRef(true);
  useEffect(() => {
    if (!firstRender.current) main.current?.focus();
    firstRender.current = false;
  }, [path]);

  if (!me && path === "/verify") {
    // Open to anyone holding a file: no sign-in needed.
    return (
      <main id="main" class="signed-out">
        <VerifyPage />
      </main>
    );
  }
  if (!me) return <SignedOut problem={ended ? "Your session has ended. Sign in again to go on." : undefined} />;

  const room = ROOM_PATH.exec(path);
  const page =
    path === "/" ? (
      <RoomsPage me={me} />
    ) : room ? (
      <RoomPage me={me} roomId={decodeURIComponent(room[1])} tab={(room[2] ?? "data") as RoomTab} />
    ) : path === "/verify" ? (
      <VerifyPage />
    ) : path === "/admin" && me.isAdmin ? (
      <AdminRoute />
    ) : (
      <NotFound />
    );

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          Room Snapshots
        </Link>
        <nav aria-label="Main">
          <Link href="/" current={path === "/"}>
            My rooms
          </Link>
          <Link href="/verify" current={path === "/verify"}>
            Verify a PDF
          </Link>
          {me.isAdmin && (
            <Link href="/admin" current={path === "/admin"}>
              Dashboard
            </Link>
          )}
        </nav>
        <div class="who">
          <span>
            {me.email}
            {me.isAdmin && <span class="badge">admin</span>}
          </span>
          <button
            type="button"
            class="quiet"
            onClick={async () => {
              await signOut();
              setMe(null);
              navigate("/", true);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

/** The dashboard and its chart library load only when an admin opens it. */
function AdminRoute() {
  const [Page, setPage] = useState<ComponentType | null>(null);
  useEffect(() => void import("./pages/admin").then((module) => setPage(() => module.AdminPage)), []);
  return Page ? <Page /> : <Loading what="the dashboard" />;
}

function NotFound() {
  useEffect(() => void (document.title = "Not found · Room Snapshots"), []);
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link href="/">Go to your rooms</Link>.
      </p>
    </>
  );
}
