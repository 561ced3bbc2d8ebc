"""The web app's /config.json: what it signs in with and where its live channel is. Served by the
emulated stack (scripts/local.py) and written into the web bucket by scripts/publish_web.py."""

from typing import Any


def runtime_config(
    authority: str, client_id: str, admin_group: str, live_channel: tuple[str, str] | None = None
) -> dict[str, Any]:
    """`live_channel` is the Events API's (HTTP domain, realtime URL); without one the app polls."""
    config: dict[str, Any] = {"oidc": {"authority": authority, "client_id": client_id}, "admin_group": admin_group}
    if live_channel:
        config["events"] = {"http": live_channel[0], "realtime": live_channel[1]}
    return config
