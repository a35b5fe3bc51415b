"""test_zero_reload.py - 200 changes of every kind (Ingresses created,
changed and deleted, Services and EndpointSlices added, endpoints scaled up
and down) while wrk keeps a steady load on an unrelated route: HAProxy's
worker process and the agent's reload counter never change, wrk sees no
failed request, and every change ends up served."""
import os
import re
import signal
import subprocess
import unittest

from lib import resources as R
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "churn"
PODS = ["127.0.3.1", "127.0.3.2", "127.0.3.3", "127.0.3.4"]


def ingress(name, host, service, path="/"):
    return R.ingress(NS, name, host=host, service=service, path=path)


class ZeroReloadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.pods = EchoPods(PODS, cls.port, [f"pod-{i}" for i in range(1, 5)]).start()
        cls.rc = RoutedCluster("zero-reload").start()
        cls.rc.apply(
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.service(NS, "stable", target_port=cls.port),
            R.endpoint_slice(NS, "stable-1", "stable", PODS[:2], cls.port),
            R.service(NS, "web", target_port=cls.port),
            R.endpoint_slice(NS, "web-1", "web", PODS[2:3], cls.port),
            ingress("stable", "stable.example.com", "stable"))
        cls.rc.wait_pod("stable.example.com", "/", "pod-1")

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=[cls.pods])

    def create(self, kind, obj):
        self.rc.api.ok("POST", R.collection_path(kind, NS), obj)

    def replace(self, kind, obj):
        path = R.object_path(kind, NS, obj["metadata"]["name"])
        current = self.rc.api.ok("GET", path)
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        self.rc.api.ok("PUT", path, obj)

    def delete(self, kind, name):
        self.rc.api.ok("DELETE", R.object_path(kind, NS, name))

    def changes(self):
        """Yields after each of 200 changes."""
        for i in range(50):
            self.create("Ingress", ingress(f"app-{i}", f"app-{i}.example.com", "web"))
            yield
        for i in range(50):
            self.replace("Ingress", ingress(f"app-{i}", f"app-{i}.example.com", "web", "/v2"))
            yield
        for i in range(15):
            self.create("Service", R.service(NS, f"svc-{i}", target_port=self.port))
            yield
            self.create("EndpointSlice", R.endpoint_slice(NS, f"svc-{i}-1", f"svc-{i}",
                                                          [PODS[3]], self.port))
            yield
        for i in range(40):
            self.replace("EndpointSlice", R.endpoint_slice(
                NS, "web-1", "web", PODS[2:4] if i % 2 == 0 else PODS[2:3], self.port))
            yield
        for i in range(30):
            self.delete("Ingress", f"app-{i}")
            yield

    def test_200_changes_under_load(self):
        worker = self.rc.worker_pid()
        wrk = subprocess.Popen(
            ["wrk", "-t1", "-c4", "-d300s", "-H", "Host: stable.example.com",
             f"http://127.0.0.1:{self.rc.http_port}/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            n = sum(1 for _ in self.changes())
            self.assertEqual(n, 200)
            self.rc.wait_synced(timeout=60)
        finally:
            wrk.send_signal(signal.SIGINT)
            out, _ = wrk.communicate(timeout=30)
        print("# " + "\n# ".join(out.strip().splitlines()))
        total = int(re.search(r"(\d+) requests in", out).group(1))
        self.assertGreater(total, 100, "wrk sent too few requests to prove anything")
        self.assertNotIn("Non-2xx", out)
        self.assertNotIn("Socket errors", out)

        self.assertEqual(self.rc.worker_pid(), worker, "HAProxy was reloaded")
        self.assertEqual(self.rc.routing()["reloads"], 0)
        # Every change is served: updated paths, deletions, new endpoints.
        self.assertEqual(self.rc.pod_for("app-40.example.com", "/v2/x"), "pod-3")
        self.assertEqual(self.rc.pod_for("app-40.example.com", "/x"), 404)
        self.assertEqual(self.rc.pod_for("app-10.example.com", "/v2"), 404)
        wait_until(lambda: {self.rc.pod_for("app-45.example.com", "/v2") for _ in range(4)}
                   == {"pod-3"}, timeout=20, what="web scaled back to one pod")


if __name__ == "__main__":
    unittest.main()
