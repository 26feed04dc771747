"""`codesense apikey create|list|revoke`: the keys the HTTP API and the web pages accept.

`create` prints the key alone on the last line of stdout, once: it is stored only as a hash.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    from apps.actors import ROLES

    apikey = sub.add_parser("apikey", help="create, list or revoke API keys for the server")
    actions = apikey.add_subparsers(dest="apikey_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a key; it is printed once, on the last line")
    create.add_argument(
        "--name", required=True, help="who or what uses it (letters, digits . _ @ -)"
    )
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--org", default=None, help="organisation (default: CODESENSE_ORG)")
    create.set_defaults(handler=run_create)
    ls = actions.add_parser("list", help="the keys, their roles and organisations (no secrets)")
    ls.add_argument("--format", choices=["table", "json"], default="table")
    ls.set_defaults(handler=run_list)
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.set_defaults(handler=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    from apps.cli.session import open_service

    service, actor = open_service()
    record, token = service.create_api_key(actor, args.name, args.role, args.org)
    print(
        f"API key {record.key_id} for {record.name} (role {record.role}, org {record.org}); "
        "it is shown once, store it now:",
        file=sys.stderr,
    )
    print(token)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from apps.cli.session import open_service

    service, actor = open_service()
    keys = service.api_keys(actor)
    if args.format == "json":
        for k in keys:
            sys.stdout.write(k.model_dump_json() + "\n")
        return 0
    if not keys:
        print("no API keys yet: codesense apikey create --name NAME --role ROLE")
        return 0
    print(f"{'KEY':<13} {'NAME':<24} {'ROLE':<12} {'ORG':<12} {'CREATED':<20} STATE")
    for k in keys:
        state = f"revoked {k.revoked_at[:19]}" if k.revoked_at else "active"
        print(
            f"{k.key_id:<13} {k.name[:24]:<24} {k.role:<12} {k.org[:12]:<12} "
            f"{k.created_at[:19]:<20} {state}"
        )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from apps.cli.session import open_service

    service, actor = open_service()
    record = service.revoke_api_key(actor, args.key_id)
    print(f"revoked API key {record.key_id} ({record.name})")
    return 0
