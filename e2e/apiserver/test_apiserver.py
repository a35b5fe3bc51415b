"""test_apiserver.py - the test API server speaks the Kubernetes protocol: auth,
discovery, CRUD with its errors, LIST pages and selectors, WATCH replay,
bookmarks, timeouts and 410s, /status, CRDs, fault injection, restart, preload.

    python3 e2e/run.py e2e/apiserver
"""
import http.client
import io
import json
import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [p for p in (HERE, os.path.dirname(HERE)) if p not in sys.path]

from lib import resources as R  # noqa: E402
from lib.apiserver import ApiServer  # noqa: E402
from lib.cluster import make_workdir, remove_workdir  # noqa: E402
from lib.wait import wait_until  # noqa: E402
from rawclient import Client, WatchStream  # noqa: E402

ING = "/apis/networking.k8s.io/v1"


def configmap(ns, name, labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "data": data or {}}


def crd(scope="Namespaced", status=True):
    version = {"name": "v1alpha1", "served": True, "storage": True,
               "schema": {"openAPIV3Schema": {"type": "object",
                                              "x-kubernetes-preserve-unknown-fields": True}}}
    if status:
        version["subresources"] = {"status": {}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "ingressparameters.spoke.dev"},
            "spec": {"group": "spoke.dev", "scope": scope, "versions": [version],
                     "names": {"plural": "ingressparameters", "singular": "ingressparameters",
                               "kind": "IngressParameters", "shortNames": ["ingp"]}}}


def rv(obj):
    return int(obj["metadata"]["resourceVersion"])


class ServerTestCase(unittest.TestCase):
    bookmark_interval = None

    @classmethod
    def setUpClass(cls):
        cls.work = make_workdir("apiserver")
        cls.api = ApiServer(cls.work, bookmark_interval=cls.bookmark_interval)
        cls.api.start()

    @classmethod
    def tearDownClass(cls):
        cls.api.stop()
        remove_workdir(cls.work)

    def namespace(self, name):
        self.api.ok("POST", "/api/v1/namespaces", R.namespace(name))
        return name

    def assertStatus(self, got, code, reason):
        status, obj = got
        self.assertEqual(status, code, obj)
        self.assertEqual(obj["kind"], "Status")
        self.assertEqual(obj["apiVersion"], "v1")
        self.assertEqual(obj["status"], "Failure")
        self.assertEqual(obj["code"], code)
        self.assertEqual(obj["reason"], reason)
        self.assertTrue(obj["message"])
        return obj

    def watch(self, path, timeout=10):
        w = WatchStream(self.api, path, timeout=timeout)
        self.addCleanup(w.close)
        self.assertEqual(w.status, 200)
        return w


