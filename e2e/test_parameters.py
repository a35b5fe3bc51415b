"""test_parameters.py - IngressParameters applied by the agent, end to end:
the CRD installed, an IngressClass naming a namespaced object, and a real
HAProxy. maxconn changes live (same worker, `show info` says so); a field
that only haproxy.cfg can carry (HSTS) costs exactly one hitless reload and
shows on real HTTPS responses; invalid values (the test API server does not
validate schemas, so they reach the agent) are reported in status and never
reach haproxy.cfg; realIP trusts X-Forwarded-For from trusted proxies only,
for the source-range checks too; deleting the object brings the defaults
back. Status carries observedGeneration, lastApplied and the conditions."""
import http.client
import os
import ssl
import threading
import unittest

from lib import resources as R
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "params"
PARAMS_PATH = f"/apis/spoke.dev/v1alpha1/namespaces/{NS}/ingressparameters/p"


def ingress_class():
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": "spoke"},
            "spec": {"controller": "spoke.dev/ingress-controller",
                     "parameters": {"apiGroup": "spoke.dev", "kind": "IngressParameters",
                                    "name": "p", "scope": "Namespace", "namespace": NS}}}


def parameters(spec):
    return {"apiVersion": "spoke.dev/v1alpha1", "kind": "IngressParameters",
            "metadata": {"name": "p", "namespace": NS}, "spec": spec}


class Load:
    """Requests in a loop on fresh connections; counts what did not succeed."""

    def __init__(self, port, host):
        self.port, self.host = port, host
        self.ok = self.failed = 0
        self.errors = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                c.request("GET", "/", headers={"Host": self.host})
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    self.ok += 1
                else:
                    self.failed += 1
                    self.errors.append(r.status)
            except OSError as e:
                self.failed += 1
                self.errors.append(repr(e))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=20)


class ParametersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.pods = EchoPods(["127.0.9.1"], cls.port, ["web-1"]).start()
        cls.rc = RoutedCluster("params", crd=True).start()
        rc = cls.rc
        rc.apply(R.namespace(NS), ingress_class(),
                 R.service(NS, "web", target_port=cls.port),
                 R.endpoint_slice(NS, "web-1", "web", ["127.0.9.1"], cls.port),
                 R.ingress(NS, "web", host="web.example.com", service="web"),
                 R.ingress(NS, "office", host="office.example.com", service="web",
                           annotations={"spoke.dev/whitelist-source-range": "10.1.0.0/16"}))
        rc.apply(parameters({"maxconn": 2000, "timeouts": {"server": "30s"}}))
        rc.wait_pod("web.example.com", "/", "web-1")
        cls.wait_generation(1)

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=[cls.pods])

    # --- helpers --------------------------------------------------------------------------

    @classmethod
    def status(cls):
        return cls.rc.api.ok("GET", PARAMS_PATH).get("status") or {}

    @classmethod
    def wait_generation(cls, gen, timeout=30):
        """Status describes generation gen; returns it."""
        wait_until(lambda: cls.status().get("observedGeneration") == gen, timeout=timeout,
                   what=f"status.observedGeneration {gen}")
        return cls.status()

    def patch(self, spec):
        obj = self.rc.api.ok("PATCH", PARAMS_PATH, {"spec": spec},
                             content_type="application/merge-patch+json")
        return obj["metadata"]["generation"]

    def conditions(self, st):
        return {c["type"]: c for c in st["conditions"]}

    def info(self, key):
        for line in self.rc.haproxy_cli("show info").splitlines():
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
        raise AssertionError(f"no {key} in show info")

    def cfg(self):
        with open(os.path.join(self.rc.state, "haproxy.cfg")) as f:
            return f.read()

    def https_headers(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection("127.0.0.1", self.rc.https_port, timeout=10, context=ctx)
        try:
            c.request("GET", "/", headers={"Host": "web.example.com"})
            r = c.getresponse()
            r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()

    # --- tests, in order ------------------------------------------------------------------

    def test_1_initial_parameters_applied(self):
        st = self.status()
        cond = self.conditions(st)
        self.assertEqual(cond["Accepted"]["status"], "True")
        self.assertEqual(cond["Applied"]["status"], "True")
        self.assertEqual(st["lastApplied"]["method"], "Reload")  # from HAProxy's own maxconn
        # The new worker takes over the stats socket a moment after the reload.
        wait_until(lambda: self.info("Maxconn") == "2000", what="new worker with maxconn 2000")
        self.assertIn("timeout server 30000ms", self.cfg())

    def test_2_maxconn_changes_live(self):
        worker = self.rc.worker_pid()
        reloads = self.rc.routing()["reloads"]
        gen = self.patch({"maxconn": 1500})
        st = self.wait_generation(gen)
        self.assertEqual(st["lastApplied"]["method"], "RuntimeAPI")
        self.assertEqual(self.conditions(st)["Applied"]["reason"], "RuntimeAPI")
        self.assertEqual(self.info("Maxconn"), "1500")
        self.assertEqual(self.rc.worker_pid(), worker)
        self.assertEqual(self.rc.routing()["reloads"], reloads)
        self.assertIn("    maxconn 1500\n", self.cfg())  # a restart keeps it

    def test_3_maxconn_above_the_started_limit_reloads(self):
        reloads = self.rc.routing()["reloads"]
        gen = self.patch({"maxconn": 4000})  # HAProxy started with 2000: refused live
        st = self.wait_generation(gen)
        self.assertEqual(st["lastApplied"]["method"], "Reload")
        self.assertEqual(self.rc.routing()["reloads"], reloads + 1)
        wait_until(lambda: self.info("Maxconn") == "4000", what="new worker with maxconn 4000")

    def test_4_hsts_costs_one_hitless_reload(self):
        status, headers = self.https_headers()
        self.assertEqual(status, 200)
        self.assertNotIn("strict-transport-security", headers)
        before = self.status()
        accepted_since = self.conditions(before)["Accepted"]["lastTransitionTime"]
        reloads = self.rc.routing()["reloads"]
        worker = self.rc.worker_pid()
        with Load(self.rc.http_port, "web.example.com") as load:
            gen = self.patch({"hsts": {"enabled": True, "maxAge": 600,
                                       "includeSubDomains": True}})
            st = self.wait_generation(gen)
            wait_until(lambda: self.rc.worker_pid() != worker, what="new HAProxy worker")
            wait_until(lambda: load.ok > 50, what="requests after the reload")
        print(f"# {load.ok} requests during the reload, {load.failed} failed {load.errors[:5]}")
        self.assertEqual(load.failed, 0)
        self.assertEqual(st["lastApplied"]["method"], "Reload")
        self.assertEqual(self.rc.routing()["reloads"], reloads + 1)
        status, headers = self.https_headers()
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("strict-transport-security"),
                         "max-age=600; includeSubDomains")
        # Plain HTTP responses do not carry it.
        self.assertNotIn("Strict-Transport-Security", self.rc.request("web.example.com")[2])
        # Accepted did not change: its lastTransitionTime neither.
        self.assertEqual(self.conditions(st)["Accepted"]["lastTransitionTime"], accepted_since)
        self.assertIn("reason: parameters", open(self.rc.agent.log_path, errors="replace").read())

    def test_5_invalid_values_are_reported_and_never_applied(self):
        reloads = self.rc.routing()["reloads"]
        cfg = self.cfg()
        gen = self.patch({"timeouts": {"server": "10s\n    timeout client 1ms"},
                          "loadBalance": "fastest", "maxconn": -5})
        st = self.wait_generation(gen)
        accepted = self.conditions(st)["Accepted"]
        self.assertEqual((accepted["status"], accepted["reason"]), ("False", "InvalidValues"))
        self.assertIn("spec.timeouts.server: must be a duration", accepted["message"])
        self.assertIn("spec.loadBalance: must be one of", accepted["message"])
        self.assertIn("spec.maxconn: must be an integer", accepted["message"])
        self.assertEqual(accepted["observedGeneration"], gen)
        # The running values stay: nothing HAProxy runs changed.
        self.assertEqual(self.conditions(st)["Applied"]["reason"], "None")
        self.assertEqual(self.rc.routing()["reloads"], reloads)
        self.assertEqual(self.cfg(), cfg)
        self.assertIn("timeout server 30000ms", cfg)
        self.assertNotIn("timeout client 1ms", cfg)
        self.assertEqual(self.info("Maxconn"), "4000")
        self.assertEqual(self.rc.pod_for("web.example.com"), "web-1")
        # Fixed: Accepted again.
        gen = self.patch({"timeouts": {"server": "30s"}, "loadBalance": None, "maxconn": 4000})
        st = self.wait_generation(gen)
        self.assertEqual(self.conditions(st)["Accepted"]["status"], "True")

    def test_6_real_ip_from_trusted_proxies_only(self):
        def office(xff):
            return self.rc.request("office.example.com", headers={"X-Forwarded-For": xff})[0]
        # Not trusted yet: the connection's own address (127.0.0.1) decides.
        self.assertEqual(office("10.1.2.3"), 403)
        gen = self.patch({"realIP": {"trustedProxies": ["127.0.0.0/8"]}})
        st = self.wait_generation(gen)
        self.assertEqual(st["lastApplied"]["method"], "Reload")
        wait_until(lambda: office("10.1.2.3") == 200, what="trusted X-Forwarded-For allowed")
        self.assertEqual(office("10.2.0.1"), 403)
        # The last address that is not a trusted proxy is the client.
        self.assertEqual(office("10.2.0.1, 127.0.0.9"), 403)
        self.assertEqual(office("10.2.0.1, 10.1.2.3"), 200)
        self.assertEqual(office("not-an-address"), 403)

    def test_7_deleted_parameters_bring_the_defaults_back(self):
        reloads = self.rc.routing()["reloads"]
        self.rc.api.ok("DELETE", PARAMS_PATH)
        wait_until(lambda: "    maxconn" not in self.cfg(), what="haproxy.cfg without maxconn")
        wait_until(lambda: "strict-transport-security" not in self.https_headers()[1],
                   what="HSTS gone")
        self.assertEqual(self.rc.routing()["reloads"], reloads + 1)
        self.assertIn("timeout server 60000ms", self.cfg())
        self.assertEqual(self.rc.request("office.example.com",
                                         headers={"X-Forwarded-For": "10.1.2.3"})[0], 403)
        self.assertEqual(self.rc.pod_for("web.example.com"), "web-1")

    def test_8_status_writes_are_in_the_rbac_table(self):
        """The agent's requests of this whole run (IngressParameters status
        included, which the bundle's RBAC test cannot see: its agent runs
        without HAProxy) are all granted by the RBAC table of
        test_manifests; "own" calls go to the agent's own namespace."""
        import test_manifests as M
        with open(self.rc.api.log_path, errors="replace") as f:
            calls = {c for c in map(M.call_from_log, f) if c}
        self.assertTrue({("patch", "spoke.dev", "ingressparameters/status", NS),
                         ("update", "spoke.dev", "ingressparameters/status", NS)} & calls, calls)
        table = M.agent_calls()
        for verb, group, resource, where in sorted(calls, key=str):
            self.assertTrue((verb, group, resource, "cluster") in table or
                            (where == "default" and (verb, group, resource, "own") in table),
                            f"{verb} {group}/{resource} in {where or '-'} is not granted")


if __name__ == "__main__":
    unittest.main()
