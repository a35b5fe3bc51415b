"""test_patching.py - unit tests of the test API server's pure parts: the three
patch formats and the label/field selector grammar (no server started).

    python3 e2e/run.py e2e/apiserver -k patching
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [p for p in (HERE, os.path.dirname(HERE)) if p not in sys.path]

from apierrors import ApiError  # noqa: E402
from patching import json_patch, merge_patch, strategic_merge_patch  # noqa: E402
from selection import Selector  # noqa: E402


class MergePatchTest(unittest.TestCase):
    def test_rfc7386_examples(self):
        cases = [
            ({"a": "b"}, {"a": "c"}, {"a": "c"}),
            ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
            ({"a": "b"}, {"a": None}, {}),
            ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
            ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
            ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
            ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
            ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
            ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ]
        for target, patch, want in cases:
            self.assertEqual(merge_patch(target, patch), want, (target, patch))

    def test_arguments_are_not_changed(self):
        target = {"a": {"b": 1}}
        merge_patch(target, {"a": {"b": 2}})
        self.assertEqual(target, {"a": {"b": 1}})


class JsonPatchTest(unittest.TestCase):
    def test_operations(self):
        doc = {"a": {"b": [1, 2]}, "c": "x", "~/": 0}
        out = json_patch(doc, [
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "add", "path": "/a/b/0", "value": 0},
            {"op": "remove", "path": "/a/b/1"},
            {"op": "replace", "path": "/c", "value": "y"},
            {"op": "copy", "from": "/c", "path": "/d"},
            {"op": "move", "from": "/d", "path": "/e"},
            {"op": "test", "path": "/~0~1", "value": 0},
        ])
        self.assertEqual(out, {"a": {"b": [0, 2, 3]}, "c": "y", "e": "y", "~/": 0})
        self.assertEqual(doc["a"]["b"], [1, 2])

    def test_errors(self):
        for ops in ([{"op": "remove", "path": "/nope"}], [{"op": "test", "path": "/c",
                                                            "value": 1}],
                    [{"op": "replace", "path": "/a/5", "value": 1}], [{"op": "frob", "path": ""}],
                    [{"path": "/a"}]):
            with self.assertRaises(ApiError, msg=ops) as e:
                json_patch({"a": [1], "c": 2}, ops)
            self.assertEqual(e.exception.code, 422)


class StrategicMergePatchTest(unittest.TestCase):
    def test_service_ports_merge_by_port(self):
        svc = {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080},
                                  {"name": "https", "port": 443}], "type": "ClusterIP"}}
        out = strategic_merge_patch(svc, {"spec": {"ports": [{"port": 8443, "name": "alt"},
                                                             {"port": 80, "targetPort": 9090}]}},
                                    "Service")
        self.assertEqual(out["spec"]["ports"], [
            {"name": "http", "port": 80, "targetPort": 9090}, {"name": "https", "port": 443},
            {"port": 8443, "name": "alt"}])

    def test_directives(self):
        pod = {"metadata": {"finalizers": ["a", "b"]},
               "spec": {"containers": [{"name": "x", "image": "1", "env": [{"name": "A"}]},
                                       {"name": "y", "image": "2"}],
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"max": 1}}}}
        patch = {
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]},
            "spec": {
                "$setElementOrder/containers": [{"name": "y"}, {"name": "x"}],
                "containers": [{"name": "x", "image": "3"}],
                "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            },
        }
        out = strategic_merge_patch(pod, patch, "Deployment")
        self.assertEqual(out["metadata"]["finalizers"], ["b", "c"])
        self.assertEqual(out["spec"]["containers"], [
            {"name": "y", "image": "2"}, {"name": "x", "image": "3", "env": [{"name": "A"}]}])
        self.assertEqual(out["spec"]["strategy"], {"type": "Recreate"})

    def test_replace_and_delete(self):
        obj = {"spec": {"containers": [{"name": "x"}, {"name": "y"}], "sel": {"a": "1"},
                        "gone": {"b": 1}}}
        patch = {"spec": {"containers": [{"name": "z"}, {"$patch": "replace"}],
                          "sel": {"$patch": "replace", "c": "2"}, "gone": {"$patch": "delete"}}}
        self.assertEqual(strategic_merge_patch(obj, patch, "Pod"),
                         {"spec": {"containers": [{"name": "z"}], "sel": {"c": "2"}}})
        out = strategic_merge_patch(obj, {"spec": {"containers": [{"name": "x",
                                                                   "$patch": "delete"}]}}, "Pod")
        self.assertEqual(out["spec"]["containers"], [{"name": "y"}])

    def test_lists_without_a_merge_key_are_replaced(self):
        ing = {"spec": {"rules": [{"host": "a"}, {"host": "b"}]},
               "ports": [{"port": 1}, {"port": 2}]}
        out = strategic_merge_patch(ing, {"spec": {"rules": [{"host": "c", "x": None}]}},
                                    "Ingress")
        self.assertEqual(out["spec"]["rules"], [{"host": "c"}])
        # EndpointSlice ports are atomic: no merge on "port" outside a Service.
        out = strategic_merge_patch(ing, {"ports": [{"port": 2}]}, "EndpointSlice")
        self.assertEqual(out["ports"], [{"port": 2}])


class SelectorTest(unittest.TestCase):
    def obj(self, labels, name="n", ns="ns"):
        return {"metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": {"type": "T", "on": True}}

    def test_label_selector_grammar(self):
        o = self.obj({"app": "web", "tier": "3", "example.com/team": "a"})
        yes = ["", "app=web", "app==web", "app!=api", "app in (web, api)", "app notin (api)",
               "tier", "!missing", "tier>2", "tier<4", "example.com/team=a",
               "app=web,tier in (1,3),!missing", " app = web "]
        no = ["app=api", "app!=web", "app in (api)", "app notin (web,x)", "missing",
              "!tier", "tier>3", "app>1", "missing=", "app=web,missing"]
        for s in yes:
            self.assertTrue(Selector(labels=s).matches(o), s)
        for s in no:
            self.assertFalse(Selector(labels=s).matches(o), s)
        self.assertTrue(Selector(labels="x=").matches(self.obj({"x": ""})))
        self.assertFalse(Selector(labels="x=").matches(self.obj({})))

    def test_label_selector_errors(self):
        for bad in ("app=web=x", "a b", "in (x)", "app in web", "tier>x", "app=(x)", ",,"):
            with self.assertRaises(ApiError, msg=bad) as e:
                Selector(labels=bad)
            self.assertEqual(e.exception.code, 400)

    def test_field_selector(self):
        o = self.obj({}, name="web")
        for s in ("metadata.name=web", "metadata.name==web", "metadata.namespace=ns",
                  "metadata.name!=x,spec.type=T", "spec.on=true", "status.phase="):
            self.assertTrue(Selector(fields=s).matches(o), s)
        for s in ("metadata.name=x", "metadata.namespace!=ns", "spec.on=false"):
            self.assertFalse(Selector(fields=s).matches(o), s)
        with self.assertRaises(ApiError):
            Selector(fields="metadata.name")


if __name__ == "__main__":
    unittest.main()
