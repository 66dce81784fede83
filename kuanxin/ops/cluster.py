"""Several Rasa instances and action servers behind nginx on this machine: production's shape, on loopback.

Each instance is a Rasa + action server pair (kuanxin.ops.serve.Servers) sharing the PostgreSQL tracker
store, the Redis lock store and the account database. nginx sends every request of one conversation
to the same instance by hashing its key: `sender` (REST), `openid` (WeChat pushes), `route` (the
widget's socket.io connection, set to its session id) or the id in /conversations/<id>/... (the
console).

Two nginx servers: the public port carries only what borrowers and staff use (the channels'
/webhooks/, /socket.io/ and the web app); Rasa's HTTP API (/model, /conversations, /status, ...)
and the health routes answer 404 there. The internal port (loopback only; KUANXIN_RASA_URL of the
web app) passes everything to the instances with the same hash: the console's calls reach the
instance holding the conversation's socket.

One supervision round (`supervise_once`, every 0.5 s, the same loop for `kuanxin cluster` and the
tests' supervising thread) starts dead processes again (kuanxin.ops.serve.Supervisor) and probes every
instance's `GET /ready` (without waiting for it): an instance that is dead or refuses connections,
answers 503 twice in a row, or nothing for 15 s is marked `down` in the upstream (its conversations
go to the next instance in the hash ring; the others keep theirs) and nginx reloads (SIGHUP); when
it is ready again it gets them back. State lives in PostgreSQL and Redis, so a conversation goes on
where it was on whichever instance takes it.
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from kuanxin.core.settings import PROJECT_ROOT, rasa_store_env, rasa_token, var_dir, webchat_secret
from kuanxin.ops.preflight import prepare_stores
from kuanxin.ops.serve import (
    Child,
    Servers,
    Supervisor,
    answers,
    deliverer_command,
    free_port,
    http_status,
    latest_model,
    log,
    run_in_foreground,
    supervise,
    web_command,
)
from kuanxin.outbound.target import sends_events

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian puts it in sbin, outside a user's PATH
READY_PATH = "/ready"  # runtime.health; a runtime without it is probed with "/" and its action server's /health
PROBE_TIMEOUT = 3.0
READY, DEAD, FAILING, BUSY = "ready", "dead", "failing", "busy"
# A dead instance (not running, or refusing connections) is taken out at once; one that says it is not
# ready (503) after 2 probes in a row; one that does not answer in time (busy, or hung) after 5 (15 s):
# moving a busy instance's conversations onto the others would only make them busy too.
PROBES_BEFORE_DOWN = {DEAD: 1, FAILING: 2, BUSY: 5}
REASONS = {DEAD: "dead or refusing connections", FAILING: "/ready answers 503",
           BUSY: f"no answer to /ready within {PROBE_TIMEOUT:g} s, 5 times in a row"}

NGINX_CONF = """\
# Written by kuanxin.ops.cluster; rewritten (and nginx reloaded) when an instance's readiness changes.
worker_processes 1;
worker_shutdown_timeout 10s;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
{user}
events {{ worker_connections 4096; }}
http {{
    log_format route '$msec $server_port $status $request_time $request_method $uri '
                     '"$upstream_addr" "$upstream_status"';
    access_log {dir}/nginx-access.log route;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
{rules}
    server {{
        listen 127.0.0.1:{port};
{public_locations}
    }}
    server {{
        listen 127.0.0.1:{internal_port};
{internal_locations}
    }}
}}
"""

# The same rules as deploy/nginx.conf and deploy/k8s/config.yaml (keep them alike).
RULES = """\
    # a 2,000-character message in any encoding with its envelope; the channels refuse more with a 400
    client_max_body_size 64k;
    proxy_http_version 1.1;
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_connect_timeout 2s;
    proxy_read_timeout 120s;
    # a connection refused before the request was sent goes to the next instance (POST too)
    proxy_next_upstream error timeout;

    map $uri $conversation_key {{
        ~^/conversations/(?<id>[^/]+)/ $id;
        default "";
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" "";
    }}
    upstream rasa {{
        hash $arg_sender$arg_openid$arg_route$conversation_key consistent;
{rasa_servers}
        keepalive 64;
        keepalive_timeout 4s;  # below Sanic's 5 s: never reuse a connection Rasa is closing
    }}
    upstream web {{
        # no keep-alive: uvicorn closes the connection after a 500, and a POST nginx sent on it got a 502
        server {web_address};
    }}
