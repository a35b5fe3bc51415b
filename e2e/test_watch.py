"""test_watch.py - the agent's cache follows the API server through every kind
of trouble: kubectl changes, closed watches, 410 Gone re-lists, 500s, slow
answers and a server restart. After each, the cache must equal the server
(nothing missed, nothing stale)."""
import base64
import json
import unittest

from lib import resources as R
from lib.agent import Agent
from lib.apiserver import ApiServer
from lib.cluster import (kubectl, make_workdir, remove_workdir, server_objects,
                         wait_store_matches_server)
from lib.wait import wait_until

KINDS = ["Ingress", "IngressClass", "Service", "EndpointSlice", "Secret"]


def manifest(*objs):
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)})


class WatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = make_workdir("watch")
        cls.api = ApiServer(cls.work, bookmark_interval=1)
        cls.api.start()
        cls.api.ok("POST", "/api/v1/namespaces", R.namespace("team-a"))
        cls.agent = Agent(cls.work, cls.api.kubeconfig)
        cls.agent.start()
        cls.agent.wait_synced()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.agent.stop(check=True)
        finally:
            cls.api.stop()
            remove_workdir(cls.work)

    def apply(self, *objs):
        kubectl(self.api, "apply", "-f", "-", stdin=manifest(*objs))

    def test_01_kubectl_create_update_delete_every_kind(self):
        objs = [
            R.ingress("team-a", "web", host="web.example.com"),
            R.service("team-a", "web"),
            R.endpoint_slice("team-a", "web-abc", "web", ["127.0.1.1", "127.0.1.2"]),
            R.secret("team-a", "creds", {"password": base64.b64encode(b"hunter2").decode()}),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"},
             "spec": {"controller": "spoke.dev/ingress-controller"}},
        ]
        self.apply(*objs)
        wait_store_matches_server(self.agent, self.api, KINDS)
        ing, _ = self.agent.store("Ingress")
        self.assertEqual(ing["team-a/web"]["spec"]["rules"][0]["host"], "web.example.com")

        objs[0]["metadata"]["annotations"] = {"spoke.dev/ssl-redirect": "false"}
        objs[2]["endpoints"] = objs[2]["endpoints"][:1]
        self.apply(*objs)
        wait_until(lambda: self.agent.store("Ingress")[0]["team-a/web"]["metadata"]
                   .get("annotations", {}).get("spoke.dev/ssl-redirect") == "false",
                   what="annotation change seen by the agent")
        wait_until(lambda: len(self.agent.store("EndpointSlice")[0]["team-a/web-abc"]
                               ["endpoints"]) == 1, what="endpoint removal seen")
        wait_store_matches_server(self.agent, self.api, KINDS)

        kubectl(self.api, "delete", "-f", "-", stdin=manifest(*objs))
        wait_store_matches_server(self.agent, self.api, KINDS)
        self.assertNotIn("team-a/web", self.agent.store("Ingress")[0])

    def test_02_secret_values_are_redacted(self):
        self.apply(R.secret("team-a", "topsecret",
                            {"token": base64.b64encode(b"do-not-print-me").decode()}))
        wait_until(lambda: "team-a/topsecret" in self.agent.store("Secret")[0],
                   what="secret in cache")
        raw = json.dumps(self.agent.get("/debug/store?kind=Secret"))
        self.assertNotIn(base64.b64encode(b"do-not-print-me").decode(), raw)
        self.assertIn("<redacted>", raw)

    def test_03_closed_watches_are_resumed(self):
        before = self.agent.summary()[1]["Ingress"]["stats"]["watches"]
        self.api.fault("close-watches")
        self.apply(R.ingress("team-a", "after-close", host="close.example.com"))
        wait_until(lambda: "team-a/after-close" in self.agent.store("Ingress")[0],
                   what="object created after the watches closed")
        self.assertGreater(self.agent.summary()[1]["Ingress"]["stats"]["watches"], before)
        wait_store_matches_server(self.agent, self.api, KINDS)

    def test_04_relist_after_410_while_objects_changed(self):
        for i in range(5):
            self.apply(R.ingress("team-a", f"gone-{i}", host=f"g{i}.example.com"))
        wait_store_matches_server(self.agent, self.api, ["Ingress"])
        relists = self.agent.summary()[1]["Ingress"]["stats"]["relists"]
        # Hold the agent's re-watches, change things meanwhile, then compact the
        # history: the held watches resume from a resourceVersion that is gone.
        self.api.fault("delay", count=100, seconds=2, match="watch")
        self.api.fault("close-watches")
        for i in range(3):
            kubectl(self.api, "delete", "ingress", "-n", "team-a", f"gone-{i}")
        self.apply(R.ingress("team-a", "gone-4", host="changed.example.com"),
                   R.ingress("team-a", "born-in-gap", host="gap.example.com"))
        self.api.fault("compact")
        wait_until(lambda: self.agent.summary()[1]["Ingress"]["stats"]["relists"] > relists,
                   what="a re-list after 410 Gone")
        wait_store_matches_server(self.agent, self.api, KINDS)
        ing = self.agent.store("Ingress")[0]
        self.assertNotIn("team-a/gone-0", ing)
        self.assertIn("team-a/born-in-gap", ing)
        self.assertEqual(ing["team-a/gone-4"]["spec"]["rules"][0]["host"], "changed.example.com")
        self.api.fault("delay", count=0, seconds=0)

    def test_05_errors_and_slow_answers(self):
        errors = self.agent.summary()[1]["Service"]["stats"]["errors"]
        self.api.fault("fail", count=8, status=500, match="watch")
        self.apply(R.service("team-a", "during-500s"))

        def saw_500s():
            # A watch still held back by an earlier delay fault only reaches
            # the server later; keep closing streams until one meets a 500.
            self.api.fault("close-watches")
            return self.agent.summary()[1]["Service"]["stats"]["errors"] > errors

        wait_until(saw_500s, what="the agent saw the 500s")
        wait_store_matches_server(self.agent, self.api, KINDS, timeout=60)
        self.api.fault("delay", count=6, seconds=1.5, match="watch")
        self.api.fault("close-watches")
        self.apply(R.service("team-a", "during-delay"))
        wait_store_matches_server(self.agent, self.api, KINDS, timeout=60)
        self.assertIn("team-a/during-delay", self.agent.store("Service")[0])


