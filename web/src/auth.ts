/** Sign-in with the deployment's OpenID Connect provider: authorization code + PKCE, by oidc-client-ts. */
import { UserManager, WebStorageStateStore, type User } from "oidc-client-ts";
import type { Config } from "./config";

export interface Me {
  email: string;
  isAdmin: boolean;
  /** The ID token: it carries the email and groups the API reads (a Cognito access token has no email). */
  token: string;
}

/** Dispatched on window when the session ends (the token expired, or the API refused it). */
export const SESSION_ENDED = "session-ended";

let manager: UserManager;
let adminGroup = "admin";
let signedIn: Me | null = null;

export function setUpAuth(config: Config): void {
  adminGroup = config.admin_group ?? "admin";
  manager = new UserManager({
    authority: config.oidc.authority,
    client_id: config.oidc.client_id,
    redirect_uri: `${location.origin}/auth/callback`,
    post_logout_redirect_uri: `${location.origin}/`,
    response_type: "code",
    scope: config.oidc.scope ?? "openid email",
    // No silent renewal: the provider issues no refresh tokens, so an ended session asks to sign in again.
    automaticSilentRenew: false,
    userStore: new WebStorageStateStore({ store: sessionStorage }),
  });
  manager.events.addAccessTokenExpired(endSession);
}

export function endSession(): void {
  signedIn = null;
  dispatchEvent(new Event(SESSION_ENDED));
}

export function token(): string | null {
  return signedIn?.token ?? null;
}

function me(user: User): Me {
  const claims = user.profile as Record<string, unknown>;
  const groups = [claims["cognito:groups"], claims.groups].flat().filter((group) => typeof group === "string");
  return {
    email: String(claims.email ?? "").toLowerCase(),
    isAdmin: groups.includes(adminGroup),
    token: user.id_token ?? "",
  };
}

export async function currentUser(): Promise<Me | null> {
  const user = await manager.getUser();
  signedIn = user && !user.expired && user.id_token ? me(user) : null;
  return signedIn;
}

export async function signIn(returnTo: string): Promise<void> {
  await manager.removeUser();
  await manager.signinRedirect({ state: { returnTo } });
}

/** Completes the redirect back from the provider; returns where the user was going. */
export async function completeSignIn(): Promise<string> {
  const user = await manager.signinRedirectCallback();
  const returnTo = (user.state as { returnTo?: string } | undefined)?.returnTo;
  return returnTo?.startsWith("/") ? returnTo : "/";
}

export async function signOut(): Promise<void> {
  const user = await manager.getUser();
  signedIn = null;
  await manager.removeUser();
  // Ends the provider's session too where it has an end-session endpoint (Cognito's discovery has none).
  if (await manager.metadataService.getEndSessionEndpoint()) {
    await manager.signoutRedirect({ id_token_hint: user?.id_token });
  }
}