class ProtocolTest(ServerTestCase):
    bookmark_interval = 0.5

    def test_token_is_required(self):
        for token in ("", "wrong-token"):
            c = Client(self.api, token=token)
            for path in ("/api/v1/namespaces", "/version", "/_test/stats"):
                status, _, body = c.request("GET", path)
                self.assertEqual(status, 401, path)
                self.assertEqual(body["reason"], "Unauthorized")
            c.close()

    def test_keep_alive_and_tls(self):
        c = Client(self.api)
        for _ in range(3):  # one connection, several requests
            status, headers, body = c.request("GET", "/api/v1/namespaces/default")
            self.assertEqual(status, 200)
            self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(body["metadata"]["name"], "default")
        c.close()

    def test_discovery(self):
        self.assertEqual(self.api.ok("GET", "/version")["major"], "1")
        self.assertEqual(self.api.ok("GET", "/api")["versions"], ["v1"])
        groups = {g["name"]: g for g in self.api.ok("GET", "/apis")["groups"]}
        for g in ("networking.k8s.io", "discovery.k8s.io", "coordination.k8s.io",
                  "apiextensions.k8s.io"):
            self.assertIn(g, groups)
        self.assertEqual(groups["networking.k8s.io"]["preferredVersion"]["version"], "v1")
        res = {r["name"]: r for r in self.api.ok("GET", ING)["resources"]}
        self.assertEqual(res["ingresses"]["kind"], "Ingress")
        self.assertTrue(res["ingresses"]["namespaced"])
        self.assertEqual(res["ingresses"]["shortNames"], ["ing"])
        self.assertIn("watch", res["ingresses"]["verbs"])
        self.assertEqual(res["ingresses/status"]["verbs"], ["get", "patch", "update"])
        self.assertFalse(res["ingressclasses"]["namespaced"])
        core = {r["name"]: r for r in self.api.ok("GET", "/api/v1")["resources"]}
        self.assertEqual(core["services"]["shortNames"], ["svc"])
        for name in ("namespaces", "secrets", "events", "configmaps"):
            self.assertIn(name, core)
        for path in ("/apis/discovery.k8s.io/v1", "/apis/coordination.k8s.io/v1",
                     "/apis/apiextensions.k8s.io/v1", "/apis/policy/v1", "/apis/apps/v1",
                     "/apis/rbac.authorization.k8s.io/v1"):
            self.assertTrue(self.api.ok("GET", path)["resources"])
        # kubectl 1.32 asks for aggregated discovery first; plain JSON is its fallback.
        status, headers, _ = Client(self.api).request("GET", "/apis", headers={
            "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                      "application/json"})
        self.assertEqual((status, headers["Content-Type"]), (200, "application/json"))
        self.assertIn("api/v1", self.api.ok("GET", "/openapi/v3")["paths"])
        self.assertStatus(self.api.request("GET", "/apis/nope.example/v1"), 404, "NotFound")

    def test_create_get_update_delete(self):
        ns = self.namespace("crud")
        path = R.collection_path("Ingress", ns)
        created = self.api.ok("POST", path, R.ingress(ns, "web"))
        md = created["metadata"]
        self.assertEqual((created["kind"], created["apiVersion"]),
                         ("Ingress", "networking.k8s.io/v1"))
        self.assertTrue(md["uid"])
        self.assertRegex(md["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(md["generation"], 1)
        got = self.api.ok("GET", f"{path}/web")
        self.assertEqual(got, created)

        err = self.assertStatus(self.api.request("POST", path, R.ingress(ns, "web")), 409,
                                "AlreadyExists")
        self.assertEqual(err["details"], {"name": "web", "group": "networking.k8s.io",
                                          "kind": "ingresses"})

        changed = json.loads(json.dumps(got))
        changed["spec"]["rules"][0]["host"] = "new.example.com"
        updated = self.api.ok("PUT", f"{path}/web", changed)
        self.assertGreater(rv(updated), rv(created))
        self.assertEqual(updated["metadata"]["generation"], 2)
        self.assertEqual(updated["metadata"]["uid"], md["uid"])
        # The same body again carries a stale resourceVersion now.
        self.assertStatus(self.api.request("PUT", f"{path}/web", changed), 409, "Conflict")
        # No resourceVersion: an unconditional update. Changing nothing is a no-op.
        del changed["metadata"]["resourceVersion"]
        self.assertEqual(rv(self.api.ok("PUT", f"{path}/web", changed)), rv(updated))
        changed["metadata"]["labels"] = {"a": "b"}
        relabeled = self.api.ok("PUT", f"{path}/web", changed)
        self.assertGreater(rv(relabeled), rv(updated))
        self.assertEqual(relabeled["metadata"]["generation"], 2)  # metadata only

        done = self.api.ok("DELETE", f"{path}/web")
        self.assertEqual((done["kind"], done["status"]), ("Status", "Success"))
        self.assertEqual(done["details"]["uid"], md["uid"])
        err = self.assertStatus(self.api.request("GET", f"{path}/web"), 404, "NotFound")
        self.assertEqual(err["message"], 'ingresses.networking.k8s.io "web" not found')
        self.assertStatus(self.api.request("DELETE", f"{path}/web"), 404, "NotFound")
        self.assertStatus(self.api.request("PUT", f"{path}/web", changed), 404, "NotFound")

    def test_request_errors(self):
        ns = self.namespace("errors")
        err = self.assertStatus(self.api.request("POST", R.collection_path("Service", "nope"),
                                                 R.service("nope", "web")), 404, "NotFound")
        self.assertEqual(err["message"], 'namespaces "nope" not found')
        self.assertStatus(self.api.request("POST", R.collection_path("Service", ns),
                                           R.service("other", "web")), 400, "BadRequest")
        self.assertStatus(self.api.request("POST", R.collection_path("Service", ns),
                                           R.ingress(ns, "web")), 400, "BadRequest")
        self.assertStatus(self.api.request("POST", R.collection_path("Service", ns),
                                           {"metadata": {}}), 422, "Invalid")
        status, _, _ = Client(self.api).request("POST", R.collection_path("Service", ns),
                                                body=b"{not json")
        self.assertEqual(status, 400)
        self.assertStatus(self.api.request("GET", "/api/v1/nothings"), 404, "NotFound")
        self.assertStatus(self.api.request("GET", f"{ING}/namespaces/{ns}/ingressclasses"),
                          404, "NotFound")

    def test_namespace_defaults_and_generate_name(self):
        ns = self.namespace("defaults")
        obj = R.secret(ns, "", {})
        del obj["metadata"]["namespace"], obj["metadata"]["name"]
        obj["metadata"]["generateName"] = "tok-"
        obj["stringData"] = {"k": "v"}
        made = self.api.ok("POST", R.collection_path("Secret", ns), obj)
        self.assertEqual(made["metadata"]["namespace"], ns)
        self.assertRegex(made["metadata"]["name"], r"^tok-[a-z0-9]{5}$")
        self.assertEqual(made["data"], {"k": "dg=="})
        svc = self.api.ok("POST", R.collection_path("Service", ns), R.service(ns, "web"))
        self.assertRegex(svc["spec"]["clusterIP"], r"^10\.96\.\d+\.\d+$")
        self.assertEqual(svc["spec"]["ports"][0]["protocol"], "TCP")

    def test_resource_version_is_global_and_increasing(self):
        ns = self.namespace("rv")
        a = self.api.ok("POST", R.collection_path("Service", ns), R.service(ns, "a"))
        b = self.api.ok("POST", R.collection_path("Ingress", ns), R.ingress(ns, "b"))
        c = self.api.ok("POST", R.collection_path("Secret", ns), R.secret(ns, "c", {}))
        self.assertLess(rv(a), rv(b))
        self.assertLess(rv(b), rv(c))
        lst = self.api.ok("GET", "/api/v1/secrets?limit=1")
        self.assertGreaterEqual(int(lst["metadata"]["resourceVersion"]), rv(c))

    def test_status_subresource(self):
        ns = self.namespace("status")
        path = R.object_path("Ingress", ns, "web")
        obj = R.ingress(ns, "web")
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}
        created = self.api.ok("POST", R.collection_path("Ingress", ns), obj)
        self.assertNotIn("status", created)  # ignored on create
        lb = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
        body = dict(created, status=lb)
        body["spec"] = {"ingressClassName": "ignored-here"}
        after = self.api.ok("PUT", path + "/status", body)
        self.assertEqual(after["status"], lb)
        self.assertEqual(after["spec"], created["spec"])
        self.assertEqual(after["metadata"]["generation"], 1)
        self.assertEqual(self.api.ok("GET", path + "/status"), after)
        # The main resource keeps the status whatever its body says.
        main = dict(after, status={})
        main["metadata"] = dict(after["metadata"], labels={"x": "y"})
        self.assertEqual(self.api.ok("PUT", path, main)["status"], lb)
        patched = self.api.ok("PATCH", path + "/status",
                              {"status": {"loadBalancer": {"ingress": [{"hostname": "lb"}]}}},
                              content_type="application/merge-patch+json")
        self.assertEqual(patched["status"]["loadBalancer"]["ingress"], [{"hostname": "lb"}])
        self.assertStatus(self.api.request("PUT", R.object_path("Secret", ns, "x") + "/status",
                                           {}), 404, "NotFound")

    def test_patches(self):
        ns = self.namespace("patch")
        path = R.object_path("Service", ns, "web")
        svc = R.service(ns, "web")
        svc["spec"]["ports"].append({"name": "https", "port": 443, "targetPort": 8443})
        self.api.ok("POST", R.collection_path("Service", ns), svc)
        merged = self.api.ok("PATCH", path, {"metadata": {"labels": {"a": "1"}},
                                             "spec": {"selector": None}},
                             content_type="application/merge-patch+json")
        self.assertEqual(merged["metadata"]["labels"], {"a": "1"})
        self.assertNotIn("selector", merged["spec"])
        # What kubectl apply sends to drop one port and change another.
        smp = {"spec": {"$setElementOrder/ports": [{"port": 80}],
                        "ports": [{"port": 80, "targetPort": 9090},
                                  {"$patch": "delete", "port": 443}]}}
        out = self.api.ok("PATCH", path, smp, content_type="application/strategic-merge-patch+json")
        self.assertEqual([(p["port"], p["targetPort"], p["name"]) for p in out["spec"]["ports"]],
                         [(80, 9090, "http")])
        jp = [{"op": "add", "path": "/metadata/annotations", "value": {"x/y": "z"}},
              {"op": "replace", "path": "/spec/ports/0/name", "value": "web"},
              {"op": "test", "path": "/metadata/labels/a", "value": "1"}]
        out = self.api.ok("PATCH", path, jp, content_type="application/json-patch+json")
        self.assertEqual(out["metadata"]["annotations"], {"x/y": "z"})
        self.assertEqual(out["spec"]["ports"][0]["name"], "web")
        self.assertStatus(self.api.request("PATCH", path, [{"op": "test", "path": "/kind",
                                                            "value": "Pod"}],
                                           content_type="application/json-patch+json"),
                          422, "Invalid")
        stale = {"metadata": {"resourceVersion": "1"}, "spec": {"type": "NodePort"}}
        self.assertStatus(self.api.request("PATCH", path, stale,
                                           content_type="application/merge-patch+json"),
                          409, "Conflict")
        self.assertStatus(self.api.request("PATCH", path, {}, content_type="text/plain"),
                          415, "UnsupportedMediaType")
        self.assertStatus(self.api.request("PATCH", R.object_path("Service", ns, "none"), {},
                                           content_type="application/merge-patch+json"),
                          404, "NotFound")

    def test_list_pages_are_a_consistent_snapshot(self):
        ns = self.namespace("pages")
        path = f"/api/v1/namespaces/{ns}/configmaps"
        for i in range(25):
            self.api.ok("POST", path, configmap(ns, f"cm-{i:02d}"))
        first = self.api.ok("GET", path + "?limit=10")
        self.assertEqual(first["kind"], "ConfigMapList")
        self.assertEqual(len(first["items"]), 10)
        self.assertEqual(first["metadata"]["remainingItemCount"], 15)
        self.assertNotIn("kind", first["items"][0])  # like the real server's typed lists
        # Changes after the first page do not show in the next ones.
        self.api.ok("DELETE", f"{path}/cm-20")
        self.api.ok("POST", path, configmap(ns, "cm-99"))
        names = [o["metadata"]["name"] for o in first["items"]]
        page = first
        while page["metadata"].get("continue"):
            page = self.api.ok("GET", f"{path}?limit=10&continue={page['metadata']['continue']}")
            self.assertEqual(page["metadata"]["resourceVersion"],
                             first["metadata"]["resourceVersion"])
            names += [o["metadata"]["name"] for o in page["items"]]
        self.assertEqual(names, [f"cm-{i:02d}" for i in range(25)])
        now = [o["metadata"]["name"] for o in self.api.ok("GET", path)["items"]]
        self.assertIn("cm-99", now)
        self.assertNotIn("cm-20", now)
        # resourceVersion=0 is served whole, like the real server's watch cache.
        self.assertEqual(len(self.api.ok("GET", path + "?limit=10&resourceVersion=0")["items"]),
                         25)
        # All namespaces: sorted by namespace/name.
        keys = [(o["metadata"]["namespace"], o["metadata"]["name"])
                for o in self.api.ok("GET", "/api/v1/configmaps")["items"]]
        self.assertEqual(keys, sorted(keys, key=lambda k: f"{k[0]}/{k[1]}"))

    def test_continue_token_expires_after_compaction(self):
        ns = self.namespace("expire")
        path = f"/api/v1/namespaces/{ns}/configmaps"
        for i in range(3):
            self.api.ok("POST", path, configmap(ns, f"cm-{i}"))
        token = self.api.ok("GET", path + "?limit=1")["metadata"]["continue"]
        self.api.ok("POST", path, configmap(ns, "later"))
        self.api.fault("compact")
        self.assertStatus(self.api.request("GET", f"{path}?limit=1&continue={token}"), 410,
                          "Expired")
        self.assertStatus(self.api.request("GET", f"{path}?limit=1&continue=garbage"), 400,
                          "BadRequest")

    def test_selectors(self):
        ns = self.namespace("select")
        path = f"/api/v1/namespaces/{ns}/configmaps"
        labels = {"a": {"app": "web", "tier": "1"}, "b": {"app": "api", "tier": "2"},
                  "c": {"app": "db"}, "d": {}}
        for name, lab in labels.items():
            self.api.ok("POST", path, configmap(ns, name, lab))

        def names(query):
            return [o["metadata"]["name"] for o in self.api.ok("GET", f"{path}?{query}")["items"]]
        cases = {
            "labelSelector=app%3Dweb": ["a"], "labelSelector=app%3D%3Dapi": ["b"],
            "labelSelector=app!%3Dweb": ["b", "c", "d"],
            "labelSelector=app+in+(web,db)": ["a", "c"],
            "labelSelector=app+notin+(web,db)": ["b", "d"],
            "labelSelector=tier": ["a", "b"], "labelSelector=!tier": ["c", "d"],
            "labelSelector=app,tier%3D2": ["b"], "labelSelector=tier%3E1": ["b"],
            "fieldSelector=metadata.name%3Dc": ["c"],
            "fieldSelector=metadata.name!%3Dc,metadata.namespace%3D" + ns: ["a", "b", "d"],
            "labelSelector=app&fieldSelector=metadata.name%3Da&limit=1": ["a"],
        }
        for query, want in cases.items():
            self.assertEqual(names(query), want, query)
        page = self.api.ok("GET", f"{path}?labelSelector=app&limit=2")
        self.assertEqual(len(page["items"]), 2)
        rest = self.api.ok("GET", f"{path}?labelSelector=app&limit=2&continue="
                                  f"{page['metadata']['continue']}")
        self.assertEqual([o["metadata"]["name"] for o in rest["items"]], ["c"])
        self.assertNotIn("continue", rest["metadata"])
        self.assertStatus(self.api.request("GET", f"{path}?labelSelector=a+b+c"), 400,
                          "BadRequest")

    def test_watch_replays_from_a_resource_version(self):
        ns = self.namespace("replay")
        path = R.collection_path("Service", ns)
        start = rv(self.api.ok("POST", path, R.service(ns, "before")))
        added = self.api.ok("POST", path, R.service(ns, "web"))
        modified = self.api.ok("PATCH", f"{path}/web", {"metadata": {"labels": {"v": "2"}}},
                               content_type="application/merge-patch+json")
        self.api.ok("DELETE", f"{path}/web")
        w = self.watch(f"{path}?watch=1&resourceVersion={start}")
        self.assertEqual(w.headers["Transfer-Encoding"], "chunked")
        events = w.take(3)
        self.assertEqual([e["type"] for e in events], ["ADDED", "MODIFIED", "DELETED"])
        self.assertEqual(events[0]["object"]["metadata"]["uid"], added["metadata"]["uid"])
        self.assertEqual(events[0]["object"]["kind"], "Service")
        self.assertEqual(rv(events[1]["object"]), rv(modified))
        self.assertGreater(rv(events[2]["object"]), rv(modified))
        # Live events follow the replayed ones.
        self.api.ok("POST", path, R.service(ns, "live"))
        live = w.take(1)[0]
        self.assertEqual((live["type"], live["object"]["metadata"]["name"]), ("ADDED", "live"))

    def test_watch_without_resource_version_starts_with_the_current_objects(self):
        ns = self.namespace("initial")
        path = R.collection_path("Service", ns)
        for name in ("a", "b"):
            self.api.ok("POST", path, R.service(ns, name))
        for query in ("watch=true", "watch=1&resourceVersion=0"):
            w = self.watch(f"{path}?{query}")
            events = w.take(2)
            self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                             [("ADDED", "a"), ("ADDED", "b")])
        self.api.ok("POST", path, R.service(ns, "c"))
        self.assertEqual(w.take(1)[0]["object"]["metadata"]["name"], "c")

    def test_watch_selectors_see_objects_enter_and_leave(self):
        ns = self.namespace("wsel")
        path = f"/api/v1/namespaces/{ns}/configmaps"
        start = rv(self.api.ok("POST", path, configmap(ns, "x", {"app": "web"})))
        w = self.watch(f"{path}?watch=1&resourceVersion={start}&labelSelector=app%3Dweb")
        self.api.ok("POST", path, configmap(ns, "other", {"app": "api"}))
        for app in ("api", "web"):
            self.api.ok("PATCH", f"{path}/x", {"metadata": {"labels": {"app": app}}},
                        content_type="application/merge-patch+json")
        self.api.ok("DELETE", f"{path}/x")
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in w.take(3)],
                         [("DELETED", "x"), ("ADDED", "x"), ("DELETED", "x")])
        w2 = self.watch(f"/api/v1/configmaps?watch=1&fieldSelector=metadata.namespace%3D{ns}"
                        f"&resourceVersion={start}")
        self.assertEqual(w2.take(1)[0]["object"]["metadata"]["name"], "other")

    def test_watch_timeout_and_bookmarks(self):
        ns = self.namespace("bookmarks")
        t0 = time.monotonic()
        w = self.watch(f"{R.collection_path('Ingress', ns)}?watch=1&allowWatchBookmarks=true"
                       f"&timeoutSeconds=2&resourceVersion={self.api.stats()['resourceVersion']}")
        events = w.rest()  # ends cleanly at the timeout
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)
        self.assertTrue(events)
        for e in events:  # nothing but kind, apiVersion and the resourceVersion
            self.assertEqual(e["type"], "BOOKMARK")
            version = e["object"]["metadata"]["resourceVersion"]
            self.assertEqual(e["object"], {"kind": "Ingress", "apiVersion": "networking.k8s.io/v1",
                                           "metadata": {"resourceVersion": version}})
        # A bookmark's resourceVersion covers writes to other kinds too.
        last = rv(self.api.ok("POST", R.collection_path("Service", ns), R.service(ns, "s")))
        w = self.watch(f"{R.collection_path('Ingress', ns)}?watch=1&allowWatchBookmarks=1"
                       f"&resourceVersion={last - 1}")
        self.assertGreaterEqual(rv(w.take(1, skip_bookmarks=False)[0]["object"]), last)

    def test_watch_from_compacted_resource_version_gets_410(self):
        ns = self.namespace("gone")
        old = rv(self.api.ok("POST", R.collection_path("Service", ns), R.service(ns, "a")))
        self.api.ok("POST", R.collection_path("Service", ns), R.service(ns, "b"))
        self.api.fault("compact")
        w = self.watch(f"{R.collection_path('Service', ns)}?watch=1&resourceVersion={old}")
        events = w.rest()
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["type"], "ERROR")
        status = events[0]["object"]
        self.assertEqual((status["kind"], status["code"], status["reason"]),
                         ("Status", 410, "Expired"))
        # From the current resourceVersion, watching works again.
        now = self.api.stats()["resourceVersion"]
        w = self.watch(f"{R.collection_path('Service', ns)}?watch=1&resourceVersion={now}")
        self.api.ok("POST", R.collection_path("Service", ns), R.service(ns, "c"))
        self.assertEqual(w.take(1)[0]["object"]["metadata"]["name"], "c")

    def test_close_watches_ends_every_stream_cleanly(self):
        ns = self.namespace("close")
        now = self.api.stats()["resourceVersion"]
        streams = [self.watch(f"{R.collection_path('Ingress', ns)}?watch=1&resourceVersion={now}")
                   for _ in range(40)]
        wait_until(lambda: self.api.stats()["openWatches"] >= 40, what="40 open watches")
        self.api.ok("POST", R.collection_path("Ingress", ns), R.ingress(ns, "web"))
        for w in streams:
            self.assertEqual(w.take(1)[0]["object"]["metadata"]["name"], "web")
        self.api.fault("close-watches")
        for w in streams:
            self.assertEqual(w.rest(), [])  # the terminating chunk arrived: no IncompleteRead
        wait_until(lambda: self.api.stats()["openWatches"] == 0, what="no open watches")

    def test_a_closed_client_frees_its_watch(self):
        w = WatchStream(self.api, "/api/v1/namespaces?watch=1")
        w.take(1)
        wait_until(lambda: self.api.stats()["openWatches"] >= 1, what="a watch open")
        w.close()
        wait_until(lambda: self.api.stats()["openWatches"] == 0, what="the watch closed")

    def test_injected_failures(self):
        ns = self.namespace("fail")
        path = R.collection_path("Service", ns)
        self.api.fault("fail", count=2, status=500, match="watch")
        self.api.ok("GET", path)  # not a watch
        for _ in range(2):
            self.assertStatus(self.api.request("GET", path + "?watch=1"), 500, "InternalError")
        self.watch(path + "?watch=1").close()
        self.api.fault("fail", count=1, status=503)
        self.assertStatus(self.api.request("GET", "/api/v1/namespaces/default"), 503,
                          "ServiceUnavailable")
        self.api.ok("GET", "/api/v1/namespaces/default")
        self.api.fault("fail", count=5, status=500)
        self.api.fault("fail", count=0, status=500)  # clears
        self.api.ok("GET", "/api/v1/namespaces/default")
        self.assertGreaterEqual(self.api.stats()["injected"]["fail"], 3)

    def test_injected_delays(self):
        ns = self.namespace("delay")
        self.api.fault("delay", count=1, seconds=1, match=f"namespaces/{ns}/services")
        t0 = time.monotonic()
        self.api.ok("GET", "/api/v1/namespaces/default")  # does not match
        self.api.ok("GET", R.collection_path("Service", ns))
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        self.api.fault("delay", count=50, seconds=30)
        self.assertIsNotNone(self.api.stats()["delay"])
        self.api.fault("delay", count=0, seconds=0)  # clears (the stats call was not delayed)
        self.assertIsNone(self.api.stats()["delay"])
        self.api.ok("GET", R.collection_path("Service", ns))

    def test_stats_count_requests_by_verb(self):
        before = self.api.stats()["requests"]
        ns = self.namespace("stats")
        self.api.ok("GET", f"/api/v1/namespaces/{ns}")
        self.api.ok("GET", "/api/v1/namespaces")
        after = self.api.stats()
        for verb in ("create", "get", "list"):
            self.assertEqual(after["requests"][verb], before.get(verb, 0) + 1, verb)
        self.assertGreaterEqual(after["resourceVersion"], after["compactedResourceVersion"])

    def test_leases_and_events(self):
        ns = self.namespace("lease")
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "spoke-leader", "namespace": ns},
                 "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}
        path = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
        made = self.api.ok("POST", path, lease)
        w = self.watch(f"{path}?watch=1&resourceVersion={rv(made)}")
        made["spec"]["holderIdentity"] = "b"
        self.api.ok("PUT", f"{path}/spoke-leader", made)
        self.assertStatus(self.api.request("PUT", f"{path}/spoke-leader", made), 409, "Conflict")
        ev = w.take(1)[0]
        self.assertEqual((ev["type"], ev["object"]["spec"]["holderIdentity"]), ("MODIFIED", "b"))
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": "web.1", "namespace": ns},
                 "involvedObject": {"kind": "Ingress", "name": "web", "namespace": ns},
                 "reason": "Synced", "message": "ok", "type": "Normal", "count": 1}
        self.api.ok("POST", f"/api/v1/namespaces/{ns}/events", event)
        got = self.api.ok("GET", f"/api/v1/namespaces/{ns}/events?fieldSelector="
                                 f"involvedObject.name%3Dweb")
        self.assertEqual([e["reason"] for e in got["items"]], ["Synced"])

    def test_namespace_deletion_takes_its_objects(self):
        ns = self.namespace("doomed")
        self.api.ok("POST", R.collection_path("Service", ns), R.service(ns, "web"))
        gone = self.api.ok("DELETE", f"/api/v1/namespaces/{ns}")
        self.assertEqual(gone["status"]["phase"], "Terminating")
        self.assertStatus(self.api.request("POST", R.collection_path("Service", ns),
                                           R.service(ns, "new")), 403, "Forbidden")
        wait_until(lambda: self.api.request("GET", f"/api/v1/namespaces/{ns}")[0] == 404,
                   what="namespace gone")
        self.assertStatus(self.api.request("GET", R.object_path("Service", ns, "web")), 404,
                          "NotFound")
        self.assertStatus(self.api.request("DELETE", "/api/v1/namespaces/default"), 403,
                          "Forbidden")