"""

# Public: the channels and the web app only. Rasa's HTTP API needs the token but is not for the
# internet at all; the health routes are for the supervisor and the orchestrator.
PUBLIC_LOCATIONS = """\
        location /webhooks/ {
            proxy_pass http://rasa;
        }
        location /socket.io/ {
            proxy_pass http://rasa;
        }
        location ~ ^/(model|conversations|status|version|domain|ready|live)(/|$) {
            return 404;
        }
        location / {
            proxy_pass http://web;
            proxy_next_upstream error timeout http_502 http_504;  # GET and HEAD only (nginx's rule)
        }"""

# Internal (never published): Rasa's HTTP API and channels, for the console and operators.
INTERNAL_LOCATIONS = """\
        client_max_body_size 1m;
        location / {
            proxy_pass http://rasa;
        }"""


def nginx_conf(workdir: Path, port: int, internal_port: int, web_address: str, rasa_addresses: list[str],
               down: list[bool] | None = None) -> str:
    """The cluster's nginx.conf; `down[i]` marks instance i down (kept in the hash ring, given no traffic)."""
    down = down or [False] * len(rasa_addresses)
    servers = "\n".join(f"        server {address} max_fails=1 fail_timeout=5s{' down' if off else ''};"
                        for address, off in zip(rasa_addresses, down, strict=True))
    return NGINX_CONF.format(dir=workdir, port=port, internal_port=internal_port,
                             user="user root;" if os.geteuid() == 0 else "",
                             rules=RULES.format(rasa_servers=servers, web_address=web_address),
                             public_locations=PUBLIC_LOCATIONS, internal_locations=INTERNAL_LOCATIONS)


def probe(instance: Servers) -> str:
    """READY, DEAD (not running, or refusing connections), FAILING (not 200) or BUSY (nothing in time)."""
    if not instance.supervisor.children or not instance.rasa.running:
        return DEAD
    try:
        status = http_status(f"{instance.rasa_url}{READY_PATH}", PROBE_TIMEOUT)
        if status == 404:  # a runtime without /ready: Rasa answers at all, and so does its action server
            status = http_status(f"{instance.rasa_url}/", PROBE_TIMEOUT) \
                if answers(f"{instance.actions_url}/health", PROBE_TIMEOUT) else 503
    except TimeoutError:
        return BUSY
    except OSError:
        return DEAD
    return READY if status == 200 else FAILING


class Routing:
    """Which instances nginx sends conversations to, decided from their probes."""

    def __init__(self, count: int):
        self.up = [True] * count
        self.bad = [(READY, 0)] * count  # the last state other than READY, and how many times in a row
        self.changes: list[tuple[float, int, bool]] = []  # (time.monotonic(), instance, up): for tests

    def update(self, states: list[str | None]) -> list[int]:
        """Takes one round of probe results (None: no news of that instance); returns the instances whose
        routing changed."""
        wanted = [self._wanted(i, state) for i, state in enumerate(states)]
        if not any(wanted):
            wanted = [True] * len(wanted)  # none is ready: nothing better than letting nginx try them all
        changed = [i for i, (was, now) in enumerate(zip(self.up, wanted, strict=True)) if was != now]
        self.up = wanted
        self.changes += [(time.monotonic(), i, wanted[i]) for i in changed]
        return changed

    def _wanted(self, index: int, state: str | None) -> bool:
        if state is None:
            return self.up[index]
        if state == READY:
            self.bad[index] = (READY, 0)
            return True
        last, times = self.bad[index]
        self.bad[index] = (state, times + 1 if state == last else 1)
        return self.up[index] and self.bad[index][1] < PROBES_BEFORE_DOWN[state]

    def reason(self, index: int) -> str:
        return REASONS.get(self.bad[index][0], "ready")


