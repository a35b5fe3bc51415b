"""test_routing.py - Ingress objects applied with kubectl become routes that a
real HAProxy serves to echo Pods, and every change (new Ingress, new Service,
scale up/down, Pod replaced, deletion) takes effect without a reload: the
HAProxy worker process stays the same one throughout."""
import unittest

from lib import resources as R
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "shop"


def ingress_class(name="spoke", default=False):
    md = {"name": name}
    if default:
        md["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": md,
            "spec": {"controller": "spoke.dev/ingress-controller"}}


def ingress(name, rules, ingress_class_name="spoke", default_backend=None):
    spec = {"rules": [
        {**({"host": host} if host else {}),
         "http": {"paths": [{"path": path, "pathType": ptype,
                             "backend": {"service": {"name": svc, "port": {"number": 80}}}}
                            for path, ptype, svc in paths]}}
        for host, paths in rules]}
    if ingress_class_name:
        spec["ingressClassName"] = ingress_class_name
    if default_backend:
        spec["defaultBackend"] = {"service": {"name": default_backend, "port": {"number": 80}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


class RoutingTest(unittest.TestCase):
    """One cluster for the class; tests build on each other in order."""

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.pods = EchoPods(["127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4"], cls.port,
                            ["web-1", "web-2", "api-1", "web-3"]).start()
        cls.rc = RoutedCluster("routing").start()
        cls.rc.apply(R.namespace(NS), ingress_class(default=True),
                     R.service(NS, "web", target_port=cls.port),
                     R.service(NS, "api", target_port=cls.port),
                     R.endpoint_slice(NS, "web-1", "web", ["127.0.1.1", "127.0.1.2"], cls.port),
                     R.endpoint_slice(NS, "api-1", "api", ["127.0.1.3"], cls.port))
        cls.rc.apply(ingress("shop", [
            ("shop.example.com", [("/", "Prefix", "web"), ("/api", "Prefix", "api"),
                                  ("/exact", "Exact", "api")]),
            ("*.wild.example.com", [("/", "Prefix", "api")]),
        ]))
        cls.rc.wait_synced()
        cls.rc.wait_pod("shop.example.com", "/api", "api-1")
        cls.worker = cls.rc.worker_pid()

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=[cls.pods])

    def assert_no_reload(self):
        self.assertEqual(self.rc.worker_pid(), self.worker, "HAProxy was reloaded")
        self.assertEqual(self.rc.routing()["reloads"], 0)

    def test_01_round_robin_over_ready_pods(self):
        seen = {self.rc.pod_for("shop.example.com", "/") for _ in range(6)}
        self.assertEqual(seen, {"web-1", "web-2"})

    def test_02_path_matching_follows_kubernetes(self):
        cases = [
            ("/api", "api-1"), ("/api/", "api-1"), ("/api/v1/items", "api-1"),
            ("/apis", {"web-1", "web-2"}),        # not a path-element prefix of /api
            ("/exact", "api-1"), ("/exact/more", {"web-1", "web-2"}),  # Exact only
            ("/", {"web-1", "web-2"}), ("/anything/else", {"web-1", "web-2"}),
            ("/api?x=1", "api-1"),
        ]
        for path, want in cases:
            got = self.rc.pod_for("shop.example.com", path)
            if isinstance(want, set):
                self.assertIn(got, want, path)
            else:
                self.assertEqual(got, want, path)

    def test_03_hosts_case_port_and_wildcard(self):
        self.assertEqual(self.rc.pod_for("SHOP.Example.COM:8080", "/api"), "api-1")
        self.assertEqual(self.rc.pod_for("a.wild.example.com", "/x"), "api-1")
        self.assertEqual(self.rc.pod_for("b.a.wild.example.com", "/x"), 404)  # one label only
        self.assertEqual(self.rc.pod_for("wild.example.com", "/x"), 404)
        self.assertEqual(self.rc.pod_for("unknown.example.com", "/"), 404)
        # spoke's error page (agent/src/haproxy/error_pages.c), as HTML.
        status, body, headers = self.rc.request("unknown.example.com", "/")
        self.assertEqual(status, 404)
        ctype = {k.lower(): v for k, v in headers.items()}["content-type"]
        self.assertTrue(ctype.startswith("text/html"), headers)
        self.assertIn("No route for this host and path.", body)

    def test_04_scale_up_and_down_without_reload(self):
        self.rc.apply(R.endpoint_slice(NS, "web-1", "web",
                                       ["127.0.1.1", "127.0.1.2", "127.0.1.4"], self.port))
        wait_until(lambda: "web-3" in {self.rc.pod_for("shop.example.com", "/")
                                       for _ in range(6)}, timeout=20, what="web-3 serving")
        self.rc.apply(R.endpoint_slice(NS, "web-1", "web", ["127.0.1.4"], self.port))
        self.rc.wait_synced()
        wait_until(lambda: {self.rc.pod_for("shop.example.com", "/") for _ in range(4)}
                   == {"web-3"}, timeout=20, what="only web-3 serving")
        self.assert_no_reload()

    def test_05_not_ready_and_terminating_endpoints_get_no_new_requests(self):
        es = R.endpoint_slice(NS, "web-1", "web", ["127.0.1.1", "127.0.1.4"], self.port)
        es["endpoints"][1]["conditions"] = {"ready": False, "serving": True, "terminating": True}
        self.rc.apply(es)
        self.rc.wait_synced()
        wait_until(lambda: {self.rc.pod_for("shop.example.com", "/") for _ in range(4)}
                   == {"web-1"}, timeout=20, what="only the ready pod serving")
        es["endpoints"][0]["conditions"] = {"ready": False}
        es["endpoints"][1]["conditions"] = {"ready": False}
        self.rc.apply(es)
        self.rc.wait_synced()
        wait_until(lambda: self.rc.pod_for("shop.example.com", "/") == 503, timeout=20,
                   what="no ready endpoint -> 503")
        self.rc.apply(R.endpoint_slice(NS, "web-1", "web", ["127.0.1.1", "127.0.1.2"], self.port))
        self.rc.wait_pod("shop.example.com", "/", "web-1")
        self.assert_no_reload()

    def test_06_new_ingress_and_service_without_reload(self):
        self.rc.apply(R.service(NS, "blog", target_port=self.port),
                      R.endpoint_slice(NS, "blog-1", "blog", ["127.0.1.3"], self.port),
                      ingress("blog", [("blog.example.com", [("/", "Prefix", "blog")])]))
        self.rc.wait_pod("blog.example.com", "/post/1", "api-1")
        self.assert_no_reload()

    def test_07_missing_service_answers_503_and_others_keep_working(self):
        self.rc.apply(ingress("broken", [("broken.example.com", [("/", "Prefix", "nosuch")])]))
        self.rc.wait_synced()
        wait_until(lambda: self.rc.pod_for("broken.example.com", "/") == 503, timeout=20,
                   what="route to a missing Service -> 503")
        status, body, _ = self.rc.request("broken.example.com", "/")
        self.assertIn("The service of this route is not available.", body)
        self.assertEqual(self.rc.pod_for("shop.example.com", "/api"), "api-1")

    def test_08_other_classes_are_not_served(self):
        self.rc.apply(ingress("other", [("other.example.com", [("/", "Prefix", "web")])],
                              ingress_class_name="nginx"))
        self.rc.wait_synced()
        self.assertEqual(self.rc.pod_for("other.example.com", "/"), 404)

    def test_09_ingress_deleted_route_gone(self):
        self.rc.delete(ingress("blog", []))
        wait_until(lambda: self.rc.pod_for("blog.example.com", "/") == 404, timeout=20,
                   what="deleted Ingress -> 404")
        self.assert_no_reload()

    def test_10_haproxy_killed_comes_back_with_the_same_routes(self):
        master = self.rc.routing()["haproxy_pid"]
        import os
        import signal
        os.kill(master, signal.SIGKILL)
        wait_until(lambda: self.rc.routing()["haproxy_pid"] not in (master, -1), timeout=20,
                   what="HAProxy restarted by the agent")
        wait_until(lambda: self._answers(), timeout=20, what="routes served after restart")
        self.assertEqual(self.rc.pod_for("shop.example.com", "/api"), "api-1")
        self.assertIn(self.rc.pod_for("shop.example.com", "/"), {"web-1", "web-2"})
        self.worker = self.rc.worker_pid()
        type(self).worker = self.worker

    def test_11_agent_killed_haproxy_keeps_serving_then_is_adopted(self):
        worker = self.rc.worker_pid()
        self.rc.agent.proc.kill()  # SIGKILL: no clean-up at all
        self.rc.agent.proc.wait()
        self.rc.agent.proc = None
        # HAProxy does not depend on the agent to serve.
        for _ in range(5):
            self.assertEqual(self.rc.pod_for("shop.example.com", "/api"), "api-1")
        self.rc.agent.start()
        self.rc.agent.wait_synced()
        self.rc.wait_synced()
        self.rc.apply(R.service(NS, "late", target_port=self.port),
                      R.endpoint_slice(NS, "late-1", "late", ["127.0.1.2"], self.port),
                      ingress("late", [("late.example.com", [("/", "Prefix", "late")])]))
        self.rc.wait_pod("late.example.com", "/", "web-2")
        self.assertEqual(self.rc.worker_pid(), worker, "the restarted agent reloaded HAProxy")
        with open(self.rc.agent.log_path, errors="replace") as f:
            self.assertIn("adopted the running HAProxy", f.read())

    def test_12_named_port_merge_defaults_and_impl_specific(self):
        named = ingress("named", [("named.example.com", [("/", "Prefix", "api")])])
        named["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] = {
            "name": "http"}
        merged = ingress("merge-extra", [("shop.example.com", [("/extra", "Prefix", "api")])])
        impl = ingress("impl", [("impl.example.com", [("/docs", "ImplementationSpecific",
                                                       "api")])])
        with_default = ingress("with-default",
                               [("dflt.example.com", [("/only", "Exact", "web")])],
                               default_backend="api")
        self.rc.apply(named, merged, impl, with_default)
        self.rc.wait_pod("named.example.com", "/", "api-1")
        # Rules of one host from two Ingresses merge.
        self.rc.wait_pod("shop.example.com", "/extra/1", "api-1")
        self.assertEqual(self.rc.pod_for("shop.example.com", "/api"), "api-1")
        # ImplementationSpecific is matched as Prefix. (The four Ingresses may
        # reach the agent in more than one batch: wait for each.)
        self.rc.wait_pod("impl.example.com", "/docs/x", "api-1")
        self.rc.wait_pod("dflt.example.com", "/other", "api-1")
        self.assertEqual(self.rc.pod_for("impl.example.com", "/docsx"), 404)
        # An Ingress's defaultBackend catches the rest of its host.
        self.assertIn(self.rc.pod_for("dflt.example.com", "/only"), {"web-1", "web-2"})
        self.assertEqual(self.rc.pod_for("dflt.example.com", "/other"), "api-1")

    def _answers(self):
        try:
            return self.rc.pod_for("shop.example.com", "/api") == "api-1"
        except OSError:
            return False


class ExternalNameTest(unittest.TestCase):
    """An ExternalName Service: the agent resolves the name (HAProxy 2.6 gives
    dynamic servers no DNS) and serves its addresses."""

    def test_external_name_is_resolved_and_served(self):
        port = free_port()
        pods = EchoPods(["127.0.0.1", "::1"], port, ["ext-v4", "ext-v6"]).start()
        rc = RoutedCluster("external-name").start()
        try:
            svc = {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "outside", "namespace": "ext"},
                   "spec": {"type": "ExternalName", "externalName": "localhost",
                            "ports": [{"name": "http", "port": port}]}}
            rc.apply(R.namespace("ext"), ingress_class(), svc,
                     R.ingress("ext", "outside", host="outside.example.com", service="outside",
                               port=port))
            wait_until(lambda: rc.pod_for("outside.example.com", "/") in ("ext-v4", "ext-v6"),
                       timeout=20, what="ExternalName served")
            seen = {rc.pod_for("outside.example.com", "/") for _ in range(6)}
            self.assertTrue(seen <= {"ext-v4", "ext-v6"}, seen)
            self.assertEqual(rc.routing()["reloads"], 0)
        finally:
            rc.stop(also=[pods])


