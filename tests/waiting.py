"""Waiting for what a worker process does, with a deadline and a message saying what was awaited."""

import threading
import time


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.2):
    """Poll `condition` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def live_server_requests_finish(timeout: float = 10.0) -> None:
    """Wait until the live server serves no request: a page's background fetches (the
    workbench's frames) must not overlap what the test does next, nor the database flush."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.05)
