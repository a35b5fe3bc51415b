"""test_auth.py - auth annotations decided by the agent's SPOE responder,
through a real HAProxy: basic (htpasswd hashes made by openssl passwd), JWT
(RS256 tokens signed by openssl at test time), API keys, source ranges, and
the hostile cases: wrong or missing credentials, expired and not-yet-valid
tokens, wrong audience, alg none, an HMAC token keyed with the public key,
path tricks to reach a protected path through a public route, huge headers,
a spoofed identity header, a missing Secret. Killing the agent makes the
protected routes deny (503) while plain routes keep working; restarting it
restores them, without a reload."""
import base64
import hashlib
import re
import time
import unittest

from lib import resources as R
from lib import tokens
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "auth"


def b64(s):
    return base64.b64encode(s.encode()).decode()


def ingress(name, host, path="/", annotations=None):
    return R.ingress(NS, name, host=host, service="web", path=path, annotations=annotations)


def basic(user, password):
    return {"Authorization": "Basic " + b64(f"{user}:{password}")}


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.pods = EchoPods(["127.0.8.1"], cls.port, ["web-1"]).start()
        cls.rc = RoutedCluster("auth").start()
        key, pub = tokens.rsa_key(cls.rc.work)
        cls.jwt_key, cls.jwt_pub = key, pub
        htpasswd = "\n".join([tokens.htpasswd_line("alice", "wonderland", "-6"),
                              tokens.htpasswd_line("bob", "builder", "-apr1"),
                              tokens.htpasswd_line("carol", "singer", "-5")]) + "\n"
        hashed = hashlib.sha256(b"hashed-key").hexdigest()
        cls.rc.apply(
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.service(NS, "web", target_port=cls.port),
            R.endpoint_slice(NS, "web-1", "web", ["127.0.8.1"], cls.port),
            R.secret(NS, "staff", {"auth": b64(htpasswd)}),
            R.secret(NS, "jwks", {"keys.pem": b64(pub)}),
            R.secret(NS, "keys", {"k1": b64("plain-key"), "k2": b64("sha256:" + hashed)}),
            ingress("public", "auth.example.com"),
            ingress("admin", "auth.example.com", "/admin",
                    {"spoke.dev/auth-type": "basic", "spoke.dev/auth-secret": "staff",
                     "spoke.dev/auth-realm": "Staff only"}),
            ingress("jwt", "jwt.example.com",
                    annotations={"spoke.dev/auth-type": "jwt",
                                 "spoke.dev/auth-jwks-secret": "jwks",
                                 "spoke.dev/auth-jwt-issuer": "https://issuer.example",
                                 "spoke.dev/auth-jwt-audience": "spoke"}),
            ingress("keys", "key.example.com",
                    annotations={"spoke.dev/auth-type": "apikey",
                                 "spoke.dev/auth-secret": "keys"}),
            ingress("local-ok", "local.example.com",
                    annotations={"spoke.dev/whitelist-source-range": "127.0.0.0/8, ::1"}),
            ingress("local-no", "remote.example.com",
                    annotations={"spoke.dev/whitelist-source-range": "10.0.0.0/8"}),
            ingress("external", "ext.example.com",
                    annotations={"spoke.dev/auth-url": "http://127.0.0.1:1/check"}),
            ingress("broken", "broken.example.com",
                    annotations={"spoke.dev/auth-type": "basic",
                                 "spoke.dev/auth-secret": "no-such-secret"}))
        cls.rc.wait_synced()
        wait_until(lambda: cls.status("auth.example.com", "/admin", basic("alice", "wonderland"))
                   == 200, timeout=20, what="basic auth route served")
        cls.worker = cls.rc.worker_pid()

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=[cls.pods])

    @classmethod
    def status(cls, host, path, headers=None):
        return cls.rc.request(host, path, headers=headers)[0]

    def claims(self, **over):
        now = int(time.time())
        c = {"iss": "https://issuer.example", "aud": "spoke", "sub": "user-42",
             "iat": now, "exp": now + 300}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def bearer(self, token):
        return {"Authorization": "Bearer " + token}

    def auth_decisions(self, ingress):
        """(allowed, denied) of spoke_auth_decisions_total for ingress "ns/name"."""
        import urllib.request
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.rc.agent.admin_port}/metrics", timeout=10) as r:
            text = r.read().decode()
        out = []
        for verdict in ("allow", "deny"):
            m = re.search(r'^spoke_auth_decisions_total\{ingress="%s",verdict="%s"\} (\S+)$'
                          % (re.escape(ingress), verdict), text, re.M)
            out.append(float(m.group(1)) if m else 0.0)
        return tuple(out)

    def test_basic(self):
        before = self.auth_decisions(f"{NS}/admin")
        status, _, headers = self.rc.request("auth.example.com", "/admin/x")
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("www-authenticate"), 'Basic realm="Staff only"')
        self.assertEqual(self.status("auth.example.com", "/admin", basic("alice", "nope")), 401)
        self.assertEqual(self.status("auth.example.com", "/admin", basic("mallory", "x")), 401)
        for user, pw in [("alice", "wonderland"), ("bob", "builder"), ("carol", "singer")]:
            self.assertEqual(self.status("auth.example.com", "/admin/y", basic(user, pw)), 200,
                             user)
        self.assertEqual(self.rc.pod_for("auth.example.com", "/public/page"), "web-1")
        # Counted per Ingress: 3 allowed, 3 denied (the public route is not).
        after = self.auth_decisions(f"{NS}/admin")
        self.assertEqual((after[0] - before[0], after[1] - before[1]), (3, 3))
        self.assertEqual(self.auth_decisions(f"{NS}/public"), (0, 0))

    def test_path_tricks_do_not_bypass_auth(self):
        for path in ["//admin", "/./admin", "/x/../admin", "/%61dmin", "/admin/./x",
                     "///admin//x", "/public/..%2Fadmin", "/admin%2Fx"]:
            status = self.status("auth.example.com", path)
            self.assertIn(status, (400, 401), path)

    def test_spoofed_identity_header_is_dropped(self):
        _, body, _ = self.rc.request("auth.example.com", "/", headers={"X-Auth-Subject": "root"})
        self.assertNotIn("x-auth-subject", body["headers"])
        token = tokens.jwt_rs256(self.jwt_key, self.claims())
        _, body, _ = self.rc.request("jwt.example.com", "/",
                                     headers={**self.bearer(token), "X-Auth-Subject": "root"})
        self.assertEqual(body["headers"].get("x-auth-subject"), "user-42")

    def test_jwt(self):
        ok = tokens.jwt_rs256(self.jwt_key, self.claims())
        self.assertEqual(self.status("jwt.example.com", "/", self.bearer(ok)), 200)
        now = int(time.time())
        bad = {
            "missing": None,
            "expired": tokens.jwt_rs256(self.jwt_key, self.claims(exp=now - 60)),
            "not yet valid": tokens.jwt_rs256(self.jwt_key, self.claims(nbf=now + 600)),
            "wrong audience": tokens.jwt_rs256(self.jwt_key, self.claims(aud="other")),
            "wrong issuer": tokens.jwt_rs256(self.jwt_key, self.claims(iss="https://evil")),
            "alg none": tokens.jwt_none(self.claims()),
            "hmac with the public key": tokens.jwt_hs256(self.jwt_pub.encode(), self.claims()),
            "tampered": ok[:-4] + ("AAAA" if not ok.endswith("AAAA") else "BBBB"),
            "garbage": "a.b.c",
        }
        for what, token in bad.items():
            headers = self.bearer(token) if token else None
            self.assertEqual(self.status("jwt.example.com", "/", headers), 401, what)

    def test_apikey(self):
        self.assertEqual(self.status("key.example.com", "/", {"X-API-Key": "plain-key"}), 200)
        self.assertEqual(self.status("key.example.com", "/", {"X-API-Key": "hashed-key"}), 200)
        self.assertEqual(self.status("key.example.com", "/", {"X-API-Key": "wrong"}), 401)
        self.assertEqual(self.status("key.example.com", "/"), 401)

    def test_source_ranges(self):
        self.assertEqual(self.rc.pod_for("local.example.com", "/"), "web-1")
        self.assertEqual(self.status("remote.example.com", "/"), 403)

    def test_missing_secret_fails_closed(self):
        self.assertEqual(self.status("broken.example.com", "/", basic("alice", "wonderland")),
                         503)

    def test_unreachable_external_auth_denies(self):
        # Nothing listens on port 1: external auth fails closed (test_extauth.py has the rest).
        self.assertEqual(self.status("ext.example.com", "/"), 503)

    def test_huge_header_is_not_let_through(self):
        huge = {"Authorization": "Basic " + "A" * 60000}
        try:
            status = self.status("auth.example.com", "/admin", huge)
        except OSError:
            status = None  # HAProxy closing the connection is a refusal too
        self.assertNotEqual(status, 200)

    def test_zz_agent_killed_protected_routes_deny_then_recover(self):
        self.rc.agent.proc.kill()
        self.rc.agent.proc.wait()
        self.rc.agent.proc = None
        creds = basic("alice", "wonderland")
        wait_until(lambda: self.status("auth.example.com", "/admin", creds) == 503, timeout=20,
                   what="protected route denied without the agent")
        self.assertEqual(self.rc.pod_for("auth.example.com", "/"), "web-1")
        self.rc.agent.start()
        self.rc.agent.wait_synced()
        wait_until(lambda: self.status("auth.example.com", "/admin", creds) == 200, timeout=30,
                   what="protected route served again")
        self.assertEqual(self.rc.worker_pid(), self.worker, "HAProxy was reloaded")


if __name__ == "__main__":
    unittest.main()
