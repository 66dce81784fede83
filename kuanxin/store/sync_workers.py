"""`kuanxin sync` on several cores: records handed to worker processes by borrower.

One process applying a whole book spends most of its time in Python while the database waits, and the other way
round; on two cores a second worker nearly halves the time. Each record goes to a worker by its borrower (a loan
by its borrower_id, a schedule row or a payment by its loan's borrower, as this file or the database says), so a
borrower's rows, balances and class are written by one process in the file's order, and no two workers write the
same row. A record whose effect would cross workers (a phone number already given in this file to a borrower of
another worker, a loan moving to a borrower of another worker) waits at a barrier: every worker first commits what
it was given, then the record goes on, so it is checked against what a serial sync would have written before it.
"""
from __future__ import annotations

import multiprocessing
import queue
import traceback
import zlib
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import select

from kuanxin.core.policy import PaymentPolicy, SegmentPolicy
from kuanxin.store.db import Database
from kuanxin.store.models import Loan
from kuanxin.store.sync import BATCH, MAX_REASONS, Summary, Sync

FILE_BYTES_PER_WORKER = 4 * 1024 * 1024  # a smaller file syncs in seconds in one process: no workers to start
WINDOW = 5000  # records read ahead, whose loans' borrowers are looked up in one query
QUEUE_DEPTH = 4  # batches waiting per worker: the reader stays just ahead of the workers, memory stays flat
LOOKUP_CHUNK = 1000  # ids per IN (...) list


def workers_for(file_bytes: int, db: Database, cores: int) -> int:
    """Two or more workers for a large file on PostgreSQL; one process otherwise (SQLite has a single writer)."""
    if db.engine.dialect.name != "postgresql" or file_bytes < FILE_BYTES_PER_WORKER:
        return 1
    return max(1, min(cores, 4))


def worker_of_id(key: str, workers: int) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % workers


class Router:
    """Which worker each record goes to, and whether every worker must commit first (a barrier)."""

    def __init__(self, db: Database, workers: int):
        self.db, self.workers = db, workers
        self.loan_worker: dict[str, int] = {}  # loans this file or the database placed
        self.phone_holder: dict[str, tuple[str, int]] = {}  # phone -> (borrower id, worker), as this file gave them

    def look_up(self, records: list[tuple[str, Any]]) -> None:
        """Places the loans a window of records names that neither this file nor an earlier lookup placed."""
        unplaced = {str(record[name]) for _where, record in records if isinstance(record, dict)
                    for name in ("id", "loan_id") if isinstance(record.get(name), (str, int))
                    and (name == "loan_id" or record.get("type") == "loan")} - self.loan_worker.keys()
        ids = sorted(unplaced)
        with self.db.engine.connect() as connection:
            for start in range(0, len(ids), LOOKUP_CHUNK):
                for loan_id, borrower_id in connection.execute(select(Loan.id, Loan.borrower_id).where(
                        Loan.id.in_(ids[start:start + LOOKUP_CHUNK]))):
                    self.loan_worker[loan_id] = worker_of_id(borrower_id, self.workers)

    def route(self, record: Any) -> tuple[int, bool]:
        """(the record's worker, whether every worker must commit before it)."""
        kind = record.get("type") if isinstance(record, dict) else None
        if kind == "borrower":
            return self._borrower(record)
        if kind == "loan" and isinstance(record.get("borrower_id"), (str, int)):
            worker = worker_of_id(str(record["borrower_id"]), self.workers)
            if not isinstance(record.get("id"), (str, int)):
                return worker, False
            earlier = self.loan_worker.get(str(record["id"]))
            self.loan_worker[str(record["id"])] = worker
            return worker, earlier not in (None, worker)
        if kind in ("schedule", "payment") and isinstance(record.get("loan_id"), (str, int)):
            loan_id = str(record["loan_id"])
            return self.loan_worker.get(loan_id, worker_of_id(loan_id, self.workers)), False
        return 0, False  # a record the worker will reject whatever it holds

    def _borrower(self, record: dict[str, Any]) -> tuple[int, bool]:
        borrower_id = str(record.get("id"))
        worker = worker_of_id(borrower_id, self.workers)
        phone = record.get("phone")
        if not isinstance(phone, str):
            return worker, False
        holder = self.phone_holder.get(phone.strip())
        self.phone_holder[phone.strip()] = (borrower_id, worker)
        return worker, holder is not None and holder[0] != borrower_id and holder[1] != worker


