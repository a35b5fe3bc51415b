"""test_tls.py - certificates from TLS Secrets served by SNI through the
runtime API: a new certificate, a renewal, a wildcard, an invalid Secret
(the previous certificate stays), a removed one (the default certificate),
HTTPS requests reaching the Pods, and no reload throughout."""
import http.client
import json
import socket
import ssl
import subprocess
import unittest

from lib import resources as R
from lib.certs import make_cert, serial_of, tls_secret
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "tls"


def tls_ingress(name, host, secret):
    ing = R.ingress(NS, name, host=host, service="web")
    ing["spec"]["tls"] = [{"hosts": [host], "secretName": secret}]
    return ing


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.pods = EchoPods(["127.0.6.1"], cls.port, ["web-1"]).start()
        cls.rc = RoutedCluster("tls", extra_args=[
            "--default-ssl-certificate", f"{NS}/fallback-tls"]).start()
        cls.certs = {}
        cls.certs["a1"] = make_cert(cls.rc.work, "a1", ["a.example.test"])
        cls.certs["fallback"] = make_cert(cls.rc.work, "fallback", ["fallback.example.test"])
        cls.rc.apply(
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.service(NS, "web", target_port=cls.port),
            R.endpoint_slice(NS, "web-1", "web", ["127.0.6.1"], cls.port),
            tls_secret(NS, "a-tls", *cls.certs["a1"]),
            tls_secret(NS, "fallback-tls", *cls.certs["fallback"]),
            tls_ingress("a", "a.example.test", "a-tls"))
        cls.rc.wait_synced()
        cls.worker = cls.rc.worker_pid()

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=[cls.pods])

    def peer_serial(self, sni):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", self.rc.https_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=sni) as tls:
                der = tls.getpeercert(binary_form=True)
        out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"],
                             input=der, capture_output=True, check=True).stdout.decode()
        return out.strip().split("=", 1)[1].upper()

    def https_get(self, host, cafile, path="/"):
        ctx = ssl.create_default_context(cafile=cafile)
        conn = http.client.HTTPSConnection("127.0.0.1", self.rc.https_port, context=ctx,
                                           timeout=10)
        # SNI and certificate verification for host while connecting to loopback
        conn.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.rc.https_port)),
                                    server_hostname=host)
        conn.request("GET", path, headers={"Host": host})
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, json.loads(body) if r.status == 200 else body

    def test_1_new_certificate_served_and_verified(self):
        wait_until(lambda: self.peer_serial("a.example.test") == serial_of(self.certs["a1"][0]),
                   timeout=20, what="a.example.test certificate served")
        status, body = self.https_get("a.example.test", self.certs["a1"][0], "/x")
        self.assertEqual(status, 200)
        self.assertEqual(body["pod"], "web-1")
        # plain HTTP to a TLS host is redirected
        status, _, headers = self.rc.request("a.example.test", "/x")
        self.assertEqual(status, 308)

    def test_2_renewal_replaces_in_place(self):
        self.certs["a2"] = make_cert(self.rc.work, "a2", ["a.example.test"])
        self.rc.apply(tls_secret(NS, "a-tls", *self.certs["a2"]))
        wait_until(lambda: self.peer_serial("a.example.test") == serial_of(self.certs["a2"][0]),
                   timeout=20, what="renewed certificate served")

    def test_3_wildcard(self):
        self.certs["w"] = make_cert(self.rc.work, "w", ["*.w.example.test"])
        self.rc.apply(tls_secret(NS, "w-tls", *self.certs["w"]),
                      tls_ingress("w", "*.w.example.test", "w-tls"))
        want = serial_of(self.certs["w"][0])
        wait_until(lambda: self.peer_serial("x.w.example.test") == want, timeout=20,
                   what="wildcard certificate served")
        self.assertNotEqual(self.peer_serial("y.x.w.example.test"), want)  # one label only

    def test_4_invalid_secret_keeps_the_previous_certificate(self):
        good = serial_of(self.certs["a2"][0])  # served since test_2
        other = make_cert(self.rc.work, "other", ["a.example.test"])
        bad = tls_secret(NS, "a-tls", self.certs["a2"][0], other[1])
        self.rc.apply(bad)  # certificate and key do not match
        self.rc.wait_synced()
        self.assertEqual(self.peer_serial("a.example.test"), good)
        with open(self.rc.agent.log_path, errors="replace") as f:
            self.assertIn("Secret tls/a-tls", f.read())

    def test_5_removed_tls_falls_back_to_the_default_certificate(self):
        self.rc.apply(R.ingress(NS, "w", host="*.w.example.test", service="web"))
        default = serial_of(self.certs["fallback"][0])  # --default-ssl-certificate
        wait_until(lambda: self.peer_serial("x.w.example.test") == default, timeout=20,
                   what="default certificate served again")
        self.assertEqual(self.peer_serial("unknown.example.test"), default)

    def test_6_no_reload(self):
        self.assertEqual(self.rc.worker_pid(), self.worker)
        self.assertEqual(self.rc.routing()["reloads"], 0)


if __name__ == "__main__":
    unittest.main()
