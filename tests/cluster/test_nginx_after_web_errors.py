"""A 500 from the web app costs no other request a 502 (uvicorn closes the connection after a 500)."""
from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from kuanxin.core.settings import PROJECT_ROOT
from kuanxin.ops.cluster import NGINX, nginx_conf
from kuanxin.ops.serve import answers, free_port


@pytest.fixture
def web_behind_nginx(tmp_path: Path):
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: `make nginx` installs it")
    web_port, port = free_port(), free_port()
    (tmp_path / "tmp").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf(tmp_path, port, free_port(), f"127.0.0.1:{web_port}", [f"127.0.0.1:{free_port()}"]))
    with open(tmp_path / "web.log", "w") as log:
        web = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "tests.cluster.failing_web:create_app",
                                "--port", str(web_port), "--no-access-log", "--ws", "none"], cwd=PROJECT_ROOT,
                               stdout=log, stderr=subprocess.STDOUT)
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"])
    try:
        deadline = time.monotonic() + 30
        while not answers(f"http://127.0.0.1:{port}/health"):
            assert time.monotonic() < deadline, (tmp_path / "web.log").read_text()
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        for proc in (nginx, web):
            proc.terminate()
            proc.wait(timeout=10)


def test_requests_beside_500s_get_no_502(web_behind_nginx, figures):
    codes: list[int] = []
    with ThreadPoolExecutor(16) as pool:
        for _ in range(30):
            errors = [pool.submit(requests.get, f"{web_behind_nginx}/boom", timeout=10) for _ in range(3)]
            forms = [pool.submit(requests.post, f"{web_behind_nginx}/form", timeout=10) for _ in range(40)]
            assert {f.result().status_code for f in errors} == {500}
            codes += [f.result().status_code for f in forms]
    figures.append(f"web app 500s: {codes.count(502)} x 502 among {len(codes)} POSTs sent beside 90 500s")
    assert codes.count(502) == 0 and set(codes) == {200}
