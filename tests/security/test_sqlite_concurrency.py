"""The embedded default database holds under its own worker (issue 17, item 6).

A dataset import on SQLite while the worker preprocessed the first clips failed with
"database is locked". This test runs that race as a user of the embedded defaults does, outside
pytest-django's database (which is PostgreSQL): every process gets the local settings, a SQLite
file (``DATABASE_URL=sqlite:///<tmp>/db.sqlite3``) and the filesystem broker under a temporary
``MESTUDIO_VAR_DIR``; ``manage.py migrate`` makes the database, a real worker
(`mestudio.celery_app.worker_command`) starts, ``manage.py import_dataset`` imports a generic
sheet whose clips the worker starts preprocessing while the import still writes rows, and while
the worker is at them a second import writes hundreds of rows. Every process must end without
"database is locked" and every job must end. With SQLite's defaults (rollback journal, deferred
transactions, 5 s timeout) the first import already failed so after a few rows.
"""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mlcore.synth import generate, load_truth
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
# The worker takes about a second a clip (the filesystem broker polls once a second), so it is
# still preprocessing the first import's clips when the second import, starting at once, writes.
PREPROCESSED = 40
ROWS = 300  # rows of the import that races it
LOCKED = "database is locked"
FINAL = ("succeeded", "failed", "cancelled")

pytestmark = pytest.mark.worker


@pytest.fixture
def embedded(tmp_path) -> dict[str, str]:
    """The environment of a machine on the embedded defaults, migrated, with an admin."""
    var = tmp_path / "var"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO", "CELERY"))
        and k not in {"DATABASE_URL", "MEDIA_ROOT", "RETINAFACE_WEIGHTS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="mestudio.settings.local",
        DJANGO_DEBUG="false",
        MESTUDIO_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'db.sqlite3'}",
        CELERY_BROKER_URL="filesystem://",
    )
    manage(env, "migrate", "--noinput")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model;"
        "get_user_model().objects.create_superuser('admin', 'admin@example.org', 'pw')",
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


@pytest.fixture
def worker(embedded, tmp_path):
    from mestudio.celery_app import worker_command

    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            worker_command(hostname="sqlite-race@localhost", options=("--without-gossip",)),
            cwd=REPO,
            env=embedded,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: process.poll() is not None or " ready." in log_path.read_text(),
            timeout=120,
            what="the worker to start",
        )
        assert process.poll() is None, log_path.read_text()
        yield log_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def sheet_of(path: Path, *, rows: int, clip: dict) -> Path:
    """A generic sheet whose every row names the same small face folder, so that rows are many
    while each clip's preprocessing stays short."""
    first, last = clip["frame_indices"][0], clip["frame_indices"][-1]
    lines = ["subject,clip,onset,offset,emotion,frames"]
    lines += [
        f"p{row // 10:03d},take_{row:03d},{first},{last},happiness,{clip['frames_dir']}"
        for row in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_import_racing_the_worker_on_sqlite_ends_every_job(embedded, worker, tmp_path):
    generate(
        out_dir=tmp_path / "faces",
        layout="casme2",
        subjects=1,
        clips_per_subject=1,
        frames=8,
        size=(160, 120),
    )
    (clip,) = load_truth(tmp_path / "faces")["clips"]
    database = Path(embedded["MESTUDIO_VAR_DIR"]) / "db.sqlite3"

    def query(sql: str) -> list[tuple]:
        with sqlite3.connect(database, timeout=20) as db:
            return db.execute(sql).fetchall()

    def import_sheet(sheet: Path, *options: str) -> subprocess.Popen:
        return subprocess.Popen(
            [
                *(sys.executable, "manage.py", "import_dataset", "--format", "generic-csv"),
                *("--annotations", str(sheet), "--frames", str(tmp_path / "faces")),
                *("--fps", "200", *options),
            ],
            cwd=REPO,
            env=embedded,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def finished(process: subprocess.Popen) -> str:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output
        assert LOCKED not in output
        return output

    # The first import queues its clips' preprocessing; the second, bigger one starts at once
    # and writes its rows while the worker is at those clips (the worker would take the second
    # import's clips afterwards: --no-preprocess keeps the test short, the writes racing the
    # worker are the same).
    first = import_sheet(sheet_of(tmp_path / "first.csv", rows=PREPROCESSED, clip=clip))
    assert f"first: {PREPROCESSED} created" in finished(first)
    second = import_sheet(
        sheet_of(tmp_path / "second.csv", rows=ROWS, clip=clip), "--no-preprocess"
    )
    assert f"second: {ROWS} created" in finished(second)

    def all_final():
        rows = query("SELECT kind, status, error FROM annotator_jobrun ORDER BY id")
        return len(rows) == PREPROCESSED and all(row[1] in FINAL for row in rows) and rows

    jobs = wait_for(all_final, timeout=300, what="the worker to end every preprocessing job")
    assert LOCKED not in worker.read_text()
    assert jobs == [("preprocess", "succeeded", "")] * PREPROCESSED, jobs
    assert dict(query("SELECT ingest_status, count(*) FROM annotator_clip GROUP BY 1")) == {
        "ready": PREPROCESSED,
        "pending": ROWS,
    }
    # The race happened: the worker ran a job while the second import wrote its rows.
    ((raced,),) = query(
        "SELECT count(*) FROM annotator_jobrun, (SELECT min(c.created_at) AS first,"
        " max(c.created_at) AS last FROM annotator_clip c JOIN annotator_subject s"
        " ON c.subject_id = s.id JOIN annotator_dataset d ON s.dataset_id = d.id"
        " WHERE d.name = 'second') AS second"
        " WHERE started_at < second.last AND finished_at > second.first"
    )
    assert raced > 0
    assert query("PRAGMA journal_mode") == [("wal",)]
