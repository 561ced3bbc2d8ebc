"""python -m infra run | token --email E [--admin] [--ttl S] [--port P] | fire FUNCTION [EVENT]"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

import requests


def run(args: argparse.Namespace) -> None:
    from infra.stack import LocalStack

    logging.basicConfig(level=logging.INFO, format="%(asctime)s.%(msecs)03d %(name)s %(message)s", datefmt="%H:%M:%S")
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with LocalStack(args.template, port=args.port) as stack:
        print(f"\nLocal stack on {stack.base_url} (AWS endpoint {stack.endpoint_url})")
        if stack.serves_web_app:
            print(f"Web app: {stack.base_url}/ (sign in with any email: a development OIDC provider)")
        if stack.events:
            print(f"Live channel (AppSync Events): ws://{stack.authority}/event/realtime")
        for logical_id, physical_id in stack.resources.items():
            print(f"  {logical_id:<28} {physical_id}")
        print(
            f"\nA token: make -s token EMAIL=you@example.com [ADMIN=1]\n"
            f'  curl -H "Authorization: Bearer $(make -s token EMAIL=you@example.com)" {stack.base_url}/...\n'
            f"Ctrl-C stops.\n",
            flush=True,
        )
        stopping.wait()
        print("Stopping...", flush=True)


def token(args: argparse.Namespace) -> None:
    from infra.auth import SigningKey, local_issuer

    if not args.email.strip():
        sys.exit("an email is needed: make -s token EMAIL=someone@example.com")
    print(SigningKey.load_or_create().mint(args.email, admin=args.admin, ttl=args.ttl, issuer=local_issuer(args.port)))


def fire(args: argparse.Namespace) -> None:
    target = "/".join(filter(None, [args.function, args.event]))
    response = requests.post(
        f"http://127.0.0.1:{os.environ.get('PORT', '3000')}/_local/schedules/{target}", timeout=900
    )
    print(response.text)
    sys.exit(0 if response.ok else 1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_command = commands.add_parser("run", help="start the local stack until Ctrl-C")
    run_command.add_argument("--template", default="template.yaml")
    run_command.add_argument("--port", type=int, default=int(os.environ.get("PORT", 3000)))
    run_command.set_defaults(handler=run)
    token_command = commands.add_parser("token", help="print a development JWT")
    token_command.add_argument("--email", required=True)
    token_command.add_argument("--admin", action="store_true")
    token_command.add_argument("--ttl", type=int, default=3600, help="seconds")
    token_command.add_argument("--port", type=int, default=int(os.environ.get("PORT", 3000)), help="of the stack")
    token_command.set_defaults(handler=token)
    fire_command = commands.add_parser("fire", help="fire a schedule of the running stack now")
    fire_command.add_argument("function")
    fire_command.add_argument("event", nargs="?")
    fire_command.set_defaults(handler=fire)
    args = parser.parse_args()
    args.handler(args)


if __name__ == "__main__":
    main()