class CustomResourceTest(ServerTestCase):
    def test_crd_lifecycle(self):
        api = self.api
        cr_path = R.collection_path("IngressParameters", "default")
        self.assertStatus(api.request("GET", cr_path), 404, "NotFound")
        self.assertStatus(api.request("GET", "/apis/spoke.dev/v1alpha1"), 404, "NotFound")
        bad = crd()
        bad["metadata"]["name"] = "wrong.spoke.dev"
        self.assertStatus(api.request("POST", "/apis/apiextensions.k8s.io/v1/"
                                              "customresourcedefinitions", bad), 422, "Invalid")

        made = api.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd())
        conditions = {c["type"]: c["status"] for c in made["status"]["conditions"]}
        self.assertEqual(conditions["Established"], "True")
        groups = {g["name"] for g in api.ok("GET", "/apis")["groups"]}
        self.assertIn("spoke.dev", groups)
        res = {r["name"]: r for r in api.ok("GET", "/apis/spoke.dev/v1alpha1")["resources"]}
        self.assertEqual(res["ingressparameters"]["kind"], "IngressParameters")
        self.assertEqual(res["ingressparameters"]["shortNames"], ["ingp"])
        self.assertIn("ingressparameters/status", res)

        start = api.stats()["resourceVersion"]
        w = self.watch(f"/apis/spoke.dev/v1alpha1/ingressparameters?watch=1"
                       f"&resourceVersion={start}")
        obj = {"apiVersion": "spoke.dev/v1alpha1", "kind": "IngressParameters",
               "metadata": {"name": "params"}, "spec": {"timeouts": {"connect": "5s"}}}
        cr = api.ok("POST", cr_path, obj)
        self.assertEqual(cr["metadata"]["namespace"], "default")
        status = api.ok("PATCH", R.object_path("IngressParameters", "default", "params") +
                        "/status", {"status": {"ok": True}},
                        content_type="application/merge-patch+json")
        self.assertEqual(status["status"], {"ok": True})
        self.assertStatus(api.request("PATCH", R.object_path("IngressParameters", "default",
                                                             "params"), {"spec": {}},
                                      content_type="application/strategic-merge-patch+json"),
                          415, "UnsupportedMediaType")
        items = api.ok("GET", cr_path)["items"]
        self.assertEqual(items[0]["kind"], "IngressParameters")  # custom lists keep kinds
        self.assertEqual([e["type"] for e in w.take(2)], ["ADDED", "MODIFIED"])

        api.ok("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                         "ingressparameters.spoke.dev")
        events = w.rest()  # the objects go, then the watch ends
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("DELETED", "params")])
        wait_until(lambda: api.request("GET", cr_path)[0] == 404, what="CR path gone")
        self.assertNotIn("spoke.dev", {g["name"] for g in api.ok("GET", "/apis")["groups"]})

    def test_custom_resource_generation_and_status(self):
        """What the agent's IngressParameters status relies on: a spec change
        bumps metadata.generation, a /status write does not, and a write of
        the main resource keeps the status."""
        api = self.api
        api.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd())
        path = R.object_path("IngressParameters", "default", "gen")
        made = api.ok("POST", "/apis/spoke.dev/v1alpha1/namespaces/default/ingressparameters",
                      {"apiVersion": "spoke.dev/v1alpha1", "kind": "IngressParameters",
                       "metadata": {"name": "gen"}, "spec": {"maxconn": 100}})
        self.assertEqual(made["metadata"]["generation"], 1)
        st = api.ok("PATCH", path + "/status", {"status": {"observedGeneration": 1}},
                    content_type="application/merge-patch+json")
        self.assertEqual(st["metadata"]["generation"], 1)
        changed = api.ok("PATCH", path, {"spec": {"maxconn": 200}},
                         content_type="application/merge-patch+json")
        self.assertEqual(changed["metadata"]["generation"], 2)
        self.assertEqual(changed["status"], {"observedGeneration": 1})
        relabeled = api.ok("PATCH", path, {"metadata": {"labels": {"a": "b"}}},
                           content_type="application/merge-patch+json")
        self.assertEqual(relabeled["metadata"]["generation"], 2)
        api.ok("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                         "ingressparameters.spoke.dev")

    def test_cluster_scoped_crd(self):
        api = self.api
        spec = crd(scope="Cluster", status=False)
        spec["metadata"]["name"] = "clusterparams.test.spoke.dev"
        spec["spec"]["group"] = "test.spoke.dev"
        spec["spec"]["names"] = {"plural": "clusterparams", "kind": "ClusterParams"}
        api.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", spec)
        path = "/apis/test.spoke.dev/v1alpha1/clusterparams"
        made = api.ok("POST", path, {"apiVersion": "test.spoke.dev/v1alpha1",
                                     "kind": "ClusterParams", "metadata": {"name": "global"},
                                     "spec": {}})
        self.assertNotIn("namespace", made["metadata"])
        self.assertStatus(api.request("GET", "/apis/test.spoke.dev/v1alpha1/namespaces/default/"
                                             "clusterparams"), 404, "NotFound")
        self.assertStatus(api.request("PUT", f"{path}/global/status", made), 404, "NotFound")


class RestartTest(unittest.TestCase):
    def setUp(self):
        self.work = make_workdir("apiserver-restart")
        self.api = ApiServer(self.work)
        self.api.start()
        self.addCleanup(remove_workdir, self.work)
        self.addCleanup(self.api.stop)

    def read(self, name):
        with open(os.path.join(self.api.dir, name), "rb") as f:
            return f.read()

    def test_restart_keeps_objects_credentials_and_resource_version_order(self):
        api = self.api
        api.ok("POST", "/api/v1/namespaces", R.namespace("keep"))
        api.ok("POST", R.collection_path("Ingress", "keep"), R.ingress("keep", "web"))
        api.ok("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd())
        api.ok("POST", R.collection_path("IngressParameters", "keep"),
               {"apiVersion": "spoke.dev/v1alpha1", "kind": "IngressParameters",
                "metadata": {"name": "p"}, "spec": {}})
        before = api.stats()["resourceVersion"]
        files = {n: self.read(n) for n in ("ca.crt", "token", "kubeconfig")}
        port = api.port
        api.restart()
        self.assertEqual(api.port, port)
        self.assertEqual({n: self.read(n) for n in files}, files)
        self.assertEqual(api.ok("GET", R.object_path("Ingress", "keep", "web"))["spec"]
                         ["rules"][0]["host"], "example.com")
        self.assertEqual(api.ok("GET", R.object_path("IngressParameters", "keep", "p"))
                         ["metadata"]["name"], "p")
        # The history is gone: watching from before the restart is a 410.
        w = WatchStream(api, f"{R.collection_path('Ingress', 'keep')}?watch=1"
                             f"&resourceVersion={before - 1}")
        self.addCleanup(w.close)
        self.assertEqual(w.rest()[0]["object"]["code"], 410)
        made = api.ok("POST", R.collection_path("Ingress", "keep"), R.ingress("keep", "new"))
        self.assertGreater(rv(made), before)


class PreloadTest(unittest.TestCase):
    COUNT = 10000

    def test_preload_and_list_in_pages(self):
        work = make_workdir("apiserver-preload")
        self.addCleanup(remove_workdir, work)
        objs = [R.namespace("bench")] + [R.ingress("bench", f"app-{i:05d}")
                                         for i in range(self.COUNT)]
        pre = os.path.join(work, "preload.json")
        with open(pre, "w") as f:
            json.dump(objs, f)
        api = ApiServer(work, extra_args=["--preload", pre])
        api.start(timeout=60)
        self.addCleanup(api.stop)
        names, cont, pages = [], "", 0
        while True:
            page = api.ok("GET", R.collection_path("Ingress") + "?limit=500" +
                          (f"&continue={cont}" if cont else ""))
            names += [o["metadata"]["name"] for o in page["items"]]
            pages += 1
            cont = page["metadata"].get("continue")
            if not cont:
                break
        self.assertEqual(pages, self.COUNT // 500)
        self.assertEqual(names, [f"app-{i:05d}" for i in range(self.COUNT)])
        # Many watchers at once all see the next change.
        now = api.stats()["resourceVersion"]
        streams = []
        results = []

        def follow(w):
            results.append(w.take(1)[0]["object"]["metadata"]["name"])
        for _ in range(30):
            streams.append(WatchStream(api, f"{R.collection_path('Ingress')}?watch=1"
                                            f"&resourceVersion={now}", timeout=20))
            self.addCleanup(streams[-1].close)
        threads = [threading.Thread(target=follow, args=(w,)) for w in streams]
        for t in threads:
            t.start()
        api.ok("POST", R.collection_path("Ingress", "bench"), R.ingress("bench", "one-more"))
        for t in threads:
            t.join(30)
        self.assertEqual(results, ["one-more"] * 30)


class WatchStreamTest(unittest.TestCase):
    """Guards the tests above: a stream cut short before its last chunk must not
    look like a clean end to rawclient.WatchStream (http.client's readline()
    would hide it)."""

    @staticmethod
    def stream(chunks):
        raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
        sock = type("Sock", (), {"makefile": lambda self, mode: io.BufferedReader(
            io.BytesIO(raw))})()
        w = WatchStream.__new__(WatchStream)
        w.response, w.buf = http.client.HTTPResponse(sock), b""
        w.response.begin()
        return w

    def test_clean_end(self):
        self.assertEqual(self.stream(b"3\r\n{}\n\r\n0\r\n\r\n").rest(), [{}])

    def test_truncated_stream(self):
        w = self.stream(b"3\r\n{}\n\r\n")
        self.assertEqual(w.next(), {})
        with self.assertRaises(http.client.IncompleteRead):
            w.next()


if __name__ == "__main__":
    unittest.main()
