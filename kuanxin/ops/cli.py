"""The `kuanxin` command: account data and servers."""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
from pathlib import Path

from kuanxin.core import clock, settings
from kuanxin.store import demo, importer
from kuanxin.store.db import database


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


def cmd_db_upgrade(args) -> int:
    from kuanxin.store.migrate import MigrationError, ensure_database, upgrade
    try:
        ensure_database(settings.database_url())
        revision = upgrade(settings.database_url(), args.revision)
    except MigrationError as exc:
        print(f"kuanxin: {exc}", file=sys.stderr)
        return 1
    print(f"account database at revision {revision}")
    return 0


def cmd_db_current(_args) -> int:
    from kuanxin.store.migrate import current, head
    at = current(settings.database_url())
    print(f"{at or 'none (not created by migrations)'} (latest: {head()})")
    return 0 if at == head() else 1


def cmd_staff_add(args) -> int:
    from kuanxin.console.staff import StaffDirectory, StaffError
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else _ask_password()
    try:
        member = StaffDirectory().add(args.name, password, args.role, args.display_name, clock.now())
    except StaffError as exc:
        print(f"kuanxin: {exc}", file=sys.stderr)
        return 1
    print(f"added {member.role} {member.username} ({member.display_name})")
    return 0


def _ask_password() -> str:
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("kuanxin: the passwords differ")
    return first


def cmd_staff_list(_args) -> int:
    from kuanxin.console.staff import StaffDirectory
    for member, active in StaffDirectory().members():
        print(f"{member.username:20} {member.role:11} {'active' if active else 'disabled':9} {member.display_name}")
    return 0


def cmd_staff_disable(args) -> int:
    from kuanxin.console.staff import StaffDirectory
    if not StaffDirectory().disable(args.name):
        print(f"kuanxin: no staff member {args.name}", file=sys.stderr)
        return 1
    print(f"disabled {args.name}; their sessions are closed")
    return 0


def cmd_config_check(_args) -> int:
    from kuanxin.ops import config
    printed, sound = config.report(os.environ)
    print(printed)
    return 0 if sound else 1


def cmd_sync(args) -> int:
    from kuanxin.core import clock, policy
    from kuanxin.reminders.promises import keep_covered_promises
    from kuanxin.store import sync, sync_workers
    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    fmt = args.format or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    size, shown = max(path.stat().st_size, 1), {"bytes": 0}
    records = sync.read_records(sync.file_lines(path, lambda done: shown.update(bytes=done)), fmt, args.type)
    progress = (lambda count: print(f"\r{count:,} records  {shown['bytes'] * 100 // size:3d}%", end="",
                                    file=sys.stderr, flush=True)) if not args.quiet else None
    workers = args.workers or sync_workers.workers_for(size, database(), os.cpu_count() or 1)
    if workers > 1:
        summary, changed_loans = sync_workers.run(database(), policy.current().payments, policy.current().segments,
                                                  records, workers, progress)
    else:
        syncing = sync.Sync(database(), policy.current().payments)
        summary, changed_loans = syncing.run(records, progress), syncing.changed_loans
    keep_covered_promises(database(), changed_loans, clock.today())
    if progress:
        print(file=sys.stderr)
    print(sync.summary_text(summary))
    if args.rejects:
        Path(args.rejects).write_text(json.dumps(summary.as_dict()["rejected"], ensure_ascii=False, indent=1),
                                      encoding="utf-8")
    return 1 if summary.total("rejected") else 0


def cmd_texts_widget(args) -> int:
    from kuanxin.core import texts
    bundle = json.dumps(texts.widget_texts(), ensure_ascii=False, indent=1, sort_keys=True)
    Path(args.out).write_text(bundle + "\n", encoding="utf-8")
    return 0


def cmd_serve(args) -> int:
    from kuanxin.ops.serve import serve
    return serve(args.port, args.action_port, args.web_port)


def cmd_segments(_args) -> int:
    from kuanxin.core import policy
    from kuanxin.store import classes
    rules = policy.current().segments
    classes.ensure_current(database(), clock.today(), rules)
    rows = classes.summary(database(), rules)
    print(f"accounts by class as of {clock.today().isoformat()} (large from {rules.large_from})")
    print(f"{'class':<12}{'size':<7}{'accounts':>9}{'amount':>16}  treatment")
    for row in rows:
        print(f"{row.segment:<12}{row.size:<7}{row.accounts:>9}{row.amount:>16,}  {row.treatment}")
    print(f"{'total':<19}{sum(r.accounts for r in rows):>9}{sum(r.amount for r in rows):>16,}")
    return 0


