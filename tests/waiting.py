"""Waiting for what a worker process does, with a deadline and a message saying what was awaited."""

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
