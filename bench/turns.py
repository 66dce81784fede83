"""Where one borrower's turn spends its time: per-stage breakdown of real turns over HTTP.

Starts Rasa, with the actions in its process or an action server beside it (--actions; as bench.load does:
free ports, a fresh SQLite database with the demo and synthetic borrowers) with KUANXIN_STAGE_TIMINGS set,
so Rasa and the actions record each turn's stages (runtime.timings, actions.timings); then one borrower at
a time holds bench.load's 8-message conversation CONVERSATIONS times over the REST channel. Prints the p50 of
each message, then the breakdown of the turns that ran an action which read the account database (channel/HTTP, the
conversation lock, tracker store read and write, each NLU component, the policies, the action call
and, inside it, the action's own time and its database time), p50 of each stage
over those turns, and the p50 of those turns as the client saw them.

With --against DIR (another tree of kuanxin, e.g. `git archive <commit> | tar -x -C DIR`), a second pair
of servers runs that tree's code beside this one, each with its own database, and the conversations
alternate between the two (this tree, then that one, and so on), so a machine whose speed drifts
slows both alike; both breakdowns are printed one after the other. `--against .` compares this tree with itself,
e.g. with `--against-actions server`.

`--client-only` leaves the stage timings off and prints what the client saw, so a tree from before them can be the
other one (`--against-model` gives its own model, trained on its own data).

Usage: python -m bench.turns [--conversations 30] [--borrowers 2000] [--model FILE] [--actions in-process|server]
                             [--against DIR] [--against-actions in-process|server] [--against-model FILE]
                             [--client-only]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp

from bench.load import TODAY, conversation, synthetic_accounts
from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.serve import Servers, free_port, latest_model
from kuanxin.store.db import Database
from kuanxin.store.importer import load_document

Turn = dict[str, Any]
MODES = ("in-process", "server")  # KUANXIN_ACTIONS: in Rasa's process (runtime.actions_in_process), or over HTTP


async def hold_conversations(url: str, borrowers: list[int]) -> list[Turn]:
    """Each borrower's conversation, one message at a time; what the client measured for each turn."""
    turns: list[Turn] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for n in borrowers:
            sender = f"bench-{uuid.uuid4().hex[:10]}"
            for index, text in enumerate(conversation(n)):
                started = time.perf_counter()
                async with session.post(url, json={"sender": sender, "message": text}) as response:
                    replies = await response.json()
                if response.status != 200 or not replies:
                    raise RuntimeError(f"no answer to message {index}: {response.status}")
                turns.append({"sender": sender, "index": index, "client": time.perf_counter() - started})
    return turns


