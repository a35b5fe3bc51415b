"""test_extauth.py - external auth (spoke.dev/auth-url) and JWT
claims-to-headers through a real HAProxy and the agent: a real HTTP auth
service on loopback (lib/authsvc.py) allows, denies, answers slowly or not
at all; its answer headers reach the backend and a client's own copies of
them never do; positive answers are cached for auth-cache-ttl and plain
routes never call it; invalid auth-url values are reported and deny (503)
while other routes answer; a JWT's claims become request headers."""
import base64
import time
import unittest

from lib import resources as R
from lib import tokens
from lib.authsvc import AuthService
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "extauth"
USER, EMAIL = "x-auth-request-user", "x-auth-request-email"


def ingress(name, host, annotations=None):
    return R.ingress(NS, name, host=host, service="web", annotations=annotations)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def bearer(token):
    return {"Authorization": "Bearer " + token}


class ExtAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.pods = EchoPods(["127.0.9.1"], cls.port, ["web-1"]).start()
        cls.auth = AuthService("127.0.9.2", free_port()).start()
        cls.rc = RoutedCluster("extauth").start()
        key, pub = tokens.rsa_key(cls.rc.work)
        cls.jwt_key = key
        common = {"spoke.dev/auth-url": cls.auth.url + "/check?from=spoke",
                  "spoke.dev/auth-request-headers": "Authorization",
                  "spoke.dev/auth-response-headers": "X-Auth-Request-User, X-Auth-Request-Email",
                  "spoke.dev/auth-timeout": "500ms"}
        cls.rc.apply(
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.service(NS, "web", target_port=cls.port),
            R.endpoint_slice(NS, "web-1", "web", ["127.0.9.1"], cls.port),
            R.secret(NS, "jwks", {"keys.pem": b64(pub)}),
            ingress("plain", "plain.example.com"),
            ingress("ext", "ext.example.com", common),
            ingress("cached", "cached.example.com",
                    {**common, "spoke.dev/auth-cache-ttl": "5"}),
            ingress("post", "post.example.com",
                    {"spoke.dev/auth-url": cls.auth.url + "/post", "spoke.dev/auth-method": "POST"}),
            ingress("down", "down.example.com",
                    {"spoke.dev/auth-url": f"http://127.0.9.3:{free_port()}/check"}),
            ingress("bad-scheme", "badscheme.example.com",
                    {"spoke.dev/auth-url": "ftp://127.0.9.2/check"}),
            ingress("bad-newline", "badnewline.example.com",
                    {"spoke.dev/auth-url": cls.auth.url + "/check\r\nX-Evil: 1"}),
            ingress("both", "both.example.com",
                    {"spoke.dev/auth-url": cls.auth.url + "/check",
                     "spoke.dev/auth-type": "basic", "spoke.dev/auth-secret": "jwks"}),
            ingress("claims", "claims.example.com",
                    {"spoke.dev/auth-type": "jwt", "spoke.dev/auth-jwks-secret": "jwks",
                     "spoke.dev/auth-jwt-claims-to-headers":
                         "sub:X-User, email:X-Email, groups:X-Groups, tenant.id:X-Tenant"}))
        cls.rc.wait_synced()
        wait_until(lambda: cls.status("ext.example.com", "/", bearer("good")) == 200, timeout=20,
                   what="external auth route served")
        cls.worker = cls.rc.worker_pid()

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=[cls.pods, cls.auth])

    @classmethod
    def status(cls, host, path="/", headers=None):
        return cls.rc.request(host, path, headers=headers)[0]

    def calls_for(self, host):
        return [c for c in self.auth.calls
                if c["headers"].get("x-forwarded-host") == host]

    def test_allow_passes_answer_headers_and_strips_the_clients(self):
        status, body, _ = self.rc.request(
            "ext.example.com", "/app/page?x=1",
            headers={**bearer("good"), "X-Auth-Request-User": "root",
                     "X-Auth-Request-Email": "root@evil", "Cookie": "session=secret"})
        self.assertEqual(status, 200)
        self.assertEqual(body["headers"][USER], "alice")
        self.assertEqual(body["headers"][EMAIL], "alice@example.com")
        call = self.calls_for("ext.example.com")[-1]
        self.assertEqual(call["method"], "GET")
        self.assertEqual(call["path"], "/check?from=spoke")
        h = call["headers"]
        self.assertEqual(h["x-original-url"], "http://ext.example.com/app/page?x=1")
        self.assertEqual(h["x-original-method"], "GET")
        self.assertEqual(h["x-forwarded-proto"], "http")
        self.assertEqual(h["x-forwarded-for"], "127.0.0.1")
        self.assertEqual(h["authorization"], "Bearer good")
        self.assertNotIn("cookie", h)  # not in auth-request-headers
        self.assertNotIn(USER, h)

    def test_allow_without_a_header_removes_the_clients_copy(self):
        status, body, _ = self.rc.request(
            "ext.example.com", "/", headers={**bearer("noemail"), "X-Auth-Request-Email": "spoof"})
        self.assertEqual(status, 200)
        self.assertEqual(body["headers"][USER], "bob")
        self.assertNotIn(EMAIL, body["headers"])

    def test_denials(self):
        status, _, headers = self.rc.request("ext.example.com", "/")
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("www-authenticate"), 'Bearer realm="ext"')
        self.assertEqual(self.status("ext.example.com", "/", bearer("forbidden")), 403)
        self.assertEqual(self.status("ext.example.com", "/", bearer("broken")), 503)
        self.assertEqual(self.status("ext.example.com", "/", bearer("moved")), 503)
        self.assertEqual(self.status("ext.example.com", "/", bearer("latin1")), 503)

    def test_slow_auth_service_is_a_denial(self):
        start = time.monotonic()
        self.assertEqual(self.status("ext.example.com", "/", bearer("slow")), 503)
        # auth-timeout is 500ms; HAProxy's SPOE processing timeout is 2s.
        self.assertLess(time.monotonic() - start, 1.9)
        self.assertEqual(self.status("ext.example.com", "/", bearer("good")), 200)

    def test_post_method(self):
        self.assertEqual(self.status("post.example.com", "/", bearer("good")), 200)
        call = self.calls_for("post.example.com")[-1]
        self.assertEqual((call["method"], call["path"]), ("POST", "/post"))

    def test_cache_ttl_and_plain_routes_never_call(self):
        before = len(self.calls_for("cached.example.com"))
        for _ in range(5):
            status, body, _ = self.rc.request("cached.example.com", "/", headers=bearer("good"))
            self.assertEqual(status, 200)
            self.assertEqual(body["headers"][USER], "alice")
        self.assertEqual(len(self.calls_for("cached.example.com")), before + 1)
        # Denials are never cached; other credentials are another key.
        for _ in range(2):
            self.assertEqual(self.status("cached.example.com", "/", bearer("nope")), 401)
        self.assertEqual(len(self.calls_for("cached.example.com")), before + 3)
        # Uncached route: every request is a call.
        n = len(self.calls_for("ext.example.com"))
        for _ in range(3):
            self.assertEqual(self.status("ext.example.com", "/", bearer("good")), 200)
        self.assertEqual(len(self.calls_for("ext.example.com")), n + 3)
        # Plain routes never call, whatever they carry.
        total = self.auth.count()
        for _ in range(5):
            self.assertEqual(self.rc.pod_for("plain.example.com", "/"), "web-1")
        self.assertEqual(self.auth.count(), total)
        # Once the TTL has passed, the next request calls again.
        wait_until(lambda: self.status("cached.example.com", "/", bearer("good")) == 200
                   and len(self.calls_for("cached.example.com")) == before + 4,
                   timeout=15, interval=0.5, what="cache entry expired")

    def test_unreachable_and_invalid_auth_url_deny_others_answer(self):
        for host in ["down.example.com", "badscheme.example.com", "badnewline.example.com",
                     "both.example.com"]:
            self.assertEqual(self.status(host, "/", bearer("good")), 503, host)
        self.assertEqual(self.rc.pod_for("plain.example.com", "/"), "web-1")
        self.assertEqual(self.status("ext.example.com", "/", bearer("good")), 200)
        with open(self.rc.agent.log_path, errors="replace") as f:
            log = f.read()
        for name, what in [("bad-scheme", "spoke.dev/auth-url"),
                           ("bad-newline", "spoke.dev/auth-url"),
                           ("both", "exclude each other")]:
            self.assertTrue(any(f"Ingress {NS}/{name}" in line and what in line
                                for line in log.splitlines()), name)

    def claims(self, **extra):
        now = int(time.time())
        return {"sub": "user-42", "iat": now, "exp": now + 300, **extra}

    def test_jwt_claims_to_headers(self):
        token = tokens.jwt_rs256(self.jwt_key, self.claims(
            email="u42@example.com", groups=["dev", "ops"], tenant={"id": 7}))
        status, body, _ = self.rc.request(
            "claims.example.com", "/", headers={**bearer(token), "X-User": "root"})
        self.assertEqual(status, 200)
        h = body["headers"]
        self.assertEqual(h["x-user"], "user-42")
        self.assertEqual(h["x-email"], "u42@example.com")
        self.assertEqual(h["x-groups"], "dev,ops")
        self.assertEqual(h["x-tenant"], "7")
        # Claims the token lacks: the client's headers of those names go too.
        token = tokens.jwt_rs256(self.jwt_key, self.claims())
        status, body, _ = self.rc.request(
            "claims.example.com", "/",
            headers={**bearer(token), "X-Email": "root@evil", "X-Groups": "admin"})
        self.assertEqual(status, 200)
        self.assertEqual(body["headers"]["x-user"], "user-42")
        self.assertNotIn("x-email", body["headers"])
        self.assertNotIn("x-groups", body["headers"])
        # No token: no headers, 401.
        self.assertEqual(self.status("claims.example.com", "/", {"X-User": "root"}), 401)

    def test_zz_auth_service_down_denies_without_reload(self):
        self.auth.stop()
        self.assertEqual(self.status("ext.example.com", "/", bearer("good")), 503)
        self.assertEqual(self.rc.pod_for("plain.example.com", "/"), "web-1")
        self.assertEqual(self.rc.worker_pid(), self.worker, "HAProxy was reloaded")


if __name__ == "__main__":
    unittest.main()