class RestartTest(unittest.TestCase):
    """The API server restarts (new process, same data, history lost)."""

    def setUp(self):
        self.work = make_workdir("restart")
        self.api = ApiServer(self.work, bookmark_interval=1)
        self.api.start()
        self.api.ok("POST", "/api/v1/namespaces", R.namespace("team-b"))
        for i in range(20):
            self.api.ok("POST", R.collection_path("Ingress", "team-b"),
                        R.ingress("team-b", f"ing-{i}", host=f"h{i}.example.com"))
        self.agent = Agent(self.work, self.api.kubeconfig)
        self.agent.start()
        self.agent.wait_synced()

    def tearDown(self):
        try:
            self.agent.stop(check=True)
        finally:
            self.api.stop()
            remove_workdir(self.work)

    def test_server_restart(self):
        wait_store_matches_server(self.agent, self.api, ["Ingress"])
        self.api.restart()
        for i in range(5):
            self.api.ok("DELETE", R.object_path("Ingress", "team-b", f"ing-{i}"))
        self.api.ok("POST", R.collection_path("Ingress", "team-b"),
                    R.ingress("team-b", "after-restart", host="after.example.com"))
        wait_store_matches_server(self.agent, self.api, KINDS, timeout=60)
        self.assertEqual(len(self.agent.store("Ingress")[0]), 16)


class NamespaceAndConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = make_workdir("ns")
        cls.api = ApiServer(cls.work)
        cls.api.start()
        for ns in ("team-c", "team-d"):
            cls.api.ok("POST", "/api/v1/namespaces", R.namespace(ns))
            cls.api.ok("POST", R.collection_path("Ingress", ns), R.ingress(ns, "web"))

    @classmethod
    def tearDownClass(cls):
        cls.api.stop()
        remove_workdir(cls.work)

    def test_watch_namespace_limits_the_cache(self):
        agent = Agent(self.work, self.api.kubeconfig, ["--watch-namespace", "team-c"], name="ns")
        agent.start()
        try:
            agent.wait_synced()
            self.assertEqual(set(agent.store("Ingress")[0]), {"team-c/web"})
            self.api.ok("POST", R.collection_path("Ingress", "team-d"), R.ingress("team-d", "x"))
            self.api.ok("POST", R.collection_path("Ingress", "team-c"), R.ingress("team-c", "y"))
            wait_until(lambda: set(agent.store("Ingress")[0]) == {"team-c/web", "team-c/y"},
                       what="only team-c objects")
        finally:
            agent.stop(check=True)

    def test_wrong_token_is_reported_not_fatal(self):
        with open(self.api.kubeconfig) as f:
            kc = f.read()
        bad = self.work + "/bad-kubeconfig"
        with open(bad, "w") as f:
            f.write(kc.replace(self.api.token, "not-the-token"))
        agent = Agent(self.work, bad, name="badtoken")
        agent.start()
        try:
            wait_until(lambda: "401" in agent.log_tail(200), what="a 401 in the agent log")
            synced, _ = agent.summary()
            self.assertFalse(synced)
        finally:
            agent.stop(check=True)

    def test_malformed_kubeconfig_exits_with_clear_error(self):
        bad = self.work + "/broken-kubeconfig"
        with open(bad, "w") as f:
            f.write("apiVersion: v1\nclusters: [\n")
        import subprocess
        from lib.agent import spoke_bin
        p = subprocess.run([spoke_bin(), "--kubeconfig", bad, "--admin-listen", "off"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 1)
        self.assertIn("kubeconfig", p.stderr)

    def test_help_and_bad_flag(self):
        import subprocess
        from lib.agent import spoke_bin
        p = subprocess.run([spoke_bin(), "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--watch-namespace", p.stdout)
        p = subprocess.run([spoke_bin(), "--nope"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--nope", p.stderr)


if __name__ == "__main__":
    unittest.main()
