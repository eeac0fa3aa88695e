"""`make demo` as a new user runs it: embedded defaults (SQLite, filesystem broker), a real web
server and a real worker, demo accounts that can log in, and a clean stop on SIGTERM/Ctrl-C."""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(opener, url: str, data: dict | None = None) -> tuple[int, str]:
    body = urlencode(data).encode() if data is not None else None
    with opener.open(url, body, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT", "DJANGO_SETTINGS_MODULE"}
    }
    env["MESTUDIO_VAR_DIR"] = str(tmp_path / "var")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rundemo", "--addr", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    yield process, f"http://127.0.0.1:{port}", tmp_path / "var"
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)


def test_demo_serves_login_and_admin_with_a_consuming_worker(demo):
    process, base, var = demo

    def login_page_up():
        try:
            return fetch(urllib.request.build_opener(), f"{base}/login/")[0] == 200
        except OSError:
            return False

    wait_for(login_page_up, timeout=180, what="the login page")

    def jobs_done():
        with sqlite3.connect(var / "db.sqlite3") as db:
            rows = db.execute("SELECT kind, queue, status FROM annotator_jobrun").fetchall()
        finished = all(status in ("succeeded", "failed") for *_, status in rows)
        return len(rows) == 3 + 6 and finished and rows

    rows = wait_for(jobs_done, timeout=180, what="the worker to finish the demo's jobs")
    assert all(status == "succeeded" for *_, status in rows), rows
    checks = {queue for kind, queue, _ in rows if kind == "healthcheck"}
    assert checks == {"preprocess", "train", "infer"}
    with sqlite3.connect(var / "db.sqlite3") as db:
        ready = db.execute("SELECT count(*) FROM annotator_clip WHERE ingest_status='ready'")
        assert ready.fetchone()[0] == 6

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    status, page = fetch(opener, f"{base}/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    status, page = fetch(
        opener,
        f"{base}/admin/login/?next=/admin/",
        {"csrfmiddlewaretoken": token, "username": "admin", "password": "mestudio-admin"},
    )
    assert status == 200
    assert "Site administration" in page
    assert "Micro-expression annotation" in page

    coder = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    status, page = fetch(coder, f"{base}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    fetch(
        coder,
        f"{base}/login/",
        {"csrfmiddlewaretoken": token, "username": "coder", "password": "mestudio-coder"},
    )
    status, page = fetch(coder, f"{base}/queue/")
    assert status == 200 and len(set(re.findall(r"/clips/(\d+)/code/", page))) == 6

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "log in as 'coder' with password 'mestudio-coder'" in output
    assert "Stopped." in output
    leftover = subprocess.run(
        ["pgrep", "-f", f"runserver 127.0.0.1:{base.rsplit(':', 1)[1]}"], capture_output=True
    )
    assert leftover.returncode == 1, "the web server outlived the demo"
