"""test_hostile_input.py - Ingresses carrying hostile values (newlines, ';',
spaces, '%', very long strings, non-ASCII, NUL, regex metacharacters, CLI
commands) are refused or taken literally: HAProxy's routes map holds exactly
the intended keys (read back through the runtime API and from the file), the
problems are logged, and the other routes keep answering."""
import os
import unittest

from lib import resources as R
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "hostile"


def ing(name, host, path, ptype="Prefix", annotations=None):
    obj = R.ingress(NS, name, host=host, service="web", path=path, annotations=annotations)
    obj["spec"]["rules"][0]["http"]["paths"][0]["pathType"] = ptype
    return obj


HOSTILE = [
    # refused: not a host name / not a path HAProxy can be given
    ing("nl-host", "a.example.com\nadd map routes.map x y", "/"),
    ing("semi-host", "b.example.com;shutdown sessions", "/"),
    ing("space-path", "c.example.com", "/a b"),
    ing("nl-path", "c.example.com", "/x\nclear map"),
    ing("long-host", ("x" * 70) + ".example.com", "/"),
    ing("huge-path", "c.example.com", "/" + "p" * 5000),
    ing("unicode-host", "\u00fcn\u00ef.example.com", "/"),
    ing("regex-impl", "c.example.com", "/re.*(x|y)", "ImplementationSpecific"),
    ing("bad-percent", "c.example.com", "/100%"),
    ing("evil-annotation", "d.example.com", "/",
        annotations={"spoke.dev/permanent-redirect": "https://x.example/\nshow info",
                     "spoke.dev/rewrite-target": "/a|b"}),
]
# Accepted, and matched literally. The first carries a NUL character (valid
# JSON, "\u0000"): it must not stop the agent from seeing the objects after it.
LITERAL = [
    ing("percent", "lit.example.com", "/100%25", annotations={"example.com/note": "a\u0000b"}),
    ing("semicolon", "lit.example.com", "/a;b", "Exact"),
    ing("metachar", "lit.example.com", "/a.*"),
]


class HostileInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.pods = EchoPods(["127.0.4.1"], cls.port, ["web-1"]).start()
        cls.rc = RoutedCluster("hostile").start()
        cls.rc.apply(
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.service(NS, "web", target_port=cls.port),
            R.endpoint_slice(NS, "web-1", "web", ["127.0.4.1"], cls.port),
            ing("good", "good.example.com", "/"))
        cls.rc.wait_pod("good.example.com", "/", "web-1")
        for obj in HOSTILE + LITERAL:
            cls.rc.api.ok("POST", R.collection_path("Ingress", NS), obj)
        # Every literal route served (they were created in this order).
        wait_until(lambda: [cls.rc.pod_for("lit.example.com", p) for p in
                            ("/100%25", "/a;b", "/a.*/more")] == ["web-1"] * 3, timeout=20,
                   what="literal routes served")
        cls.rc.wait_synced()

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop(also=[cls.pods])

    def haproxy_keys(self):
        out = self.rc.haproxy_cli(f"show map {self.rc.state}/maps/routes.map")
        return sorted(line.split()[1] for line in out.splitlines() if line.strip())

    def test_map_holds_exactly_the_intended_keys(self):
        want = sorted([
            "^good.example.com/",
            "^lit.example.com/100%25/", "=lit.example.com/100%25",
            "=lit.example.com/a;b",
            "^lit.example.com/a.*/", "=lit.example.com/a.*",
            "^d.example.com/",  # the route stays; its invalid annotations do not
        ])
        self.assertEqual(self.haproxy_keys(), want)
        with open(os.path.join(self.rc.state, "maps", "routes.map")) as f:
            file_keys = sorted(line.split()[0] for line in f if line.strip())
        self.assertEqual(file_keys, want)

    def test_invalid_annotations_fall_back_to_defaults(self):
        self.assertEqual(self.rc.pod_for("d.example.com", "/x"), "web-1")
        out = self.rc.haproxy_cli(f"show map {self.rc.state}/maps/routes.map")
        self.assertNotIn("show info", out)

    def test_literal_paths_match_only_themselves(self):
        self.assertEqual(self.rc.pod_for("lit.example.com", "/100%25"), "web-1")
        self.assertEqual(self.rc.pod_for("lit.example.com", "/a.*/more"), "web-1")
        self.assertEqual(self.rc.pod_for("lit.example.com", "/abc"), 404)
        self.assertEqual(self.rc.pod_for("lit.example.com", "/a;b/c"), 404)  # Exact

    def test_problems_are_logged_and_others_still_answer(self):
        with open(self.rc.agent.log_path, errors="replace") as f:
            log = f.read()
        for name in ["nl-host", "semi-host", "space-path", "nl-path", "long-host", "huge-path",
                     "unicode-host", "regex-impl", "bad-percent", "evil-annotation"]:
            self.assertIn(f"Ingress {NS}/{name}:", log, name)
        self.assertEqual(self.rc.pod_for("good.example.com", "/"), "web-1")
        import urllib.request
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.rc.agent.admin_port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        problems = [l for l in metrics.splitlines() if l.startswith("spoke_ingress_problems ")]
        self.assertEqual(len(problems), 1)
        self.assertGreaterEqual(float(problems[0].split()[1]), 10)
        # Still a single HAProxy command stream: the CLI answers normally.
        self.assertIn("Name: HAProxy", self.rc.haproxy_cli("show info"))


if __name__ == "__main__":
    unittest.main()
