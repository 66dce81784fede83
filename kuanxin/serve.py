"""Runs the action server and Rasa side by side; `kuanxin serve` keeps them in the foreground."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

from kuanxin.settings import PROJECT_ROOT, rasa_store_env, rasa_token, var_dir, webchat_secret
from kuanxin.wechat.config import check_settings_or_exit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def latest_model(models_dir: Path) -> Path:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit(f"no trained model in {models_dir}: run `make train` first")
    return models[-1]


class Servers:
    """The action server, Rasa and (with a web port) the web app as child processes, started and stopped together."""

    def __init__(self, rasa_port: int, action_port: int, token: str, model: Path, env: dict | None = None,
                 rasa_module: str = "runtime.main", web_port: int | None = None,
                 action_endpoint: str | None = None):
        self.rasa_port, self.action_port, self.web_port = rasa_port, action_port, web_port
        self.rasa_module = rasa_module  # "rasa" runs stock Rasa, for comparisons
        self.token, self.model = token, model
        # action_endpoint: where Rasa calls the action server, when something sits in between (tests)
        self.env = dict(env or os.environ, KUANXIN_ACTION_ENDPOINT=action_endpoint or f"{self.actions_url}/webhook",
                        KUANXIN_RASA_URL=self.rasa_url, KUANXIN_RASA_TOKEN=token,
                        RASA_TELEMETRY_ENABLED="false")
        self.env.update(rasa_store_env(self.env))  # PostgreSQL tracker store and Redis locks when configured
        self.procs: list[subprocess.Popen] = []

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def commands(self) -> list[list[str]]:
        python = str(Path(sys.executable).parent / "python")
        actions = [python, "-m", "rasa_sdk", "--actions", "actions", "--port", str(self.action_port)]
        rasa = [python, "-m", self.rasa_module, "run", "--model", str(self.model),
                "--port", str(self.rasa_port), "--enable-api", "--auth-token", self.token, "--cors", "*",
                "--endpoints", self.env.get("KUANXIN_ENDPOINTS", "endpoints.yml"),
                "--credentials", self.env.get("KUANXIN_CREDENTIALS", "credentials.yml")]
        return [actions, rasa] + ([web_command(self.web_port)] if self.web_port else [])

    def health_urls(self) -> list[str]:
        urls = [f"{self.actions_url}/health", f"{self.rasa_url}/"]
        return urls + ([f"{self.web_url}/health"] if self.web_port else [])

    def start(self, logs: list[IO] | tuple[IO, ...] | None = None, timeout: float = 300) -> None:
        """Starts every server and waits until each answers; raises with the reason when one does not.

        `logs` gives one file per server, in the order of commands(); without it they share our output.
        """
        self.launch(logs)
        self.wait_ready(timeout)

    def launch(self, logs: list[IO] | tuple[IO, ...] | None = None) -> None:
        commands = self.commands()
        for cmd, log in zip(commands, logs or [None] * len(commands), strict=True):
            self.procs.append(subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=self.env, stdout=log,
                                               stderr=subprocess.STDOUT if log else None))

    def wait_ready(self, timeout: float = 300) -> None:
        for url in self.health_urls():
            if not self._wait_for(url, timeout):
                exited = [" ".join(self.commands()[i][:4]) for i, p in enumerate(self.procs) if p.poll() is not None]
                self.stop()
                reason = f"exited: {'; '.join(exited)}" if exited else f"not within {timeout:.0f}s"
                raise RuntimeError(f"{url} did not come up ({reason})")

    def _wait_for(self, url: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return True
            except OSError:
                time.sleep(0.3)
        return False

    def alive(self) -> bool:
        return bool(self.procs) and all(p.poll() is None for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def web_command(port: int) -> list[str]:
    python = str(Path(sys.executable).parent / "python")
    return [python, "-m", "uvicorn", "--factory", "web.app:create_app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--ws", "none"]


def serve(rasa_port: int = 5005, action_port: int = 5055, web_port: int = 8000) -> int:
    check_settings_or_exit()
    env = dict(os.environ, KUANXIN_WEBCHAT_SECRET=webchat_secret())  # Rasa and the web app must agree on it
    try:
        servers = Servers(rasa_port, action_port, rasa_token(), latest_model(PROJECT_ROOT / "models"), env,
                          web_port=web_port)
    except ValueError as exc:  # a store setting that cannot work
        print(f"kuanxin: {exc}", file=sys.stderr)
        return 1
    return run_in_foreground(servers, lambda: _greeting(rasa_port, web_port, var_dir()))


def run_in_foreground(group, greeting: Callable[[], str]) -> int:
    """Starts a group of servers (start/alive/stop), prints the greeting, runs until Ctrl-C or a server exits."""
    signal.signal(signal.SIGTERM, lambda *_: group.stop())
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    try:
        group.start()
        print(greeting(), flush=True)
        while group.alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        print(f"kuanxin: {exc}", file=sys.stderr)
        return 1
    finally:
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
  Ctrl-C stops every server.
"""