def cmd_classes_refresh(args) -> int:
    import time

    from kuanxin.core import policy
    from kuanxin.store import classes
    rules, today, started = policy.current().segments, clock.today(), time.perf_counter()
    if not args.force and classes.is_current(database(), today, rules):
        print(f"account classes are already current for {today.isoformat()}")
        return 0
    accounts = classes.refresh_book(database(), today, rules)
    print(f"classified {accounts:,} accounts as of {today.isoformat()} in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_reminders_run(args) -> int:
    from kuanxin.reminders.cli import run_reminders
    return run_reminders(args.dry_run)


def cmd_report(args) -> int:
    from kuanxin.console import analytics
    try:
        start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
        report = analytics.build_report(database(), start, end)
    except ValueError as exc:
        print(f"kuanxin: {exc} (give --from and --to as YYYY-MM-DD)", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else settings.var_dir() / "reports"
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"kuanxin-report-{start.isoformat()}-{end.isoformat()}"
    stem.with_suffix(".csv").write_text(analytics.csv_text(report), encoding="utf-8")
    stem.with_suffix(".html").write_text(analytics.html_page(report), encoding="utf-8")
    print(f"{start.isoformat()} to {end.isoformat()}: {report.conversations} conversations, "
          f"containment {analytics.percent(report.containment)}, {report.promises_made} promises "
          f"({report.promises.get('kept', 0)} kept), {report.reminders_sent} reminders sent, "
          f"{report.opted_out} opted out, {report.cured} of {report.touched_overdue} cured within "
          f"{analytics.CURE_DAYS} days")
    print(f"wrote {stem}.csv and {stem}.html")
    return 0


def _transcripts(args):
    """The conversation store named by --tracker-store or KUANXIN_TRACKER_STORE_URL; None: conversations are
    kept in memory only, so there are no stored transcripts."""
    from kuanxin.store.transcripts import Transcripts
    url = args.tracker_store or settings.current().given("KUANXIN_TRACKER_STORE_URL")
    if not url:
        print("no conversation store configured (KUANXIN_TRACKER_STORE_URL): conversations are kept in memory, "
              "there are no stored transcripts")
        return None
    return Transcripts(url)


def cmd_privacy_retention(args) -> int:
    from kuanxin.console.privacy import run_retention
    from kuanxin.core import policy
    from kuanxin.lending.identity import mask_text
    rules = policy.current().privacy
    done = run_retention(database(), _transcripts(args), rules, args.by, dry_run=args.dry_run)
    would = "would " if args.dry_run else ""
    print(f"transcripts before {done.cutoff:%Y-%m-%d %H:%M} ({rules.transcript_days} days)"
          + (" [dry run: nothing changed]" if args.dry_run else ""))
    print(f"  {would}anonymise {done.transcripts.events} events in {len(done.transcripts.conversations)} "
          "conversations")
    kept = sorted(done.transcripts.kept)
    print(f"  kept whole while a dispute or complaint is open: {len(kept)} conversations")
    for conversation in kept:
        print(f"    {mask_text(conversation)} ({done.held[conversation]})")
    print(f"  {would}remove {done.expired_phones} expired phone numbers waiting for an ID tail")
    return 0


def cmd_privacy_mask_stored(args) -> int:
    from kuanxin.console.privacy import mask_stored
    transcripts = _transcripts(args)
    if transcripts is None:
        return 0
    done = mask_stored(database(), transcripts, args.by, dry_run=args.dry_run)
    print(("would mask" if args.dry_run else "masked") + f" full numbers in {done.events} events of "
          f"{len(done.conversations)} conversations" + (" [dry run: nothing changed]" if args.dry_run else ""))
    return 0


def cmd_privacy_export(args) -> int:
    from kuanxin.console.privacy import UnknownBorrower, export_borrower
    try:
        done = export_borrower(database(), _transcripts(args), args.borrower, Path(args.out), args.by)
    except UnknownBorrower:
        print(f"kuanxin: no borrower {args.borrower}", file=sys.stderr)
        return 1
    print(f"{args.borrower}: {sum(done.records.values())} records, {done.conversations} conversations "
          f"({done.events} events)")
    print(f"wrote {done.json_path} and {done.html_path}")
    return 0


def cmd_privacy_delete(args) -> int:
    from kuanxin.console.privacy import StillOpen, UnknownBorrower, delete_borrower
    try:
        done = delete_borrower(database(), _transcripts(args), args.borrower, args.by)
    except UnknownBorrower:
        print(f"kuanxin: no borrower {args.borrower}", file=sys.stderr)
        return 1
    except StillOpen as open_cases:
        print(f"kuanxin: nothing deleted: a dispute or complaint is open ({', '.join(open_cases.references)}); "
              "its records are kept whole until staff resolve it", file=sys.stderr)
        return 1
    print(f"{args.borrower}: {done.transcripts.events} events in {len(done.transcripts.conversations)} "
          f"conversations anonymised, {done.documents} attached documents deleted")
    for name, count in done.records.items():
        print(f"  {name}: {count}")
    return 0


def cmd_events_deliver(args) -> int:
    from kuanxin.outbound.deliverer import run_deliverer
    return run_deliverer(once=args.once)


def cmd_cluster(args) -> int:
    from kuanxin.ops.cluster import run_cluster
    return run_cluster(args.instances, args.port, args.demo_pages)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kuanxin", description="kuanxin borrower self-service assistant")
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="account database").add_subparsers(dest="db_command", required=True)
    load = db.add_parser("load", help="demo and tests only: REPLACE all account data and what conversations "
                       "recorded with a JSON file's (a lender's data goes in with `kuanxin sync`)")
    load.add_argument("file")
    load.set_defaults(func=cmd_db_load)
    demo_cmd = db.add_parser("demo", help="load the shipped demo accounts")
    demo_cmd.add_argument("--if-empty", action="store_true", help="only when the database has no borrowers")
    demo_cmd.set_defaults(func=cmd_db_demo)
    upgrade = db.add_parser("upgrade", help="apply schema migrations (any database other than the SQLite default)")
    upgrade.add_argument("--revision", default="head", help="target revision (default: the latest)")
    upgrade.set_defaults(func=cmd_db_upgrade)
    db.add_parser("current", help="the schema revision of the database (exit 1 unless latest)").set_defaults(
        func=cmd_db_current)
    staff = commands.add_parser("staff", help="staff console accounts").add_subparsers(dest="staff_command",
                                                                                     required=True)
    add = staff.add_parser("add", help="add a staff member (the password is asked for)")
    add.add_argument("name", help="login name: lowercase letters, digits, . _ -")
    add.add_argument("--role", choices=("agent", "supervisor"), required=True)
    add.add_argument("--display-name", help="the name borrowers and colleagues see (default: the login name)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_staff_add)
    staff.add_parser("list", help="list staff members").set_defaults(func=cmd_staff_list)
    disable = staff.add_parser("disable", help="stop a staff member from signing in")
    disable.add_argument("name")
    disable.set_defaults(func=cmd_staff_disable)
    config_cmd = commands.add_parser("config", help="the effective configuration").add_subparsers(
        dest="config_command", required=True)
    config_cmd.add_parser("check", help="print every setting (secrets masked) and check it all; exit 1 on a problem"
                          ).set_defaults(func=cmd_config_check)
    sync_cmd = commands.add_parser("sync", help="upsert accounts, loans, schedules and payments from a JSON Lines or "
                                   "CSV file (never deletes; exit 1 when a record was rejected)")
    sync_cmd.add_argument("file")
    sync_cmd.add_argument("--format", choices=("jsonl", "csv"), help="default: by the file's suffix")
    sync_cmd.add_argument("--type", choices=("borrower", "loan", "schedule", "payment"),
                          help="the kind of every record of a CSV file without a type column")
    sync_cmd.add_argument("--rejects", help="write every rejected record and why (JSON) to this file")
    sync_cmd.add_argument("--quiet", action="store_true", help="no progress line")
    sync_cmd.add_argument("--workers", type=int, choices=range(1, 9), metavar="N",
                          help="processes applying records, split by borrower (default: one per core, up to 4, for a "
                               "file over 4 MB on PostgreSQL; else 1)")
    sync_cmd.set_defaults(func=cmd_sync)
    texts_cmd = commands.add_parser("texts", help="the text catalogue").add_subparsers(dest="texts_command",
                                                                               required=True)
    widget = texts_cmd.add_parser("widget", help="write the chat widget's own words (every language) as JSON")
    widget.add_argument("--out", required=True)
    widget.set_defaults(func=cmd_texts_widget)
    serve = commands.add_parser("serve", help="run the action server, Rasa and the web app in the foreground")
    serve.add_argument("--port", type=int, default=5005)
    serve.add_argument("--action-port", type=int, default=5055)
    serve.add_argument("--web-port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
    commands.add_parser("segments", help="accounts and amounts per class as of today").set_defaults(
        func=cmd_segments)
    classes_cmd = commands.add_parser("classes", help="the account classes the console and reminders read")
    refresh = classes_cmd.add_subparsers(dest="classes_command", required=True).add_parser(
        "refresh", help="classify the whole book as of today (cron runs this just after midnight, Beijing time)")
    refresh.add_argument("--force", action="store_true", help="even when today's classes are already there")
    refresh.set_defaults(func=cmd_classes_refresh)
    reminders = commands.add_parser("reminders", help="outbound reminders").add_subparsers(
        dest="reminders_command", required=True)
    reminders_run = reminders.add_parser(
        "run", help="follow up promises, then send today's reminders (cron calls this; safe to re-run)")
    reminders_run.add_argument("--dry-run", action="store_true", help="show who would be reminded; send nothing")
    reminders_run.set_defaults(func=cmd_reminders_run)
    report = commands.add_parser("report", help="outcome analytics for a period: CSV and a printable page")
    report.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (Beijing)")
    report.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (included)")
    report.add_argument("--out", help="directory for the files (default: var/reports)")
    report.set_defaults(func=cmd_report)
    add_privacy_commands(commands)
    add_documents_commands(commands)
    events = commands.add_parser("events", help="facts for the lender, sent to its webhook").add_subparsers(
        dest="events_command", required=True)
    deliver = events.add_parser("deliver", help="send the outbox's events to KUANXIN_LENDER_WEBHOOK_URLS, signed, "
                                "retried until delivered (`kuanxin serve` runs this; safe to run twice)")
    deliver.add_argument("--once", action="store_true",
                         help="send what is due now, then stop (exit 1 when some wait for a retry)")
    deliver.set_defaults(func=cmd_events_deliver)
    cluster = commands.add_parser("cluster", help="several Rasa instances behind nginx (PostgreSQL and Redis)")
    cluster.add_argument("--instances", type=int, default=2)
    cluster.add_argument("--port", type=int, default=8080)
    cluster.add_argument("--demo-pages", action="store_true",
                         help="serve the demo lender pages (never in production: /signed-in signs anyone in)")
    cluster.set_defaults(func=cmd_cluster)
    return parser


def add_privacy_commands(commands) -> None:
    privacy = commands.add_parser("privacy", help="personal data: retention, a borrower's copy, deletion "
                                  "(each audited)").add_subparsers(dest="privacy_command", required=True)
    retention = privacy.add_parser("retention", help="anonymise transcripts older than policy.yml "
                                   "privacy.transcript_days, except those of open disputes and complaints")
    retention.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
    retention.set_defaults(func=cmd_privacy_retention)
    mask = privacy.add_parser("mask-stored", help="mask full phone and ID numbers in conversations stored "
                              "before kuanxin masked them (once, after upgrading)")
    mask.add_argument("--dry-run", action="store_true", help="count what would change; change nothing")
    mask.set_defaults(func=cmd_privacy_mask_stored)
    export = privacy.add_parser("export", help="write everything held about a borrower as JSON and a page")
    export.add_argument("borrower", help="the borrower's id")
    export.add_argument("--out", required=True, help="directory for the two files")
    export.set_defaults(func=cmd_privacy_export)
    delete = privacy.add_parser("delete", help="anonymise a borrower's transcripts, bindings, notes and free text "
                                "(refused while a dispute or complaint is open)")
    delete.add_argument("borrower", help="the borrower's id")
    delete.set_defaults(func=cmd_privacy_delete)
    for command in (retention, mask, export, delete):
        command.add_argument("--tracker-store", help="the conversation store's SQLAlchemy URL "
                             "(default: KUANXIN_TRACKER_STORE_URL)")
        command.add_argument("--by", default=f"cli:{getpass.getuser()}", help="who runs it, for the audit entry")


def cmd_documents_purge(args) -> int:
    from kuanxin.core import policy
    from kuanxin.evidence import storage
    from kuanxin.evidence.documents import purge
    rules = policy.current().documents
    done = purge(database(), storage.configured(), rules, clock.now(), args.by, dry_run=args.dry_run)
    print(("would delete" if args.dry_run else "deleted") + f" the files of {done.count} documents received before "
          f"{done.cutoff:%Y-%m-%d %H:%M} UTC ({rules.retention_days} days; their records stay)"
          + (" [dry run: nothing changed]" if args.dry_run else ""))
    return 0


def add_documents_commands(commands) -> None:
    documents = commands.add_parser("documents", help="documents borrowers attached").add_subparsers(
        dest="documents_command", required=True)
    purge = documents.add_parser("purge", help="delete the stored files of documents older than policy.yml "
                                 "documents.retention_days (audited; the records stay)")
    purge.add_argument("--dry-run", action="store_true", help="count what would be deleted; change nothing")
    purge.add_argument("--by", default=f"cli:{getpass.getuser()}", help="who runs it, for the audit entry")
    purge.set_defaults(func=cmd_documents_purge)


def main(argv: list[str] | None = None) -> int:
    from kuanxin.lending.privacy import install_log_masking
    install_log_masking()  # reminders, imports and the privacy commands log no full phone or ID number
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
