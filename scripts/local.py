"""Room Snapshots on the emulator (infra/, the template_emulator package): the application's profile,
and `python -m scripts.local run [--fresh] | token --email E [--admin] [--ttl S] | fire FUNCTION [EVENT]`
(make run, make token, make fire).

`run` keeps the stack's state in .local/state/<PORT>/ across restarts (--fresh starts empty);
tests, benchmarks and CI build their stacks with `emulate()`, which keeps nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import requests
from template_emulator.auth import KEY_FILE, SigningKey, local_issuer
from template_emulator.emulator import Emulator
from template_emulator.profile import Profile, SiteFacts

from scripts.signing_ca import certify_template_signers
from scripts.web_config import runtime_config

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
STATE_ROOT = ROOT / ".local" / "state"
TOKEN_COMMAND = "PORT={port} make -s token EMAIL=you@example.com"


def site_config(facts: SiteFacts) -> dict[str, Any]:
    live = (facts.events_http, facts.events_realtime) if facts.events_http and facts.events_realtime else None
    return runtime_config(facts.issuer, facts.client_id, facts.admin_group, live)


PROFILE = Profile(
    stack_name="room-snapshots-local",
    # Settings template.yaml never sets: webhooks may go to loopback receivers, and to nothing else,
    # so nothing run locally sends traffic off the machine; the live channel and the web app (whose
    # /verify page the PDFs name) are the stack's own plain-HTTP server.
    function_environment={"WEBHOOK_LOOPBACK_ONLY": "true", "EVENTS_SCHEME": "http", "WEB_SCHEME": "http"},
    product_name="Room Snapshots",
    client_id="room-snapshots-local",
    admin_group_parameter="AdminGroup",
    site_root=Path("web/dist"),
    site_config=site_config,
    token_hint=f"mint one for this stack with `{TOKEN_COMMAND}`",
    # The template's PDF signing key, made in the emulator's KMS, certified by the development CA.
    after_provision=certify_template_signers,
)


def emulate(port: int = 0, stack_name: str | None = None, **options: Any) -> Emulator:
    """The application's template on the emulator, keeping no state: for tests and benchmarks.
    `stack_name` gives a stack resources of its own within the process (moto's state is per process)."""
    profile = dataclasses.replace(PROFILE, stack_name=stack_name) if stack_name else PROFILE
    return Emulator(TEMPLATE, profile, port=port, **options)


def state_dir(port: int) -> Path:
    """One folder per port: two stacks never share one."""
    return STATE_ROOT / str(port)


def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s.%(msecs)03d %(name)s %(message)s", datefmt="%H:%M:%S")
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    state = args.state_dir or state_dir(args.port)
    with Emulator(args.template, PROFILE, port=args.port, state_dir=state, fresh=args.fresh) as stack:
        print(f"\nRoom Snapshots on {stack.base_url} (AWS endpoint {stack.endpoint_url})")
        print(f"State kept in {stack.state.path if stack.state else '(nowhere)'}; `make run FRESH=1` starts empty")
        if stack.serves_web_app:
            print(f"Web app: {stack.base_url}/ (sign in with any email: a development OIDC provider)")
        if stack.events:
            print(f"Live channel (AppSync Events): ws://{stack.authority}/event/realtime")
        for logical_id, physical_id in stack.resources.items():
            print(f"  {logical_id:<28} {physical_id}")
        print(
            f"\nA token: {TOKEN_COMMAND.format(port=args.port)} [ADMIN=1]\n"
            f'  curl -H "Authorization: Bearer $({TOKEN_COMMAND.format(port=args.port)})" {stack.base_url}/...\n'
            f"Ctrl-C stops.\n",
            flush=True,
        )
        stopping.wait()
        print("Stopping (saving the state)...", flush=True)


def token(args: argparse.Namespace) -> None:
    """A token the stack on `--port` accepts: signed with that stack's development key."""
    if not args.email.strip():
        sys.exit("an email is needed: make -s token EMAIL=someone@example.com")
    key = SigningKey.load_or_create(state_dir(args.port) / KEY_FILE)
    print(
        key.mint(
            args.email,
            admin=args.admin,
            ttl=args.ttl,
            issuer=local_issuer(args.port),
            audience=PROFILE.client_id,
            admin_group=PROFILE.default_admin_group,
        )
    )


def fire(args: argparse.Namespace) -> None:
    target = "/".join(filter(None, [args.function, args.event]))
    response = requests.post(f"http://127.0.0.1:{args.port}/_local/schedules/{target}", timeout=900)
    print(response.text)
    sys.exit(0 if response.ok else 1)


def main() -> None:
    port = int(os.environ.get("PORT", 3000))
    parser = argparse.ArgumentParser(prog="python -m scripts.local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_command = commands.add_parser("run", help="start the stack until Ctrl-C")
    run_command.add_argument("--template", default=str(TEMPLATE))
    run_command.add_argument("--port", type=int, default=port)
    run_command.add_argument("--fresh", action="store_true", help="forget the saved state and start empty")
    run_command.add_argument("--state-dir", type=Path, help="where the state is kept (.local/state/<PORT>)")
    run_command.set_defaults(handler=run)
    token_command = commands.add_parser("token", help="print a development JWT")
    token_command.add_argument("--email", required=True)
    token_command.add_argument("--admin", action="store_true")
    token_command.add_argument("--ttl", type=int, default=3600, help="seconds")
    token_command.add_argument("--port", type=int, default=port, help="of the stack")
    token_command.set_defaults(handler=token)
    fire_command = commands.add_parser("fire", help="fire a schedule of the running stack now")
    fire_command.add_argument("function")
    fire_command.add_argument("event", nargs="?")
    fire_command.add_argument("--port", type=int, default=port, help="of the stack")
    fire_command.set_defaults(handler=fire)
    args = parser.parse_args()
    args.handler(args)


if __name__ == "__main__":
    main()
