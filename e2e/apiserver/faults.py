"""faults.py - trouble the tests order through POST /_test/NAME, and request counts.

    fail?count=N&status=S[&match=SUBSTR]     the next N matching requests get S
    delay?count=N&seconds=F[&match=SUBSTR]   the next N matching requests wait F s
                                             (count=0 clears)

A request matches when its path+query contains SUBSTR (any request without
match); /_test/ requests never do. Each call replaces the previous rule of
its kind. close-watches and compact act on the store; see httpapi.py.
"""
import threading
from collections import Counter


class Rule:
    def __init__(self, count, match, value):
        self.count = count
        self.match = match
        self.value = value


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.fail = None
        self.delay = None
        self.requests = Counter()
        self.injected = Counter()

    def set_fail(self, count, status, match=""):
        with self.lock:
            self.fail = Rule(count, match, status) if count > 0 else None

    def set_delay(self, count, seconds, match=""):
        with self.lock:
            self.delay = Rule(count, match, seconds) if count > 0 else None

    def _take(self, name, target):
        rule = getattr(self, name)
        if rule is None or rule.match not in target:
            return None
        rule.count -= 1
        if rule.count <= 0:
            setattr(self, name, None)
        self.injected[name] += 1
        return rule.value

    def for_request(self, target):
        """(status to fail with or None, seconds to wait or 0) for one request."""
        with self.lock:
            delay = self._take("delay", target) or 0
            fail = self._take("fail", target)
            return fail, delay

    def count(self, verb):
        with self.lock:
            self.requests[verb] += 1

    def stats(self):
        with self.lock:
            return {"requests": dict(self.requests), "injected": dict(self.injected),
                    "fail": vars(self.fail) if self.fail else None,
                    "delay": vars(self.delay) if self.delay else None}
