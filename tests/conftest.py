"""Shared fixtures. Django imports stay inside fixtures so that the Django-free mlcore tests also
run with `-p no:django`."""

import pytest

from tests.waiting import live_server_requests_finish


@pytest.fixture
def coder(db):
    from tests.factories import UserFactory

    return UserFactory(username="coder1", role="coder")


@pytest.fixture
def admin_user(db):
    from tests.factories import UserFactory

    return UserFactory(username="boss", role="admin")


@pytest.fixture
def api_as(db):
    """An API client sending the user's token, as a script would."""
    from rest_framework.test import APIClient

    from annotator.accounts.tokens import token_create

    def make(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user).key}")
        return client

    return make


@pytest.fixture
def celery_worker_start(transactional_db, settings, tmp_path_factory):
    """Starts real `celery worker` processes on the test broker (Redis) and the test database:
    `start(hostname=..., environment={...})` returns the process once the worker answers a ping.

    The test must commit what the worker reads, hence `transactional_db`. Each worker runs in a
    session of its own, so `os.killpg(worker.pid, signal.SIGKILL)` kills it with its pool, as a
    crash of its machine would; a second worker may then start under the same hostname. Its log
    is in `worker.log_path`.
    """
    import contextlib
    import os
    import signal
    import subprocess
    import time

    from mestudio.celery_app import app, worker_command

    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mestudio.settings.test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    app.control.purge()
    workers = []

    def start(*, hostname: str, environment: dict[str, str] | None = None) -> subprocess.Popen:
        log_path = tmp_path_factory.mktemp("celery-worker") / "worker.log"
        with log_path.open("w") as log:
            worker = subprocess.Popen(
                worker_command(hostname=hostname, options=("--without-mingle", "--without-gossip")),
                env={**env, **(environment or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        worker.log_path = log_path
        workers.append(worker)
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[hostname], timeout=1.0):
            if worker.poll() is not None or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):  # the group may be gone already
                    os.killpg(worker.pid, signal.SIGKILL)
                raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()}")
        return worker

    yield start
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    # A killed worker's message stays unacknowledged in Redis and would be delivered again
    # after the visibility timeout (an hour), maybe into a later session's database: put such
    # messages back in their queues and purge them.
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as client:
            for tag in client.zrange(channel.qos.unacked_index_key, 0, -1):
                channel.qos.restore_by_tag(tag, client)
    app.control.purge()


@pytest.fixture
def celery_worker_process(celery_worker_start):
    """One real `celery worker` process consuming every queue (see `celery_worker_start`)."""
    import os

    return celery_worker_start(hostname=f"test-{os.getpid()}@localhost")


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (Playwright's own browser download is not used)."""
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; Django refuses ORM calls from such a thread
    # unless told that the test code is synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh tab. Every browser test also checks the Content-Security-Policy: whatever a page
    did that the policy refused (an inline script or style, eval, a foreign fetch) fails it."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(f"{message.text} ({message.location['url']})")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    context.close()
    # The workbench fetches frames in the background: a request the live server is still
    # serving when the test's database is flushed can deadlock the flush. Let them finish.
    live_server_requests_finish()
    assert not refused, f"the Content-Security-Policy refused: {refused}"


@pytest.fixture
def log_in(live_server):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    def log_in(page, *, username: str, password: str = "pw-for-tests"):
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        try:
            page.wait_for_url(f"{live_server.url}/")
        except PlaywrightTimeout:
            # Say what the page showed instead of the home page (a refusal, an error page).
            shown = page.locator("body").inner_text()[:600]
            raise AssertionError(f"log-in as {username} stayed on {page.url}: {shown!r}") from None

    return log_in


@pytest.fixture
def ready_clip(db, django_capture_on_commit_callbacks):
    """A clip uploaded as a zip of CASME II-style frames (img46.jpg ...) and preprocessed for real
    by the worker's service, called in-process."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from annotator.corpus import preprocessing
    from annotator.corpus import services as corpus
    from annotator.models import Clip
    from annotator.tasks import _run_job
    from tests.clip_files import frames_zip_bytes
    from tests.factories import DatasetFactory, SubjectFactory, UserFactory

    def make(*, frames: int = 30, name: str = "EP02_01f") -> Clip:
        subject = SubjectFactory(dataset=DatasetFactory(name=f"CASME II {name}"), code="01")
        with django_capture_on_commit_callbacks(execute=False):
            job_run = corpus.clip_upload(
                clip=Clip(subject=subject, name=name, fps=200.0),
                upload=SimpleUploadedFile(f"{name}.zip", frames_zip_bytes(count=frames)),
                created_by=UserFactory(username="uploader"),
            )
        _run_job(job_run.pk, preprocessing.clip_preprocess_job)
        clip = Clip.objects.get(pk=job_run.clip_id)
        assert clip.ingest_status == Clip.IngestStatus.READY, clip.ingest_error
        return clip

    return make
