"""Runs the action server, Rasa and the web app side by side (and, with a lender webhook configured, the
deliverer of the lender's events: kuanxin/outbound), and keeps them running.

Every process is a `Child` of a `Supervisor`, the one mechanism `kuanxin serve` and `kuanxin cluster`
share: a child that dies is logged (its name, exit code or signal, when it will be started again) and
started again after a back-off of 0.5 s doubling to 10 s, back to 0.5 s once it has stayed up for
STEADY_AFTER seconds; the others keep serving meanwhile. Only Ctrl-C or SIGTERM stops the group.
Nothing secret goes on a command line (`ps` shows those to every user): the processes read their
secrets from the environment.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import redis

from kuanxin.core import settings
from kuanxin.core.settings import PROJECT_ROOT, rasa_store_env, rasa_token, redis_url, var_dir, webchat_secret
from kuanxin.ops.preflight import prepare_stores
from kuanxin.outbound.target import sends_events
from kuanxin.store.lock_keys import release_instance
from kuanxin.wechat.config import check_settings_or_exit

RESTART_FIRST_DELAY = 0.5  # seconds before a dead child is started again; doubles on each quick death
RESTART_MAX_DELAY = 10.0
STEADY_AFTER = 30.0  # a child up this long that dies starts the back-off again from RESTART_FIRST_DELAY
SUPERVISE_INTERVAL = 0.5
IN_PROCESS = "in-process"  # the action endpoint that runs the actions in Rasa's process (runtime.actions_in_process)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def latest_model(models_dir: Path) -> Path:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit(f"no trained model in {models_dir}: run `make train` first")
    return models[-1]


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} kuanxin: {message}", file=sys.stderr, flush=True)


def http_status(url: str, timeout: float = 2.0) -> int:
    """The status a GET of `url` answers; raises OSError when nothing answers (TimeoutError: not in time)."""
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"no host in {url!r}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        return connection.getresponse().status
    except http.client.HTTPException as exc:
        raise ConnectionError(str(exc)) from None
    finally:
        connection.close()


def answers(url: str, timeout: float = 2.0) -> bool:
    try:
        return http_status(url, timeout) == 200
    except OSError:
        return False


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class Child:
    """One supervised process: how to start it, the process now running, and its restart back-off.

    Each child gets a session (process group) of its own, so that whatever it left behind (nginx's
    workers outlive a killed master) is killed with it, and Ctrl-C reaches the supervisor only,
    which stops the children in order.
    """

    def __init__(self, name: str, command: list[str], env: Mapping[str, str], log_file: IO | None = None,
                 on_death: Callable[[], None] | None = None):
        self.name, self.command, self.env, self.log_file = name, command, dict(env), log_file
        self.on_death = on_death  # what to clean up at once for a dead process (its conversation locks)
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restart_at: float | None = None  # set while dead and waiting for its back-off
        self.delay = RESTART_FIRST_DELAY
        self.restarts = 0

    def launch(self) -> None:
        self.proc = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=self.env, stdout=self.log_file,
                                     stderr=subprocess.STDOUT if self.log_file else None, start_new_session=True)
        self.started_at, self.restart_at = time.monotonic(), None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def plan_restart(self, now: float) -> float:
        """Sets when to start it again; returns the delay."""
        if now - self.started_at >= STEADY_AFTER:
            self.delay = RESTART_FIRST_DELAY
        delay, self.delay = self.delay, min(self.delay * 2, RESTART_MAX_DELAY)
        self.restart_at = now + delay
        return delay

    def restart_due(self, now: float) -> bool:
        return self.restart_at is not None and now >= self.restart_at

    def released(self) -> None:
        if self.on_death is None:
            return
        try:
            self.on_death()
        except Exception as exc:  # noqa: BLE001 - the locks then expire by themselves within seconds
            log(f"could not release what {self.name} held: {exc!r}")

    def kill_leftovers(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def terminate(self) -> None:
        if self.running and self.proc is not None:
            self.proc.terminate()

    def wait_or_kill(self, timeout: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.kill_leftovers()


class Supervisor:
    """Starts children, starts again the ones that die (check()), and stops them all (stop())."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self.stopping = False
        self._lock = threading.Lock()  # check() may run in a thread of its own while stop() is called

    def start(self, child: Child) -> Child:
        with self._lock:
            if self.stopping:
                raise RuntimeError("the supervisor is stopping")
            child.launch()
            self.children.append(child)
        return child

    def check(self) -> None:
        with self._lock:
            if self.stopping:
                return
            now = time.monotonic()
            for child in self.children:
                if not child.running:
                    self._look_after(child, now)

    def _look_after(self, child: Child, now: float) -> None:
        if child.restart_at is None:
            delay = child.plan_restart(now)
            child.kill_leftovers()
            child.released()
            code = child.proc.returncode if child.proc else None
            log(f"{child.name} (pid {child.pid}) died with {describe_exit(code)}; starting it again in {delay:g} s")
        elif child.restart_due(now):
            child.launch()
            child.restarts += 1
            log(f"{child.name} started again (pid {child.pid}, restart {child.restarts})")

    def alive(self) -> bool:
        return bool(self.children) and all(child.running for child in self.children)

    def stop(self, timeout: float = 20) -> None:
        with self._lock:
            self.stopping = True
            for child in self.children:
                child.terminate()
            for child in self.children:
                child.wait_or_kill(timeout)


