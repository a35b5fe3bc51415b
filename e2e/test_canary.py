"""test_canary.py - canary Ingresses through a real HAProxy: a main Ingress
sends a host to Service web (Pod main-1), a second Ingress with
spoke.dev/canary: "true" for the same host and path sends some requests to
Service web-canary (Pod canary-1), as the agent's SPOE responder decides:
by header (always/never, an exact value, a pattern), by cookie, by weight
(0, 100, 30 over 400 requests), header > cookie > weight. Removing the
canary annotation or the canary Ingress brings traffic back to main without
a reload; with the agent killed a canary route still serves main while an
auth route denies."""
import unittest

from lib import resources as R
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "canary"
MAIN, CANARY = "main-1", "canary-1"


def main_ingress(name, host, annotations=None):
    return R.ingress(NS, name, host=host, service="web", annotations=annotations)


def canary_ingress(name, host, **settings):
    ann = {"spoke.dev/canary": "true"}
    ann.update({"spoke.dev/canary-" + k.replace("_", "-"): str(v) for k, v in settings.items()})
    return R.ingress(NS, name, host=host, service="web-canary", annotations=ann)


# host -> canary settings: Ingress "<name>" is the main one, "<name>-canary"
# the canary (so that between two Ingresses of the same second, the main one
# is the older by name too).
CANARIES = {
    "header": dict(by_header="X-Canary"),
    "value": dict(by_header="X-Canary", by_header_value="beta users"),
    "pattern": dict(by_header="X-Canary", by_header_pattern="^v[0-9]+(-rc)?$"),
    "cookie": dict(by_cookie="canary"),
    "w0": dict(weight=0),
    "w100": dict(weight=100),
    "w30": dict(weight=30),
    "wtotal": dict(weight=3, weight_total=3),
    "both": dict(weight=100, by_header="X-Canary", by_cookie="canary"),
    "unannotate": dict(weight=100),
    "delete": dict(weight=100),
    "agent": dict(weight=100),
}


def host(name):
    return f"{name}.canary.example.com"


class CanaryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.pods = EchoPods(["127.0.12.1", "127.0.12.2"], cls.port, [MAIN, CANARY]).start()
        cls.rc = RoutedCluster("canary").start()
        objs = [
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.service(NS, "web", target_port=cls.port),
            R.endpoint_slice(NS, "web-1", "web", ["127.0.12.1"], cls.port),
            R.service(NS, "web-canary", target_port=cls.port),
            R.endpoint_slice(NS, "web-canary-1", "web-canary", ["127.0.12.2"], cls.port),
            # An auth route, to compare with when the agent is gone.
            main_ingress("locked", host("locked"),
                         {"spoke.dev/whitelist-source-range": "127.0.0.0/8"}),
            # A canary for a host nobody serves: reported, serves nothing.
            canary_ingress("orphan", host("orphan"), weight=100),
        ]
        # Main Ingresses first: the canaries are younger, as in real life
        # (the model does not depend on it).
        objs += [main_ingress(name, host(name)) for name in CANARIES]
        cls.rc.apply(*objs)
        cls.rc.apply(*[canary_ingress(f"{name}-canary", host(name), **s)
                       for name, s in CANARIES.items()])
        cls.rc.wait_synced()
        wait_until(lambda: cls.pod(host("w100")) == CANARY, timeout=30,
                   what="the weight-100 canary serves")
        wait_until(lambda: cls.pod(host("locked")) == MAIN, timeout=30,
                   what="the auth route serves")
        cls.worker = cls.rc.worker_pid()
        cls.reloads = cls.rc.routing()["reloads"]

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=[cls.pods])

    @classmethod
    def pod(cls, h, headers=None):
        status, body, _ = cls.rc.request(h, "/", headers=headers)
        return body["pod"] if status == 200 and isinstance(body, dict) else status

    def pods_of(self, h, n, headers=None):
        return [self.pod(h, headers) for _ in range(n)]

    def assert_all(self, h, want, headers=None, n=20):
        got = self.pods_of(h, n, headers)
        self.assertEqual(got, [want] * n, f"{h} {headers}")

    def assert_no_reload(self):
        self.assertEqual(self.rc.worker_pid(), self.worker, "HAProxy was reloaded")
        self.assertEqual(self.rc.routing()["reloads"], self.reloads)

    def test_map_flags_only_canary_routes(self):
        out = self.rc.haproxy_cli(f"show map {self.rc.state}/maps/routes.map")
        lines = {line.split(" ")[1]: line.split(" ", 2)[2] for line in out.strip().splitlines()
                 if line.count(" ") >= 2}
        w30 = lines["^" + host("w30") + "/"].split("|")
        self.assertIn("c", w30[2])
        self.assertNotEqual(w30[8], "")
        self.assertNotEqual(w30[8], w30[0])
        locked = lines["^" + host("locked") + "/"].split("|")
        self.assertNotIn("c", locked[2])
        self.assertEqual(locked[8], "")
        self.assertNotIn("^" + host("orphan") + "/", lines)
        self.assertEqual(self.rc.pod_for(host("orphan")), 404)

    def test_by_header(self):
        h = host("header")
        self.assert_all(h, CANARY, {"X-Canary": "always"})
        self.assert_all(h, MAIN, {"X-Canary": "never"})
        self.assert_all(h, MAIN, {"X-Canary": "sometimes"})
        self.assert_all(h, MAIN)

    def test_by_header_value(self):
        h = host("value")
        self.assert_all(h, CANARY, {"X-Canary": "beta users"})
        self.assert_all(h, MAIN, {"X-Canary": "beta"})
        self.assert_all(h, MAIN, {"X-Canary": "always"})
        self.assert_all(h, MAIN)

    def test_by_header_pattern(self):
        h = host("pattern")
        self.assert_all(h, CANARY, {"X-Canary": "v42"})
        self.assert_all(h, CANARY, {"X-Canary": "v7-rc"})
        self.assert_all(h, MAIN, {"X-Canary": "v7-rc2"})
        self.assert_all(h, MAIN, {"X-Canary": "always"})

    def test_by_cookie(self):
        h = host("cookie")
        self.assert_all(h, CANARY, {"Cookie": "canary=always"})
        self.assert_all(h, CANARY, {"Cookie": "theme=dark; canary=always; lang=en"})
        self.assert_all(h, MAIN, {"Cookie": "canary=never"})
        self.assert_all(h, MAIN, {"Cookie": "xcanary=always"})
        self.assert_all(h, MAIN)

    def test_weights_0_and_100(self):
        self.assert_all(host("w0"), MAIN, n=50)
        self.assert_all(host("w100"), CANARY, n=50)
        self.assert_all(host("wtotal"), CANARY, n=50)

    def test_weight_30(self):
        n = 400
        got = self.pods_of(host("w30"), n)
        self.assertEqual(set(got) - {MAIN, CANARY}, set())
        canary = got.count(CANARY)
        # Binomial(400, 0.3): mean 120, sd 9.2; 5 sd either side fails
        # about once in 1.7 million runs.
        self.assertTrue(74 <= canary <= 166, f"{canary} of {n} to the canary")

    def test_precedence_header_cookie_weight(self):
        h = host("both")  # weight 100, header X-Canary, cookie canary
        self.assert_all(h, CANARY)
        self.assert_all(h, MAIN, {"Cookie": "canary=never"})
        self.assert_all(h, CANARY, {"Cookie": "canary=other"})
        self.assert_all(h, CANARY, {"X-Canary": "always", "Cookie": "canary=never"})
        self.assert_all(h, MAIN, {"X-Canary": "never", "Cookie": "canary=always"})
        self.assert_all(h, MAIN, {"X-Canary": "maybe", "Cookie": "canary=never"})

    def test_y_removing_the_canary_returns_to_main_without_reload(self):
        self.assert_all(host("unannotate"), CANARY)
        self.assert_all(host("delete"), CANARY)
        # Without its canary annotation the Ingress is a second, younger
        # Ingress for the same host and path: a conflict, main wins.
        self.rc.apply(R.ingress(NS, "unannotate-canary", host=host("unannotate"),
                                service="web-canary"))
        self.rc.delete(canary_ingress("delete-canary", host("delete")))
        wait_until(lambda: self.pods_of(host("unannotate"), 5) == [MAIN] * 5, timeout=20,
                   what="unannotated canary back to main")
        wait_until(lambda: self.pods_of(host("delete"), 5) == [MAIN] * 5, timeout=20,
                   what="deleted canary back to main")
        self.rc.wait_synced()
        self.assert_all(host("unannotate"), MAIN)
        self.assert_all(host("delete"), MAIN)
        self.assert_no_reload()

    def test_zz_agent_killed_canary_serves_main_auth_denies(self):
        self.assert_all(host("agent"), CANARY)
        self.assertEqual(self.pod(host("locked")), MAIN)
        self.rc.agent.proc.kill()
        self.rc.agent.proc.wait()
        self.rc.agent.proc = None
        wait_until(lambda: self.pod(host("locked")) == 503, timeout=20,
                   what="auth route denied without the agent")
        # Fail open to main: no answer is no canary.
        self.assert_all(host("agent"), MAIN)
        self.assert_all(host("both"), MAIN, {"X-Canary": "always"})
        self.rc.agent.start()
        self.rc.agent.wait_synced()
        wait_until(lambda: self.pod(host("agent")) == CANARY, timeout=30,
                   what="canary served again")
        wait_until(lambda: self.pod(host("locked")) == MAIN, timeout=30,
                   what="auth route served again")
        self.assertEqual(self.rc.worker_pid(), self.worker, "HAProxy was reloaded")


if __name__ == "__main__":
    unittest.main()
