"""What an application tells the emulator about itself: the one object it hands over."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from template_emulator.auth import LOCAL_AUDIENCE


@dataclass(frozen=True)
class SiteFacts:
    """What a web app needs to know of the emulated stack to sign in and listen (its /config.json)."""

    issuer: str  # the development OIDC provider's issuer
    client_id: str  # the web app's client id there
    admin_group: str  # the group an "admin" sign-in is put in
    events_http: str | None  # host:port of the AppSync Events HTTP endpoint, if the template has one
    events_realtime: str | None  # its WebSocket URL


@dataclass(frozen=True)
class Profile:
    """The application's side of the emulator, passed as `Emulator(..., profile=...)`.

    `function_environment` is set for every function on top of its template environment: the
    application's local-only switches, which its template never sets. `admin_group_parameter` names
    the template parameter holding the admin group (the OIDC provider's "admin" box puts users in
    it). `site_root` is the built web app, relative to the template's folder, served where the
    template's CloudFront distribution serves its bucket; `site_config` makes its /config.json.
    """

    stack_name: str = "emulated"
    function_environment: Mapping[str, str] = field(default_factory=dict)
    product_name: str = "the application"  # as the development sign-in page names it
    client_id: str = LOCAL_AUDIENCE
    admin_group_parameter: str | None = None
    default_admin_group: str = "admin"
    site_root: Path | None = None
    site_config: Callable[[SiteFacts], dict[str, Any]] | None = None
    # How to mint a token for this stack, told (in its log) with a 401 for a token of another issuer;
    # "{port}" is replaced by the stack's port.
    token_hint: str = ""
    # Steps of the application's own, run once the template's resources exist and before any function
    # starts (e.g. certifying a key the template made): called with the template and the endpoint.
    after_provision: Callable[[Any, Any], object] | None = None
