"""test_profiles.py - the annotations that choose a backend profile (a pool
backend declared with other settings): backend-protocol h2 and https,
load-balance, and cookie affinity. A profile seen for the first time costs
one hitless reload (a new pool); then its Services come and go without one."""
import os
import unittest

from lib import resources as R
from lib.certs import make_cert
from lib.haproxy_pod import HaproxyPod
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "profiles"


class ProfilesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rc = RoutedCluster("profiles").start()
        work = cls.rc.work
        cert, key = make_cert(work, "pod", ["pod.local"])
        pem = os.path.join(work, "pod.pem")
        with open(pem, "w") as f:
            f.write(open(cert).read() + open(key).read())
        cls.port = free_port()
        cls.pods = [
            HaproxyPod(work, "h2-1", "127.0.10.1", cls.port, "h2").start(),
            HaproxyPod(work, "tls-1", "127.0.10.2", cls.port, "https", pem).start(),
            HaproxyPod(work, "sticky-1", "127.0.10.3", cls.port).start(),
            HaproxyPod(work, "sticky-2", "127.0.10.4", cls.port).start(),
        ]

        def svc(name, addrs):
            return [R.service(NS, name, target_port=cls.port),
                    R.endpoint_slice(NS, f"{name}-1", name, addrs, cls.port)]

        def ing(name, ann):
            return R.ingress(NS, name, host=f"{name}.example.com", service=name, annotations=ann)
        cls.rc.apply(
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            *svc("grpcish", ["127.0.10.1"]), *svc("secure", ["127.0.10.2"]),
            *svc("sticky", ["127.0.10.3", "127.0.10.4"]),
            ing("grpcish", {"spoke.dev/backend-protocol": "h2"}),
            ing("secure", {"spoke.dev/backend-protocol": "https"}),
            ing("sticky", {"spoke.dev/affinity": "cookie", "spoke.dev/load-balance": "leastconn"}))
        cls.rc.wait_synced(timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=cls.pods)

    def answer(self, host, headers=None):
        status, body, hdrs = self.rc.request(host, "/", headers=headers)
        return status, body, hdrs

    def test_h2_backend(self):
        wait_until(lambda: self.rc.pod_for("grpcish.example.com") == "h2-1", timeout=30,
                   what="h2 backend served")
        _, body, _ = self.answer("grpcish.example.com")
        self.assertEqual(body["proto"], "2.0")

    def test_https_backend(self):
        wait_until(lambda: self.rc.pod_for("secure.example.com") == "tls-1", timeout=30,
                   what="https backend served")

    def test_cookie_affinity(self):
        wait_until(lambda: self.rc.pod_for("sticky.example.com") in ("sticky-1", "sticky-2"),
                   timeout=30, what="sticky backend served")
        status, body, hdrs = self.answer("sticky.example.com")
        cookie = hdrs.get("set-cookie", "")
        self.assertTrue(cookie.startswith("SPOKEAFFINITY="), hdrs)
        pinned = body["pod"]
        for _ in range(6):
            _, b, h = self.answer("sticky.example.com", {"Cookie": cookie.split(";")[0]})
            self.assertEqual(b["pod"], pinned, (cookie, h.get("set-cookie")))

    def test_new_profiles_cost_one_reload_each_at_most(self):
        # Three profiles the pools did not have: each needed its pool once.
        reloads = self.rc.routing()["reloads"]
        self.assertGreaterEqual(reloads, 1)
        self.assertLessEqual(reloads, 3)
        # A second Service of a known profile: no reload.
        self.rc.apply(R.service(NS, "grpc2", target_port=self.port),
                      R.endpoint_slice(NS, "grpc2-1", "grpc2", ["127.0.10.1"], self.port),
                      R.ingress(NS, "grpc2", host="grpc2.example.com", service="grpc2",
                                annotations={"spoke.dev/backend-protocol": "h2"}))
        wait_until(lambda: self.rc.pod_for("grpc2.example.com") == "h2-1", timeout=30,
                   what="second h2 Service served")
        self.assertEqual(self.rc.routing()["reloads"], reloads)


if __name__ == "__main__":
    unittest.main()
