"""test_error_pages.py - IngressParameters spec.errorPages, end to end: the
ConfigMap it names (in the agent's namespace) replaces the bodies of the
errors HAProxy produces; each change costs exactly one hitless reload; a bad
key or body is reported and leaves spoke's page for that code only; a
missing ConfigMap brings spoke's pages back. spoke's own pages are checked
in test_routing.

    python3 e2e/run.py e2e -k error_pages
"""
import unittest

from lib import resources as R
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "pages"  # the agent's own namespace here (--namespace)


def ingress_class():
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": "spoke"},
            "spec": {"controller": "spoke.dev/ingress-controller",
                     "parameters": {"apiGroup": "spoke.dev", "kind": "IngressParameters",
                                    "name": "default", "scope": "Cluster"}}}


def parameters(error_pages):
    spec = {"errorPages": {"configMapRef": {"name": error_pages}}} if error_pages else {}
    return {"apiVersion": "spoke.dev/v1alpha1", "kind": "IngressParameters",
            "metadata": {"name": "default", "namespace": NS}, "spec": spec}


def config_map(data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "pages", "namespace": NS}, "data": data}


class ErrorPagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.pods = EchoPods(["127.0.9.21"], cls.port, ["web-1"]).start()
        cls.rc = RoutedCluster("error-pages", extra_args=["--namespace", NS], crd=True).start()
        cls.rc.apply(R.namespace(NS), ingress_class(), parameters(None),
                     R.service(NS, "web", target_port=cls.port),
                     R.endpoint_slice(NS, "web-1", "web", ["127.0.9.21"], cls.port),
                     R.ingress(NS, "web", host="web.example.com", service="web"))
        cls.rc.wait_pod("web.example.com", "/", "web-1")
        cls.rc.wait_synced()

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=[cls.pods])

    def body(self, host="nowhere.example.com"):
        status, body, _ = self.rc.request(host, "/")
        return status, body

    def reloads(self):
        return self.rc.routing()["reloads"]

    def log(self):
        with open(self.rc.agent.log_path, errors="replace") as f:
            return f.read()

    def test_1_pages_from_the_config_map_with_one_reload(self):
        self.assertIn("No route for this host and path.", self.body()[1])
        before = self.reloads()
        self.rc.apply(config_map({"404": "<p>custom 404</p>\n", "999": "x",
                                  "503": "<p>custom 503</p>"}),
                      parameters("pages"))
        wait_until(lambda: self.body() == (404, "<p>custom 404</p>\n"), timeout=30,
                   what="the custom 404 page")
        self.rc.wait_synced()
        self.assertEqual(self.reloads(), before + 1)
        self.assertIn('errorPages: key "999" is not one of', self.log())
        # A route with no endpoint: HAProxy's own 503, with the custom body.
        self.rc.apply(R.endpoint_slice(NS, "web-1", "web", [], self.port))
        wait_until(lambda: self.body("web.example.com") == (503, "<p>custom 503</p>"),
                   timeout=30, what="the custom 503 page")
        self.rc.apply(R.endpoint_slice(NS, "web-1", "web", ["127.0.9.21"], self.port))
        self.rc.wait_pod("web.example.com", "/", "web-1")

    def test_2_a_changed_body_is_served_after_one_more_reload(self):
        before = self.reloads()
        self.rc.apply(config_map({"404": "<p>moved</p>", "503": "<p>custom 503</p>"}))
        wait_until(lambda: self.body() == (404, "<p>moved</p>"), timeout=30,
                   what="the changed 404 page")
        self.rc.wait_synced()
        self.assertEqual(self.reloads(), before + 1)
        self.assertEqual(self.rc.pod_for("web.example.com"), "web-1")

    def test_3_a_missing_config_map_serves_spokes_pages(self):
        self.rc.delete(config_map({}))
        wait_until(lambda: "No route for this host and path." in self.body()[1], timeout=30,
                   what="spoke's 404 page again")
        self.assertIn(f"errorPages: ConfigMap {NS}/pages not found", self.log())


if __name__ == "__main__":
    unittest.main()