class AttachedModeTest(unittest.TestCase):
    """Without --manage-haproxy: HAProxy is started by someone else (the
    sidecar layout) from the configuration the agent renders, and the agent
    drives it through the runtime API once it is there."""

    def test_agent_drives_an_haproxy_it_did_not_start(self):
        port = free_port()
        pods = EchoPods(["127.0.1.10"], port, ["side-1"]).start()
        rc = RoutedCluster("attached", attached=True).start()
        try:
            rc.apply(R.namespace("side"), ingress_class(),
                     R.service("side", "web", target_port=port),
                     R.endpoint_slice("side", "web-1", "web", ["127.0.1.10"], port),
                     R.ingress("side", "web", host="side.example.com", service="web"))
            rc.wait_pod("side.example.com", "/", "side-1", timeout=30)
            self.assertEqual(rc.routing()["haproxy_pid"], 0)  # not ours
        finally:
            rc.stop(also=[pods])


class ControllerDefaultBackendTest(unittest.TestCase):
    """--default-backend-service: where requests matching no rule go."""

    def test_unmatched_requests_go_to_the_default_service(self):
        port = free_port()
        pods = EchoPods(["127.0.1.9"], port, ["fallback-1"]).start()
        rc = RoutedCluster("default-backend", extra_args=[
            "--default-backend-service", "fb/fallback"]).start()
        try:
            rc.apply(R.namespace("fb"), ingress_class(),
                     R.service("fb", "fallback", target_port=port))
            rc.wait_synced()
            # The Service has no endpoint yet: 503, not 404.
            wait_until(lambda: rc.pod_for("nobody.example.com", "/") == 503, timeout=20,
                       what="default backend without endpoints -> 503")
            rc.apply(R.endpoint_slice("fb", "fallback-1", "fallback", ["127.0.1.9"], port))
            rc.wait_pod("nobody.example.com", "/x", "fallback-1")
        finally:
            rc.stop(also=[pods])


if __name__ == "__main__":
    unittest.main()
