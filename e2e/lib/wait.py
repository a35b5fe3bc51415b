"""wait.py - poll a condition until it holds or a deadline passes (never sleep blindly)."""
import time


class Timeout(AssertionError):
    pass


def wait_until(pred, timeout=20.0, interval=0.05, what="condition"):
    """Call pred() until it returns a truthy value; return that value.

    Raises Timeout with the last value or exception seen, so a failing test
    says what it was waiting for and what it saw instead.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = pred()
            if value:
                return value
            last = value
        except Exception as e:  # the thing polled may not be up yet
            last = e
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")
        time.sleep(interval)
