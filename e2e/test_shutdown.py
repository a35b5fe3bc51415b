"""test_shutdown.py - graceful shutdown (issue 6): on SIGTERM the agent
fails /readyz at once, so the Service drops the Pod, while HAProxy keeps
serving new requests for --shutdown-drain-seconds; then HAProxy stops
listening and finishes the requests in flight; the agent exits cleanly.
A second signal skips the drain.

    python3 e2e/run.py e2e -k shutdown
"""
import signal
import threading
import time
import unittest
import urllib.error
import urllib.request

from lib import resources as R
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "shutdown"
DRAIN = 3


def readyz(agent):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{agent.admin_port}/readyz", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


class ShutdownTest(unittest.TestCase):
    def start(self, drain):
        port = free_port()
        self.pods = EchoPods(["127.0.9.1"], port, ["web-1"]).start()
        self.addCleanup(self.pods.stop)
        rc = RoutedCluster("shutdown", extra_args=[
            "--shutdown-drain-seconds", str(drain), "--shutdown-grace-seconds", "10"]).start()
        self.addCleanup(rc.stop)
        rc.apply(R.namespace(NS),
                 {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                  "metadata": {"name": "spoke"},
                  "spec": {"controller": "spoke.dev/ingress-controller"}},
                 R.service(NS, "web", target_port=port),
                 R.endpoint_slice(NS, "web-1", "web", ["127.0.9.1"], port),
                 R.ingress(NS, "web", host="web.example.com"))
        rc.wait_pod("web.example.com", "/", "web-1")
        wait_until(lambda: readyz(rc.agent) == 200, timeout=20, what="agent ready")
        return rc

    def test_drain_then_finish_in_flight_requests(self):
        rc = self.start(DRAIN)
        slow = {}

        def slow_request():
            # Sent during the drain, answered after it ended.
            slow["result"] = rc.request("web.example.com", f"/?delay={DRAIN}")

        rc.agent.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        wait_until(lambda: readyz(rc.agent) == 503, timeout=5, what="/readyz failing")
        # New requests are still served during the drain.
        served = 0
        while time.monotonic() - sent < DRAIN / 2:
            status, body, _ = rc.request("web.example.com", "/")
            self.assertEqual((status, body["pod"]), (200, "web-1"))
            served += 1
        self.assertGreater(served, 0)
        self.assertIsNone(rc.agent.proc.poll(), "the agent waits for the drain")
        t = threading.Thread(target=slow_request)
        t.start()
        t.join(timeout=DRAIN + 15)
        self.assertFalse(t.is_alive())
        status, body, _ = slow["result"]
        self.assertEqual((status, body["pod"]), (200, "web-1"))
        # After the drain: HAProxy stops listening, the agent exits cleanly.
        wait_until(lambda: rc.agent.proc.poll() is not None, timeout=20, what="agent exit")
        self.assertGreaterEqual(time.monotonic() - sent, DRAIN)
        self.assertEqual(rc.agent.proc.returncode, 0)
        with self.assertRaises(OSError):
            rc.request("web.example.com", "/")
        with open(rc.agent.log_path, errors="replace") as f:
            log = f.read()
        self.assertIn("not ready any more, serving 3 s more", log)
        self.assertIn("drain over: stopping", log)

    def test_second_signal_skips_the_drain(self):
        rc = self.start(60)
        rc.agent.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: readyz(rc.agent) == 503, timeout=5, what="/readyz failing")
        rc.agent.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: rc.agent.proc.poll() is not None, timeout=20, what="agent exit")
        self.assertEqual(rc.agent.proc.returncode, 0)
        with open(rc.agent.log_path, errors="replace") as f:
            self.assertIn("received SIGTERM again: stopping now", f.read())


if __name__ == "__main__":
    unittest.main()