def read_lines(folder: Path, prefix: str) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(folder.glob(f"{prefix}-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def joined(turns: list[Turn], rasa: list[dict[str, Any]], calls: list[dict[str, Any]]) -> list[Turn]:
    """The client's turns with Rasa's stages and the action server's calls of each, matched in order
    per sender (one message at a time, so the n-th record of a sender is its n-th turn)."""
    rasa_by_sender: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in rasa:
        rasa_by_sender[record["sender"]].append(record)
    calls_by_sender: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        calls_by_sender[call["sender"]].append(call)
    for turn in turns:
        record = rasa_by_sender[turn["sender"]].pop(0)
        actions = record.get("actions", [])
        own = [calls_by_sender[turn["sender"]].pop(0) for _ in actions]
        if [call["action"] for call in own] != actions:
            raise RuntimeError(f"action calls out of step: {actions} vs {[call['action'] for call in own]}")
        turn.update(stages=record["stages"], actions=actions, calls=own)
    return turns


def breakdown(turn: Turn) -> dict[str, float]:
    """The turn's time in disjoint stages that add up to what the client measured, in seconds."""
    s: dict[str, float] = defaultdict(float, turn["stages"])
    calls: dict[str, float] = defaultdict(float)
    for call in turn["calls"]:
        for name, seconds in call["stages"].items():
            calls[name] += seconds
    nlu_nodes = {k: v for k, v in s.items() if k.startswith("nlu: ")}
    policy_nodes = {k: v for k, v in s.items() if k.startswith("policy: ")}
    remote = s["remote action"]
    parts = {
        "channel/HTTP (client, Sanic, REST channel)": turn["client"] - s["turn"],
        "conversation lock": s["lock"],
        "agent, outside the processor": s["turn"] - s["processor"] - s["lock"],
        "tracker store: read": s["tracker store: read"],
        **nlu_nodes,
        "nlu: graph runner and parse data": s["nlu"] - sum(nlu_nodes.values()),
        "policy: graph nodes, all predictions": sum(policy_nodes.values()),
        "policy: graph runner": s["policy"] - sum(policy_nodes.values()),
        "action: request body (tracker state, domain)": s["remote action: request body"],
        "action: the call (HTTP or thread), JSON, executor":
            s["remote action: HTTP round trip"] - calls["executor"],
        "action: tracker parse (rasa-sdk)": calls["tracker parse"],
        "action: own code, outside the database": calls["executor"] - calls["tracker parse"] - calls["db transactions"],
        "action: database transactions (besides SQL)": calls["db transactions"] - calls["db statements"],
        "action: SQL statements": calls["db statements"],
        "action: response check and utterances (Rasa)":
            remote - s["remote action: request body"] - s["remote action: HTTP round trip"],
        "tracker store: write": s["tracker store: write"],
    }
    parts["processor: the rest (events, rules, slots)"] = (
        s["processor"] - s["tracker store: read"] - s["tracker store: write"] - s["nlu"] - s["policy"] - remote)
    return parts


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f}"


# the messages of bench.load's conversation whose actions read the account database (as the stage timings show:
# the identity check's three, the statement, the request status, the repayment methods, the satisfaction offer)
READING_MESSAGES = range(2, 8)


def client_report(turns: list[Turn]) -> str:
    """What the client saw, without stage timings (a tree from before them can be compared)."""
    texts = conversation(0)
    lines = ["p50 of each message (ms, as the client saw it):"]
    for index, text in enumerate(texts):
        label = "phone" if index == 3 else "ID tail" if index == 4 else text
        seen = [t["client"] for t in turns if t["index"] == index]
        lines.append(f"  {index} {label:<14} {ms(statistics.median(seen))}")
    reading = [t["client"] for t in turns if t["index"] in READING_MESSAGES]
    lines.append(f"\nmessages {READING_MESSAGES.start}-{READING_MESSAGES.stop - 1} (their actions read the account "
                 f"database): {len(reading)}, p50 {ms(statistics.median(reading)).strip()} ms "
                 f"(all turns: p50 {ms(statistics.median(t['client'] for t in turns)).strip()} ms)")
    return "\n".join(lines)


def report(turns: list[Turn]) -> str:
    lines = ["p50 of each message (ms, as the client saw it):"]
    texts = conversation(0)
    for index, text in enumerate(texts):
        mine = [t for t in turns if t["index"] == index]
        actions = sorted({a for t in mine for a in t["actions"]})
        label = "phone" if index == 3 else "ID tail" if index == 4 else text
        lines.append(f"  {index} {label:<14} {ms(statistics.median(t['client'] for t in mine))}  "
                     f"{', '.join(actions) or '(no custom action)'}")
    reading = [t for t in turns if any(call.get("statements") for call in t["calls"])]
    parts = [breakdown(t) for t in reading]
    names = list(dict.fromkeys(name for p in parts for name in p))
    total, everything = (statistics.median(t["client"] for t in group) for group in (reading, turns))
    lines.append(f"\nturns with an action that reads the account database: {len(reading)}, "
                 f"p50 {ms(total).strip()} ms (all turns: p50 {ms(everything).strip()} ms)")
    lines.append(f"  {'stage':<56} {'p50 ms':>7} {'mean ms':>8}")
    for name in names:
        values = [p.get(name, 0.0) for p in parts]
        lines.append(f"  {name:<56} {ms(statistics.median(values))} {ms(statistics.fmean(values))} ")
    means = sum(statistics.fmean(p.get(n, 0.0) for p in parts) for n in names)
    lines.append(f"  {'sum of the means (= mean turn)':<56} {'':>7} {ms(means)}")
    return "\n".join(lines)


class TreeServers(Servers):
    """Servers running the code of another tree (its directory first on the path: `env -C DIR`)."""

    def __init__(self, tree: Path, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tree = tree

    def commands(self) -> list[list[str]]:
        return [["env", "-C", str(self.tree), *command] for command in super().commands()]


def started(name: str, workdir: Path, borrowers: int, model: Path, tree: Path | None,
            actions: str, stages: bool = True) -> tuple[Servers, Path]:
    """A pair of servers with their own account database and timings folder (unless not `stages`), started."""
    url = f"sqlite:///{workdir / f'{name}.db'}"
    db = Database(url)
    db.create_schema()
    load_document(db, synthetic_accounts(borrowers))
    timings = workdir / f"timings-{name}"
    env = dict(os.environ, KUANXIN_DATABASE_URL=url, KUANXIN_TODAY=TODAY, TF_CPP_MIN_LOG_LEVEL="3",
               KUANXIN_STAGE_TIMINGS=str(timings) if stages else "", KUANXIN_ACTIONS=actions)
    ports = (free_port(), free_port(), uuid.uuid4().hex, model, env)
    servers = TreeServers(tree, *ports) if tree else Servers(*ports)
    servers.start(servers.logs_in(workdir, prefix=f"{name}-"))
    return servers, timings


def alternate(endpoints: list[str], borrowers: list[int]) -> list[list[Turn]]:
    """Each conversation held with every pair in turn; each pair's turns (its first two conversations
    warm it up: models, connections and the database load lazily)."""
    turns: list[list[Turn]] = [[] for _ in endpoints]
    for n in borrowers:
        for mine, endpoint in zip(turns, endpoints, strict=True):
            mine.extend(asyncio.run(hold_conversations(endpoint, [n])))
    return turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=30, help="conversations, one after another")
    parser.add_argument("--borrowers", type=int, default=2000, help="synthetic borrowers in the database")
    parser.add_argument("--model", type=Path, default=None, help="the model (default: the newest in models/)")
    parser.add_argument("--against", type=Path, default=None, help="another tree, run beside this one")
    parser.add_argument("--actions", choices=MODES, default="in-process", help="where this tree runs the actions")
    parser.add_argument("--against-actions", choices=MODES, default="in-process",
                        help="where the other tree runs them (a tree older than KUANXIN_ACTIONS: server)")
    parser.add_argument("--against-model", type=Path, default=None, help="the other tree's model (default: --model)")
    parser.add_argument("--client-only", action="store_true",
                        help="no stage timings: only what the client saw (for a tree older than them)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kuanxin-turns-"))
    model = (args.model or latest_model(PROJECT_ROOT / "models")).resolve()
    trees = [(f"this tree, actions: {args.actions}", None, args.actions, model)]
    if args.against:
        trees.append((f"{args.against}, actions: {args.against_actions}", args.against.resolve(), args.against_actions,
                      (args.against_model or model).resolve()))
    pairs = []
    try:
        for n, (_, tree, actions, tree_model) in enumerate(trees):
            pairs.append(started(f"tree{n}", workdir, args.borrowers, tree_model, tree, actions, not args.client_only))
        picks = random.Random(7).sample(range(args.borrowers), k=args.conversations + 2)
        held = alternate([f"{servers.rasa_url}/webhooks/rest/webhook" for servers, _ in pairs], picks)
    finally:
        for servers, _ in pairs:
            servers.stop()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"SQLite, {args.borrowers + 6} borrowers; {args.conversations} conversations of "
          f"{len(conversation(0))} messages, one borrower at a time, stage timings "
          f"{'off' if args.client_only else 'on'}")
    for (name, *_), (_, timings), turns in zip(trees, pairs, held, strict=True):
        warm = 2 * len(conversation(0))
        if args.client_only:
            print(f"\n== {name}\n{client_report(turns[warm:])}")
            continue
        turns = joined(turns, read_lines(timings, "rasa"), read_lines(timings, "actions"))[warm:]
        print(f"\n== {name}\n{report(turns)}")


if __name__ == "__main__":
    main()