class Workers:
    """The worker processes, their inboxes and the one outbox they all answer on."""

    def __init__(self, url: str, count: int, policy: PaymentPolicy, segments: SegmentPolicy, source: str,
                 progress: Callable[[int], None] | None):
        context = multiprocessing.get_context("fork")  # the parent's policy and code, without importing again
        self.outbox = context.Queue()
        self.inboxes = [context.Queue(QUEUE_DEPTH) for _ in range(count)]
        self.processes = [context.Process(target=work, args=(index, url, policy, segments, source, inbox,
                                                             self.outbox), daemon=True)
                          for index, inbox in enumerate(self.inboxes)]
        self.progress, self.done = progress, 0
        self.results: dict[int, tuple[Summary, set[str]]] = {}
        self.waiting_at_barrier: set[int] = set()
        for process in self.processes:
            process.start()

    def send(self, worker: int, message: tuple[str, Any]) -> None:
        while True:
            try:
                self.inboxes[worker].put(message, timeout=0.5)
                return
            except queue.Full:
                self.read_outbox(block=False)

    def barrier(self) -> None:
        """Returns once every worker has committed everything sent to it so far."""
        self.waiting_at_barrier = set(range(len(self.inboxes)))
        for worker in range(len(self.inboxes)):
            self.send(worker, ("barrier", None))
        while self.waiting_at_barrier:
            self.read_outbox(block=True)

    def finish(self) -> list[tuple[Summary, set[str]]]:
        for worker in range(len(self.inboxes)):
            self.send(worker, ("end", None))
        while len(self.results) < len(self.inboxes):
            self.read_outbox(block=True)
        for process in self.processes:
            process.join()
        return [self.results[worker] for worker in sorted(self.results)]

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()

    def read_outbox(self, block: bool) -> None:
        while True:
            try:
                kind, worker, payload = self.outbox.get(timeout=0.5) if block else self.outbox.get_nowait()
            except queue.Empty:
                self._check_alive()
                if block:
                    continue
                return
            if kind == "failed":
                raise RuntimeError(f"sync worker {worker} failed:\n{payload}")
            if kind == "progress":
                self.done += payload
                if self.progress:
                    self.progress(self.done)
            elif kind == "barrier":
                self.waiting_at_barrier.discard(worker)
            elif kind == "done":
                self.results[worker] = payload
            if block:
                return

    def _check_alive(self) -> None:
        for worker, process in enumerate(self.processes):
            if worker not in self.results and not process.is_alive() and process.exitcode not in (None, 0):
                raise RuntimeError(f"sync worker {worker} ended with exit code {process.exitcode}")


def work(index: int, url: str, policy: PaymentPolicy, segments: SegmentPolicy, source: str,
         inbox: Any, outbox: Any) -> None:
    """A worker: applies each batch it is given in its own transaction, in order; tells the parent how far it got."""
    try:
        syncing, summary = Sync(Database(url), policy, source, segments), Summary()
        while True:
            kind, batch = inbox.get()
            if kind == "batch":
                outbox.put(("progress", index, syncing.apply_batch(batch, summary)))
            elif kind == "barrier":
                outbox.put(("barrier", index, None))
            else:
                outbox.put(("done", index, (summary, syncing.changed_loans)))
                return
    except BaseException:  # the parent stops the sync and shows why
        outbox.put(("failed", index, traceback.format_exc()))


def run(db: Database, policy: PaymentPolicy, segments: SegmentPolicy, records: Iterable[tuple[str, Any]],
        count: int, progress: Callable[[int], None] | None = None,
        source: str = "file") -> tuple[Summary, set[str]]:
    """The records applied by `count` workers: the merged summary and every loan whose ledger or schedule changed."""
    router, workers = Router(db, count), Workers(db.url, count, policy, segments, source, progress)
    pending: list[list[tuple[str, Any]]] = [[] for _ in range(count)]
    try:
        for window in windows(records):
            router.look_up(window)
            for item in window:
                worker, barrier = router.route(item[1])
                if barrier:
                    send_pending(workers, pending)
                    workers.barrier()
                pending[worker].append(item)
                if len(pending[worker]) >= BATCH:
                    send_pending(workers, pending, worker)
        send_pending(workers, pending)
        results = workers.finish()
    finally:
        workers.stop()
    return merged(summary for summary, _ in results), set().union(*(changed for _, changed in results))


def send_pending(workers: Workers, pending: list[list[tuple[str, Any]]], only: int | None = None) -> None:
    """Each worker's held records (or only this worker's) as one batch; none are held afterwards."""
    for worker, batch in enumerate(pending):
        if batch and only in (None, worker):
            workers.send(worker, ("batch", batch))
            pending[worker] = []


def windows(records: Iterable[tuple[str, Any]]) -> Iterator[list[tuple[str, Any]]]:
    iterator = iter(records)
    while window := list(islice(iterator, WINDOW)):
        yield window


def merged(summaries: Iterable[Summary]) -> Summary:
    """One summary: counts added, and the first MAX_REASONS rejections in the file's order (each worker kept its
    own first MAX_REASONS, so together they hold the file's first)."""
    total = Summary()
    for summary in summaries:
        for kind, counts in summary.counts.items():
            for outcome, count in counts.items():
                total.counts[kind][outcome] += count
        total.reasons.extend(summary.reasons)
    total.reasons = sorted(total.reasons, key=lambda reason: line_number(reason[0]))[:MAX_REASONS]
    return total


def line_number(where: str) -> int:
    tail = where.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0
