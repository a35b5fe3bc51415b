"""test_annotations.py - per-route behaviour from spoke.dev/ annotations,
done by HAProxy from the routes map without a reload: permanent-redirect,
app-root, timeout-server, the HTTP -> HTTPS redirect of TLS hosts and its
opt-out, and an invalid value that falls back to the default."""
import unittest

from lib import resources as R
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "notes"


def ingress(name, host, annotations=None, tls=False):
    ing = R.ingress(NS, name, host=host, service="web", annotations=annotations)
    if tls:
        ing["spec"]["tls"] = [{"hosts": [host], "secretName": "no-such-secret"}]
    return ing


def rewrite_ingress():
    """/api/... -> /v2/..., the root Prefix "/" -> /root/..., Exact /one -> /."""
    paths = [("/api", "Prefix"), ("/deep/a/b/c", "Prefix"), ("/one", "Exact")]
    ing = R.ingress(NS, "rewrite", host="rw.example.com", service="web",
                    annotations={"spoke.dev/rewrite-target": "/v2/"})
    rule = ing["spec"]["rules"][0]["http"]
    rule["paths"] = [{"path": p, "pathType": t, "backend": rule["paths"][0]["backend"]}
                     for p, t in paths]
    return ing


class AnnotationsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.pods = EchoPods(["127.0.2.1"], cls.port, ["web-1"]).start()
        cls.rc = RoutedCluster("annotations").start()
        cls.rc.apply(
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.service(NS, "web", target_port=cls.port),
            R.endpoint_slice(NS, "web-1", "web", ["127.0.2.1"], cls.port),
            ingress("moved", "moved.example.com",
                    {"spoke.dev/permanent-redirect": "https://new.example.com/landing"}),
            ingress("approot", "app.example.com", {"spoke.dev/app-root": "/app"}),
            ingress("slow", "slow.example.com", {"spoke.dev/timeout-server": "1s"}),
            ingress("secure", "secure.example.com", tls=True),
            ingress("plain-ok", "optout.example.com", {"spoke.dev/ssl-redirect": "false"},
                    tls=True),
            ingress("bad", "bad.example.com", {"spoke.dev/timeout-server": "soon"}),
            rewrite_ingress(),
        )
        cls.rc.wait_synced()
        cls.rc.wait_pod("bad.example.com", "/", "web-1")
        cls.worker = cls.rc.worker_pid()

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=[cls.pods])

    def test_permanent_redirect(self):
        status, _, headers = self.rc.request("moved.example.com", "/old/page")
        self.assertEqual(status, 301)
        self.assertEqual(headers.get("location"), "https://new.example.com/landing")

    def test_app_root(self):
        status, _, headers = self.rc.request("app.example.com", "/")
        self.assertEqual(status, 302)
        self.assertEqual(headers.get("location"), "/app")
        self.assertEqual(self.rc.pod_for("app.example.com", "/app/x"), "web-1")

    def test_rewrite_target(self):
        cases = [("/api", "/v2"), ("/api/", "/v2/"), ("/api/items/7?x=1", "/v2/items/7?x=1"),
                 ("/deep/a/b/c/d", "/v2/d"), ("/one", "/v2")]
        for path, want in cases:
            status, body, _ = self.rc.request("rw.example.com", path)
            self.assertEqual(status, 200, path)
            self.assertEqual(body["path"], want, path)

    def test_timeout_server(self):
        self.assertEqual(self.rc.pod_for("slow.example.com", "/?delay=0.1"), "web-1")
        status, _, _ = self.rc.request("slow.example.com", "/?delay=3")
        self.assertEqual(status, 504)
        # Other routes keep HAProxy's default server timeout.
        self.assertEqual(self.rc.pod_for("bad.example.com", "/?delay=1.5"), "web-1")

    def test_tls_host_redirects_http_to_https(self):
        status, _, headers = self.rc.request("secure.example.com", "/a/b?c=d")
        self.assertEqual(status, 308)
        self.assertEqual(headers.get("location"), "https://secure.example.com/a/b?c=d")
        self.assertEqual(self.rc.pod_for("optout.example.com", "/"), "web-1")

    def test_invalid_value_is_reported_and_route_still_served(self):
        self.assertEqual(self.rc.pod_for("bad.example.com", "/x"), "web-1")
        with open(self.rc.agent.log_path, errors="replace") as f:
            problems = [l for l in f if "Ingress notes/bad" in l]
        self.assertTrue(any("spoke.dev/timeout-server" in l and "soon" in l for l in problems),
                        problems[-3:])
        # ... and as a Kubernetes Event on the Ingress.
        def event():
            events = self.rc.api.ok("GET", f"/api/v1/namespaces/{NS}/events")["items"]
            return [e for e in events if e["involvedObject"]["name"] == "bad"
                    and e["reason"] == "InvalidAnnotation" and "timeout-server" in e["message"]]
        found = wait_until(event, timeout=20, what="an Event on the Ingress")
        self.assertEqual(found[0]["type"], "Warning")
        self.assertEqual(found[0]["involvedObject"]["kind"], "Ingress")

    def test_zz_no_reload(self):
        self.assertEqual(self.rc.worker_pid(), self.worker)
        self.assertEqual(self.rc.routing()["reloads"], 0)


if __name__ == "__main__":
    unittest.main()
