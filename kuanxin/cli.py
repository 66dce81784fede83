"""The `kuanxin` command: account data and servers."""
from __future__ import annotations

import argparse
import sys

from kuanxin import clock, demo, importer
from kuanxin.db import database


def _load(document_or_path, from_file: bool) -> int:
    db = database()
    try:
        counts = (importer.load_file(db, document_or_path) if from_file
                  else importer.load_document(db, document_or_path))
    except importer.ImportValidationError as exc:
        print("kuanxin: nothing was loaded; the file has these problems:", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    print("loaded " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    return 0


def cmd_db_load(args) -> int:
    return _load(args.file, from_file=True)


def cmd_db_demo(args) -> int:
    if args.if_empty and not database().is_empty():
        print("account database already has data; demo not loaded")
        return 0
    return _load(demo.rebased(demo.demo_document(), clock.today()), from_file=False)


def cmd_serve(args) -> int:
    from kuanxin.serve import serve
    return serve(args.port, args.action_port, args.web_port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kuanxin", description="kuanxin borrower self-service assistant")
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="account database").add_subparsers(dest="db_command", required=True)
    load = db.add_parser("load", help="replace the account data with a JSON file's")
    load.add_argument("file")
    load.set_defaults(func=cmd_db_load)
    demo_cmd = db.add_parser("demo", help="load the shipped demo accounts")
    demo_cmd.add_argument("--if-empty", action="store_true", help="only when the database has no borrowers")
    demo_cmd.set_defaults(func=cmd_db_demo)
    serve = commands.add_parser("serve", help="run the action server, Rasa and the web app in the foreground")
    serve.add_argument("--port", type=int, default=5005)
    serve.add_argument("--action-port", type=int, default=5055)
    serve.add_argument("--web-port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
