import pytest

from annotator.models import Role
from tests.factories import UserFactory


@pytest.fixture
def coder(db):
    return UserFactory(username="coder1", role=Role.CODER)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="boss", role=Role.ADMIN)


@pytest.fixture
def celery_worker_process(django_db_serialized_rollback, transactional_db, settings):
    """A real `celery worker` process on the test broker (Redis) and the test database.

    The test must commit what the worker reads, hence `transactional_db`; the serialized
    rollback restores the role groups that the migrations created and the flush removes.
    """
    import os
    import subprocess
    import sys
    import time

    from mestudio.celery_app import app

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
    hostname = f"test-{os.getpid()}@localhost"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mestudio",
            "worker",
            "--queues",
            ",".join(settings.MESTUDIO_QUEUES),
            "--concurrency",
            "1",
            "--hostname",
            hostname,
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[hostname], timeout=1.0):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise RuntimeError(f"celery worker did not start:\n{worker.stdout.read()}")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
