"""Several Rasa instances and action servers behind nginx on this machine: production's shape, on loopback.

Each instance is a Rasa + action server pair (kuanxin.serve.Servers) sharing the PostgreSQL tracker
store, the Redis lock store and the account database. nginx sends every request of one conversation
to the same instance by hashing its key: `sender` (REST), `openid` (WeChat pushes), `route` (the
widget's socket.io connection, set to its session id) or the id in /conversations/<id>/... (the
console). When an instance dies, its conversations move to the next one in the hash ring; their
state lives in PostgreSQL, so they go on where they were.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from kuanxin.migrate import ensure_database
from kuanxin.serve import Servers, free_port, latest_model, run_in_foreground, web_command
from kuanxin.settings import PROJECT_ROOT, rasa_store_env, rasa_token, var_dir, webchat_secret

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian puts it in sbin, outside a user's PATH
NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
{user}
events {{ worker_connections 4096; }}
http {{
    log_format route '$upstream_addr $status $request_time';
    access_log {dir}/nginx-access.log route;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    client_max_body_size 1m;

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
    }}
    upstream web {{
        server 127.0.0.1:{web_port};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_read_timeout 120s;
        # a dead instance refuses the connection before the request is sent: try the next one
        proxy_next_upstream error timeout http_502 http_503;
        proxy_next_upstream_tries 2;
        location /socket.io/ {{
            proxy_pass http://rasa;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }}
        location ~ ^/(webhooks|conversations|model|status|version)(/|$) {{
            proxy_pass http://rasa;
            proxy_set_header Connection "";
        }}
        location / {{
            proxy_pass http://web;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


class Cluster:
    def __init__(self, instances: int, port: int, env: dict[str, str], workdir: Path, token: str,
                 model: Path | None = None):
        if not rasa_store_env(env):
            raise ValueError("a cluster needs shared stores: set KUANXIN_TRACKER_STORE_URL and KUANXIN_REDIS_URL")
        self.port, self.workdir, self.token = port, workdir, token
        self.model = model or latest_model(PROJECT_ROOT / "models")
        self.web_port = free_port()
        base = dict(env, KUANXIN_PUBLIC_CHAT_URL=self.url)
        self.instances = [Servers(free_port(), free_port(), token, self.model, base) for _ in range(instances)]
        self.web_env = dict(self.instances[0].env, KUANXIN_RASA_URL=self.url)  # the console goes through nginx
        self.web: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None
        self._logs: list = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    rasa_url = web_url = url  # nginx serves both, where a single kuanxin.serve.Servers has two ports

    @property
    def env(self) -> dict[str, str]:
        return self.web_env

    def start(self, timeout: float = 300) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for i, instance in enumerate(self.instances):
            instance.launch([self._log(f"actions-{i}"), self._log(f"rasa-{i}")])
        self.web = subprocess.Popen(web_command(self.web_port), cwd=PROJECT_ROOT, env=self.web_env,
                                    stdout=self._log("web"), stderr=subprocess.STDOUT)
        try:
            for instance in self.instances:
                instance.wait_ready(timeout)
            self._start_nginx()
            self._wait_for(f"{self.url}/health", timeout)
        except Exception:
            self.stop()
            raise

    def _log(self, name: str):
        log = open(self.workdir / f"{name}.log", "a")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        return log

    def _start_nginx(self) -> None:
        (self.workdir / "tmp").mkdir(exist_ok=True)
        servers = "\n".join(f"        server 127.0.0.1:{i.rasa_port} max_fails=1 fail_timeout=10s;"
                            for i in self.instances)
        conf = self.workdir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=self.workdir, port=self.port, web_port=self.web_port,
                                          rasa_servers=servers, user="user root;" if os.geteuid() == 0 else ""))
        self.nginx = subprocess.Popen([NGINX, "-p", str(self.workdir), "-c", str(conf), "-g", "daemon off;"],
                                      stdout=self._log("nginx"), stderr=subprocess.STDOUT)

    def _wait_for(self, url: str, timeout: float) -> None:
        import urllib.request
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{url} did not come up")

    def kill_rasa(self, index: int) -> None:
        """Kills one Rasa instance at once (SIGKILL), as a crash would."""
        self.instances[index].procs[1].send_signal(signal.SIGKILL)
        self.instances[index].procs[1].wait()

    def alive(self) -> bool:
        return all(i.alive() for i in self.instances) and self.web is not None and self.web.poll() is None

    def stop(self) -> None:
        for proc in (self.nginx, self.web):
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for instance in self.instances:
            instance.stop()
        for proc in (self.nginx, self.web):
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for log in self._logs:
            log.close()
        self._logs.clear()


def run_cluster(instances: int, port: int) -> int:
    """`kuanxin cluster`: the cluster in the foreground until Ctrl-C."""
    env = dict(os.environ, KUANXIN_WEBCHAT_SECRET=webchat_secret())
    try:
        cluster = Cluster(instances, port, env, var_dir() / "cluster", rasa_token())
        ensure_database(env["KUANXIN_TRACKER_STORE_URL"])
    except ValueError as exc:
        print(f"kuanxin: {exc}", file=sys.stderr)
        return 1
    return run_in_foreground(cluster, lambda: f"kuanxin cluster: {instances} Rasa instances behind nginx at "
                                              f"{cluster.url} (logs in {cluster.workdir}); Ctrl-C stops it")