class Cluster:
    def __init__(self, instances: int, port: int, env: dict[str, str], workdir: Path, token: str,
                 model: Path | None = None, demo_pages: bool = False):
        if not rasa_store_env(env):
            raise ValueError("a cluster needs shared stores: set KUANXIN_TRACKER_STORE_URL and KUANXIN_REDIS_URL")
        self.port, self.workdir, self.token = port, workdir, token
        self.internal_port = free_port()
        self.model = model or latest_model(PROJECT_ROOT / "models")
        self.web_port = free_port()
        base = dict(env, KUANXIN_PUBLIC_CHAT_URL=self.url)
        # the demo pages sign borrowers in for anyone: on only when asked for
        base["KUANXIN_DEMO_PAGES"] = "1" if demo_pages else env.get("KUANXIN_DEMO_PAGES", "0")
        self.demo_pages = base["KUANXIN_DEMO_PAGES"].strip().lower() not in ("0", "false", "no", "off")
        self.instances = [Servers(free_port(), free_port(), token, self.model, base, label=f"-{i}")
                          for i in range(instances)]
        # the console reaches Rasa's HTTP API through the internal port, hashed on the conversation id
        self.web_env = dict(self.instances[0].env, KUANXIN_RASA_URL=self.rasa_url)
        self.supervisor = Supervisor()  # the web app and nginx; each instance's Servers has its own
        self.routing = Routing(instances)
        self._probes = ThreadPoolExecutor(max_workers=instances, thread_name_prefix="kuanxin-probe")
        # each instance's probe in flight, with the pid of the Rasa process it probes
        self._probing: list[tuple[int | None, Future] | None] = [None] * instances
        self._stop_supervising = threading.Event()
        self._supervising: threading.Thread | None = None
        self._logs: list = []

    @property
    def url(self) -> str:
        """The public port: channels, socket.io and the web app."""
        return f"http://127.0.0.1:{self.port}"

    web_url = url

    @property
    def rasa_url(self) -> str:
        """The internal port: Rasa's HTTP API and channels for callers inside (the console, tests)."""
        return f"http://127.0.0.1:{self.internal_port}"

    @property
    def env(self) -> dict[str, str]:
        return self.web_env

    def start(self, timeout: float = 300) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "tmp").mkdir(exist_ok=True)
        try:
            for instance in self.instances:
                instance.launch([self._log(name) for name in instance.names()])
            for name, command in self.shared_commands():
                self.supervisor.start(Child(name, command, self.web_env, self._log(name)))
            for instance in self.instances:
                instance.wait_ready(timeout)
            self._wait_until(lambda: all(probe(i) == READY for i in self.instances), timeout, "Rasa ready")
            self._wait_until(lambda: answers(f"http://127.0.0.1:{self.web_port}/health"), timeout, "the web app")
            self._write_nginx_conf()
            self.supervisor.start(Child("nginx", [NGINX, "-p", str(self.workdir), "-c", str(self.nginx_conf_path),
                                                  "-g", "daemon off;"], os.environ, self._log("nginx")))
            self._wait_until(lambda: answers(f"{self.url}/health"), timeout, "nginx")
        except Exception:
            self.stop()
            raise

    def shared_commands(self) -> list[tuple[str, list[str]]]:
        """The processes the instances share: the web app and, with a lender webhook, one deliverer of its
        events (a second would be safe, not faster)."""
        return [("web", web_command(self.web_port))] + (
            [("events", deliverer_command())] if sends_events(self.web_env) else [])

    def supervise_once(self) -> None:
        """One round: start dead processes again, then route conversations to the ready instances only."""
        for instance in self.instances:
            instance.supervise_once()
        self.supervisor.check()
        self.route_to_ready_instances()

    def supervise_in_background(self) -> None:
        """The supervision loop of `kuanxin cluster`, in a thread (tests); stop() ends it."""
        self._supervising = threading.Thread(target=supervise, args=(self, self._stop_supervising),
                                             name="kuanxin-supervisor", daemon=True)
        self._supervising.start()

    def route_to_ready_instances(self) -> None:
        changed = self.routing.update(self._readiness())
        if not changed:
            return
        self._write_nginx_conf()
        self._reload_nginx()
        for i in changed:
            log(f"rasa-{i} is ready again: nginx sends its conversations back to it" if self.routing.up[i]
                else f"rasa-{i} is not ready ({self.routing.reason(i)}): nginx marks it down, its conversations "
                     "go to the others")

    def _readiness(self) -> list[str | None]:
        """Each instance's news without waiting: DEAD at once for a process that died, else the result of
        its last probe when that has come back (a new probe starts then), None while it is still out.
        A probe of a process that has died since says nothing of the one started after it."""
        states: list[str | None] = []
        for i, instance in enumerate(self.instances):
            probing, pid = self._probing[i], instance.rasa.pid
            if not instance.rasa.running:
                states.append(DEAD)
                self._probing[i] = None
            elif probing is None or probing[1].done():
                states.append(probing[1].result() if probing is not None and probing[0] == pid else None)
                self._probing[i] = (pid, self._probes.submit(probe, instance))
            else:
                states.append(None)
        return states

    @property
    def nginx_conf_path(self) -> Path:
        return self.workdir / "nginx.conf"

    def _write_nginx_conf(self) -> None:
        conf = nginx_conf(self.workdir, self.port, self.internal_port, f"127.0.0.1:{self.web_port}",
                          [f"127.0.0.1:{i.rasa_port}" for i in self.instances],
                          down=[not up for up in self.routing.up])
        partial = self.nginx_conf_path.with_suffix(".conf.new")
        partial.write_text(conf)
        partial.replace(self.nginx_conf_path)  # a restarting nginx never reads half a file

    def _reload_nginx(self) -> None:
        nginx = next((c for c in self.supervisor.children if c.name == "nginx"), None)
        if nginx is not None and nginx.running and nginx.proc is not None:
            nginx.proc.send_signal(signal.SIGHUP)

    def _log(self, name: str):
        log_file = open(self.workdir / f"{name}.log", "a")  # noqa: SIM115 - closed in stop()
        self._logs.append(log_file)
        return log_file

    def _wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            dead = [c.name for i in self.instances for c in i.supervisor.children if not c.running]
            dead += [c.name for c in self.supervisor.children if not c.running]
            if dead:
                raise RuntimeError(f"{what} did not come up (exited: {', '.join(dead)})")
            time.sleep(0.2)
        raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")

    def kill_rasa(self, index: int) -> None:
        """Kills one Rasa instance at once (SIGKILL), as a crash would; supervision starts it again."""
        proc = self.instances[index].rasa.proc
        if proc is None:
            raise RuntimeError(f"Rasa instance {index} was never started")
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def alive(self) -> bool:
        return all(i.alive() for i in self.instances) and self.supervisor.alive()

    def stop(self) -> None:
        self._stop_supervising.set()
        if self._supervising is not None:
            self._supervising.join(timeout=30)
        self.supervisor.stop()  # nginx and the web app first
        for instance in self.instances:
            instance.stop()
        self._probes.shutdown(wait=False)
        for log_file in self._logs:
            log_file.close()
        self._logs.clear()


def run_cluster(instances: int, port: int, demo_pages: bool = False) -> int:
    """`kuanxin cluster`: the cluster in the foreground, supervised, until Ctrl-C or SIGTERM."""
    env = dict(os.environ, KUANXIN_WEBCHAT_SECRET=webchat_secret())
    try:
        cluster = Cluster(instances, port, env, var_dir() / "cluster", rasa_token(), demo_pages=demo_pages)
        prepare_stores(env)
    except ValueError as exc:
        print(f"kuanxin: {exc}", file=sys.stderr)
        return 1
    pages = "demo pages on" if cluster.demo_pages else "demo pages off (--demo-pages turns them on)"
    return run_in_foreground(cluster, lambda: f"kuanxin cluster: {instances} Rasa instances behind nginx at "
                                              f"{cluster.url} (console {cluster.url}/console; {pages}; Rasa's "
                                              f"HTTP API inside only, at {cluster.rasa_url}; logs in "
                                              f"{cluster.workdir}). A process that dies is started again; "
                                              "Ctrl-C stops them all.")
