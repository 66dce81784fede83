"""WeChat benchmark: how fast pushes are acknowledged, and how long until the answer reaches the borrower.

Starts every server (testkit.servers, as in the end-to-end tests, WeChat on against the local double), then
pushes encrypted text messages from distinct OpenIDs: first one at a time, then CONCURRENCY at once.
Reports the acknowledgement time (WeChat's 5-second limit applies to it) and the time until the
customer-service answer arrived at the double. Usage: python -m bench.wechat [--messages 100]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.load import percentile
from kuanxin.store.db import Database
from kuanxin.store.demo import demo_document
from kuanxin.store.importer import load_document
from testkit.servers import start_servers
from testkit.wechat import Account, Api, Platform, new_openid, text_xml


def one_message(pusher: Platform, api: Api, n: int) -> tuple[float, float]:
    openid = new_openid()
    started = time.perf_counter()
    delivery = pusher.push(text_xml(openid, "逾期了会有什么后果", 10_000_000 + n), tries=1)[0]
    if delivery.body != "success":
        raise RuntimeError(f"push refused: {delivery}")
    api.wait_for_texts(openid, 1, timeout=60)
    return delivery.seconds, time.perf_counter() - started


def run(pusher: Platform, api: Api, count: int, concurrency: int, offset: int) -> tuple[list[float], list[float]]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda n: one_message(pusher, api, n), range(offset, offset + count)))
    return [a for a, _ in results], [b for _, b in results]


def line(name: str, acks: list[float], answers: list[float]) -> str:
    ack, answer = ({q: percentile(values, q) * 1000 for q in (50, 95)} for values in (acks, answers))
    return (f"{name:<22} ack p50 {ack[50]:6.1f} ms  p95 {ack[95]:6.1f} ms   "
            f"answer p50 {answer[50]:7.1f} ms  p95 {answer[95]:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kuanxin-bench-wechat-"))
    url = f"sqlite:///{workdir / 'accounts.db'}"
    database = Database(url)
    database.create_schema()
    load_document(database, demo_document())
    account = Account()
    api = Api(account)
    servers = start_servers(workdir, url, account.env(api.url))
    pusher = Platform(account, f"{servers.rasa_url}/webhooks/wechat/webhook")
    try:
        run(pusher, api, 4, 2, 0)  # warm-up
        alone = run(pusher, api, args.messages, 1, 1000)
        many = run(pusher, api, args.messages, args.concurrency, 2000)
    finally:
        servers.stop()
        api.close()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.messages} messages per run, each from a new OpenID")
    print(line("one at a time", *alone))
    print(line(f"{args.concurrency} at once", *many))


if __name__ == "__main__":
    main()