def supervise(group, stop: threading.Event | None = None, interval: float = SUPERVISE_INTERVAL) -> None:
    """Calls group.supervise_once() every `interval` seconds until `stop` is set (without one: for ever).

    A failing round is logged and the next one runs: the supervisor itself must not die of it.
    """
    stop = stop or threading.Event()
    while not stop.wait(interval):
        try:
            group.supervise_once()
        except Exception as exc:  # noqa: BLE001 - logged; supervision goes on
            log(f"supervision round failed: {exc!r}")


class Servers:
    """Rasa, the action server (unless the actions run in Rasa's process, KUANXIN_ACTIONS) and (with a web port)
    the web app as supervised child processes.

    start() starts them and waits until each answers (raising with the reason when one does not);
    supervise_once() starts again the ones that died; stop() stops them all.
    """

    def __init__(self, rasa_port: int, action_port: int, token: str, model: Path, env: dict | None = None,
                 rasa_module: str = "runtime.main", web_port: int | None = None,
                 action_endpoint: str | None = None, label: str = ""):
        self.rasa_port, self.action_port, self.web_port = rasa_port, action_port, web_port
        self.rasa_module = rasa_module  # "rasa" runs stock Rasa, for comparisons (it has no in-process actions)
        self.token, self.model = token, model
        self.label = label  # "-0" names this pair's processes rasa-0 and actions-0 in the log (a cluster)
        base = dict(env or os.environ)
        # action_endpoint: where Rasa calls the action server, when something sits in between (tests)
        self.actions_in_process = (not action_endpoint and rasa_module != "rasa"
                                   and settings.of(base).value("KUANXIN_ACTIONS") == IN_PROCESS)
        endpoint = IN_PROCESS if self.actions_in_process else action_endpoint or f"{self.actions_url}/webhook"
        self.env = dict(base, KUANXIN_ACTION_ENDPOINT=endpoint, KUANXIN_RASA_URL=self.rasa_url,
                        KUANXIN_RASA_TOKEN=token, RASA_TELEMETRY_ENABLED="false")
        self.env.update(rasa_store_env(self.env))  # PostgreSQL tracker store and Redis locks when configured
        if web_port and not self.env.get("KUANXIN_PUBLIC_WEB_URL"):  # where the agreement links point
            self.env["KUANXIN_PUBLIC_WEB_URL"] = f"http://127.0.0.1:{web_port}"
        self.supervisor = Supervisor()

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def roles(self) -> list[tuple[str, list[str]]]:
        """Each process to run: its role (actions, rasa, web, events) and its command line."""
        python = str(Path(sys.executable).parent / "python")
        actions = [python, "-m", "rasa_sdk", "--actions", "actions", "--port", str(self.action_port)]
        rasa = [python, "-m", self.rasa_module, "run", "--model", str(self.model), "--port", str(self.rasa_port),
                *self._api_options(), "--cors", "*",
                "--endpoints", self.env.get("KUANXIN_ENDPOINTS", "endpoints.yml"),
                "--credentials", self.env.get("KUANXIN_CREDENTIALS", "credentials.yml")]
        roles = ([] if self.actions_in_process else [("actions", actions)]) + [("rasa", rasa)]
        if self.web_port:  # `kuanxin serve` sends the lender's events too; a cluster runs one deliverer itself
            roles += [("web", web_command(self.web_port))] + ([("events", deliverer_command())]
                                                              if sends_events(self.env) else [])
        return roles

    def commands(self) -> list[list[str]]:
        return [command for _role, command in self.roles()]

    def _api_options(self) -> list[str]:
        # runtime.main gives the HTTP API its token from KUANXIN_RASA_TOKEN (never --auth-token: `ps` shows
        # command lines); stock Rasa would run the API without one, so it runs without the API
        return [] if self.rasa_module == "rasa" else ["--enable-api"]

    def names(self) -> list[str]:
        return [f"{role}{self.label}" for role, _command in self.roles()]

    def logs_in(self, folder: Path, prefix: str = "") -> list[IO]:
        """A log file per process in `folder`, named after it (rasa.log, actions.log…), for start()."""
        return [open(folder / f"{prefix}{name}.log", "w") for name in self.names()]  # noqa: SIM115 - theirs to close

    @property
    def procs(self) -> list[subprocess.Popen | None]:
        """The processes running now, in the order of commands() (a restart replaces one; None before the start)."""
        return [child.proc for child in self.supervisor.children]

    @property
    def rasa(self) -> Child:
        return self.supervisor.children[self.names().index(f"rasa{self.label}")]

    def health_urls(self) -> list[str]:
        urls = ([] if self.actions_in_process else [f"{self.actions_url}/health"]) + [f"{self.rasa_url}/"]
        return urls + ([f"{self.web_url}/health"] if self.web_port else [])

    def start(self, logs: list[IO] | tuple[IO, ...] | None = None, timeout: float = 300) -> None:
        """Starts every server and waits until each answers; raises with the reason when one does not.

        `logs` gives one file per server, in the order of commands(); without it they share our output.
        """
        self.launch(logs)
        self.wait_ready(timeout)

    def launch(self, logs: list[IO] | tuple[IO, ...] | None = None) -> None:
        commands = self.commands()
        log_files: list[IO | None] = list(logs) if logs else [None] * len(commands)
        for name, command, log_file in zip(self.names(), commands, log_files, strict=True):
            env = dict(self.env, KUANXIN_INSTANCE=name)  # the name Rasa holds conversation locks under
            self.supervisor.start(Child(name, command, env, log_file, on_death=self._releaser(name)))

    def _releaser(self, instance: str) -> Callable[[], None] | None:
        """For a Rasa instance sharing Redis locks: frees the conversations it held the moment it dies."""
        url, prefix = redis_url(self.env), self.env.get("KUANXIN_REDIS_PREFIX") or "kuanxin"
        if not instance.startswith("rasa") or not url:
            return None

        def release() -> None:
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            freed = release_instance(client, prefix, instance)
            log(f"freed {freed} conversation lock ticket(s) held by {instance}")
        return release

    def wait_ready(self, timeout: float = 300) -> None:
        for url in self.health_urls():
            if not self._wait_for(url, timeout):
                exited = [child.name for child in self.supervisor.children if not child.running]
                self.stop()
                reason = f"exited: {', '.join(exited)}" if exited else f"not within {timeout:.0f}s"
                raise RuntimeError(f"{url} did not come up ({reason})")

    def _wait_for(self, url: str, timeout: float) -> bool:
        """Waits for `url` to answer 200; gives up early when a process exits while starting."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            if answers(url):
                return True
            time.sleep(0.3)
        return False

    def supervise_once(self) -> None:
        self.supervisor.check()

    def alive(self) -> bool:
        return self.supervisor.alive()

    def stop(self) -> None:
        self.supervisor.stop()


# open console pages hold their live-queue stream (server-sent events) until they leave: a stop waits this long for
# them, then closes them (the pages reconnect to another instance)
WEB_SHUTDOWN_SECONDS = 5


def web_command(port: int) -> list[str]:
    python = str(Path(sys.executable).parent / "python")
    return [python, "-m", "uvicorn", "--factory", "web.app:create_app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--ws", "none",
            "--timeout-graceful-shutdown", str(WEB_SHUTDOWN_SECONDS)]


def deliverer_command() -> list[str]:
    """`kuanxin events deliver`: the lender's events, sent while the servers run (kuanxin/outbound)."""
    return [str(Path(sys.executable).parent / "python"), "-m", "kuanxin.ops.cli", "events", "deliver"]


