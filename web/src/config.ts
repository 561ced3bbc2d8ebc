/** The runtime configuration: /config.json, served by the local stack and written into the web bucket on deploy. */
export interface Config {
  oidc: { authority: string; client_id: string; scope?: string };
  admin_group?: string;
  /** The AppSync Events API that pushes task changes; without it the app polls. */
  events?: EventsConfig;
}

export interface EventsConfig {
  /** host[:port] of the HTTP (publish) endpoint: what the realtime endpoint's authorization names. */
  http: string;
  /** ws:// or wss:// URL of the realtime endpoint. */
  realtime: string;
}

export async function loadConfig(): Promise<Config> {
  const response = await fetch("/config.json", { cache: "no-cache" });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  return response.json();
}
