import { render } from "preact";
import { configureApi } from "./api";
import { App } from "./app";
import { completeSignIn, currentUser, endSession, setUpAuth, signIn, token } from "./auth";
import { loadConfig } from "./config";
import { configureLive } from "./live";
import { SignedOut } from "./pages/signed-out";
import "./styles.css";

async function start(root: HTMLElement): Promise<void> {
  configureApi(token, endSession);
  try {
    const config = await loadConfig();
    setUpAuth(config);
    configureLive(config.events, token, endSession); // a refused token ends the session, as a 401 does
  } catch {
    render(<SignedOut problem="The app's configuration could not be loaded. Reload the page to try again." />, root);
    return;
  }
  if (location.pathname === "/sign-in") {
    await signIn("/"); // leaves for the identity provider
    return;
  }
  if (location.pathname === "/auth/callback") {
    try {
      history.replaceState(null, "", await completeSignIn());
    } catch {
      history.replaceState(null, "", "/");
      render(<SignedOut problem="Signing in did not complete. Please try again." />, root);
      return;
    }
  }
  render(<App initialUser={await currentUser()} />, root);
}

void start(document.getElementById("app")!);