def serve(rasa_port: int = 5005, action_port: int = 5055, web_port: int = 8000) -> int:
    check_settings_or_exit()
    env = dict(os.environ, KUANXIN_WEBCHAT_SECRET=webchat_secret())  # Rasa and the web app must agree on it
    try:
        prepare_stores(env)
        servers = Servers(rasa_port, action_port, rasa_token(), latest_model(PROJECT_ROOT / "models"), env,
                          web_port=web_port)
    except ValueError as exc:  # a store setting that cannot work, or a store that does not answer
        print(f"kuanxin: {exc}", file=sys.stderr)
        return 1
    return run_in_foreground(servers, lambda: _greeting(rasa_port, web_port, var_dir()))


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def run_in_foreground(group, greeting: Callable[[], str]) -> int:
    """Starts a group (start/supervise_once/stop), prints the greeting and supervises it until Ctrl-C or SIGTERM."""
    for stop_signal in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # SIGINT also when started in the background
        signal.signal(stop_signal, _interrupt)
    try:
        group.start()
        print(greeting(), flush=True)
        supervise(group)
    except KeyboardInterrupt:
        log("stopping every server")
    except RuntimeError as exc:
        print(f"kuanxin: {exc}", file=sys.stderr)
        return 1
    finally:
        for stop_signal in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # a second Ctrl-C must not orphan them
            signal.signal(stop_signal, signal.SIG_IGN)
        group.stop()
    return 0


def _greeting(rasa_port: int, web_port: int, folder: Path) -> str:
    return f"""
kuanxin is up.
  Demo lender page with the chat widget: http://localhost:{web_port}/   (signed in: /signed-in)
  Staff console: http://localhost:{web_port}/console
    first staff account: .venv/bin/kuanxin staff add NAME --role supervisor
  Talk to it over REST:
    curl -s localhost:{rasa_port}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
         -d '{{"sender": "demo-1", "message": "你好,我逾期了多少钱?"}}'
  Socket.io channel: ws://localhost:{rasa_port}/socket.io
  HTTP API token: KUANXIN_RASA_TOKEN, or the file {folder / 'rasa-token'}
  Demo borrower: phone 13812345678, ID ending 123X (more in README.md)
  A server that dies is started again (the log says which, and when); Ctrl-C stops them all.
"""
