"""`manage.py rundemo` (what `make demo` runs): migrations, demo accounts and data, then the web
server and a real Celery worker side by side until Ctrl-C stops both."""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from annotator import demo
from annotator.jobs import services as jobs
from mestudio.celery_app import worker_command

STOP_GRACE_SECONDS = 15


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port for the web server")

    def handle(self, *args, addr: str, **options):
        call_command("migrate", interactive=False, verbosity=0)
        accounts = demo.demo_accounts_ensure()
        self.stdout.write("Preparing the demo dataset (synthetic clips, generated once)...")
        dataset, preprocessing = demo.demo_dataset_ensure(data_dir=settings.VAR_DIR / "demo-data")
        for queue in jobs.QUEUES:
            jobs.worker_check_start(queue=queue, created_by=None)

        database = settings.DATABASES["default"]
        self.stdout.write(
            f"\nMEStudio demo on http://{addr}/\n"
            f"  database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}\n"
            f"  broker:   {settings.CELERY_BROKER_URL}\n"
            f"  dataset:  {dataset.name}, {len(preprocessing)} clips queued for preprocessing\n"
        )
        for account in accounts:
            self.stdout.write(
                f"  {account.role:<6} log in as {account.username!r} "
                f"with password {account.password!r}"
            )
        self.stdout.write("Press Ctrl-C to stop the web server and the worker.\n")

        children = [
            subprocess.Popen(worker_command(hostname="demo@%h")),
            subprocess.Popen(
                [sys.executable, "manage.py", "runserver", addr, "--noreload"],
                cwd=settings.BASE_DIR,
            ),
        ]
        # Ctrl-C and SIGTERM (a supervisor, a test) both stop the demo; set both explicitly because
        # a shell starts background jobs with SIGINT ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            self.stderr.write("A demo process exited; stopping the other one.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the web server and the worker...")
        finally:
            _stop(children)
        self.stdout.write("Stopped.")


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
