"""test_manifests.py - the kubectl apply bundle (manifests/deploy.yaml), the
default IngressParameters (manifests/parameters.yaml) and the examples
(manifests/examples/) against the test API server: they apply cleanly,
every object reads back as it was applied, a second apply changes nothing,
the RBAC rules grant exactly the API calls the agent makes (the table below,
checked against a real agent's requests), and the Deployment runs the agent
with flags it accepts.

    python3 e2e/run.py e2e -k manifests
"""
import base64
import json
import os
import re
import subprocess
import tempfile
import unittest

from lib.agent import Agent, spoke_bin
from lib.apiserver import ApiServer
from lib.cluster import kubectl, make_workdir, remove_workdir
from lib.ports import free_port
from lib.wait import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLE = os.path.join(ROOT, "manifests", "deploy.yaml")
PARAMETERS = os.path.join(ROOT, "manifests", "parameters.yaml")
EXAMPLES = os.path.join(ROOT, "manifests", "examples")
CRD_FILE = os.path.join(ROOT, "crds", "ingressparameters.yaml")
RESOURCES_C = os.path.join(ROOT, "agent", "src", "kube", "resources.c")
INGRESS_CLASS_H = os.path.join(ROOT, "agent", "src", "model", "ingress_class.h")

# Every API call the agent makes, or will make for the parts of issue 6 that
# are being built, as (verb, API group, resource, scope). Scope "cluster":
# in every namespace (granted by the ClusterRole); "own": only in the agent's
# namespace (granted by the Role). The watched kinds are added from
# agent/src/kube/resources.c, so a new informer fails this test until the
# ClusterRole (and this comment's reasoning) covers it.
WATCH_VERBS = (
    "list",   # informer: paginated LIST, and the re-list after 410 Gone
    "watch",  # informer: WATCH with bookmarks
    "get",    # single reads; LIST already returns the same objects, so get widens nothing
)
PLANNED_CALLS = [
    # Ingress status (the load-balancer address), written by the leader.
    ("update", "networking.k8s.io", "ingresses/status", "cluster"),
    ("patch", "networking.k8s.io", "ingresses/status", "cluster"),
    # IngressParameters status: observedGeneration, Accepted/Applied conditions.
    ("update", "spoke.dev", "ingressparameters/status", "cluster"),
    ("patch", "spoke.dev", "ingressparameters/status", "cluster"),
    # Events on Ingresses; patch counts a repeated one (deduplication).
    ("create", "", "events", "cluster"),
    ("patch", "", "events", "cluster"),
    # Leader election with a coordination.k8s.io/v1 Lease.
    ("get", "coordination.k8s.io", "leases", "own"),
    ("create", "coordination.k8s.io", "leases", "own"),
    ("update", "coordination.k8s.io", "leases", "own"),
]


def watched_resources():
    """[(group, version, plural, kind, namespaced)] of the agent's informers."""
    with open(RESOURCES_C) as f:
        text = f.read()
    found = re.findall(r'KUBE_\w+\s*=\s*\{\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)",'
                       r'\s*(true|false)\s*\}', text)
    return [(g, v, p, k, n == "true") for g, v, p, k, n in found]


# Watched in the agent's own namespace only (kube_cache_add in agent.c).
OWN_NAMESPACE_RESOURCES = {"configmaps"}


def agent_calls():
    calls = {(verb, g, p, "own" if p in OWN_NAMESPACE_RESOURCES else "cluster")
             for g, _, p, _, _ in watched_resources() for verb in WATCH_VERBS}
    return calls | set(PLANNED_CALLS)


def parse_json_stream(text):
    """The objects of `kubectl ... -o json` for several files: JSON documents back to back."""
    dec = json.JSONDecoder()
    out, i = [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.extend(obj["items"] if obj.get("kind") == "List" else [obj])


def key(obj):
    md = obj["metadata"]
    group = obj["apiVersion"].rpartition("/")[0]
    return (group, obj["kind"], md.get("namespace", ""), md["name"])


def as_stored(obj):
    """What the server keeps of an applied object: a Secret's stringData goes into data."""
    if obj["kind"] != "Secret" or "stringData" not in obj:
        return obj
    obj = dict(obj)
    data = dict(obj.get("data") or {})
    for k, v in obj.pop("stringData").items():
        data[k] = base64.b64encode(v.encode()).decode()
    obj["data"] = data
    return obj


def differences(want, got, path=""):
    """Where got lacks or changes something of want (got may have more: defaults, status)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path}: {got!r} is not an object"]
        out = []
        for k, v in want.items():
            if k not in got:
                out.append(f"{path}.{k}: missing")
            else:
                out += differences(v, got[k], f"{path}.{k}")
        return out
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: {got!r} != {want!r}"]
        return [d for i, (w, g) in enumerate(zip(want, got))
                for d in differences(w, g, f"{path}[{i}]")]
    return [] if want == got else [f"{path}: {got!r} != {want!r}"]


def rule_grants(rules):
    """{(verb, group, resource)} a list of PolicyRules grants; wildcards are refused."""
    out = set()
    for r in rules:
        assert not r.get("nonResourceURLs"), f"nonResourceURLs granted: {r}"
        assert not r.get("resourceNames"), f"resourceNames are not used here: {r}"
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in r.get(field, []), f"wildcard in {field}: {r}"
        for g in r["apiGroups"]:
            for res in r["resources"]:
                for v in r["verbs"]:
                    out.add((v, g, res))
    return out


def call_from_log(line):
    """(verb, group, resource, namespace) of one request line of the API server's log,
    None for lines that are not requests of the agent."""
    m = re.search(r" INFO (GET|POST|PUT|PATCH|DELETE) (\S+) -> ", line)
    if not m or " ua=spoke/" not in line:  # the agent's own requests only (not kubectl's)
        return None
    method, target = m.groups()
    path, _, query = target.partition("?")
    segs = [s for s in path.split("/") if s]
    if segs[:1] == ["api"] and len(segs) >= 3:
        group, rest = "", segs[2:]
    elif segs[:1] == ["apis"] and len(segs) >= 4:
        group, rest = segs[1], segs[3:]
    else:
        return ("get", None, path, "")  # discovery, /version, ...: no resource
    ns = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns, rest = rest[1], rest[2:]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) >= 3 else "")
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    if method == "GET":
        verb = "watch" if params.get("watch") in ("1", "true") else "get" if len(rest) >= 2 \
            else "list"
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if len(rest) >= 2 else "deletecollection"}[method]
    return (verb, group, resource, ns)


def schema_defaults_differ(value, schema, path="spec"):
    """Fields of value whose scalar differs from the schema's default for it."""
    out = []
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for k, v in value.items():
            if k not in props:
                out.append(f"{path}.{k}: not in the schema")
            else:
                out += schema_defaults_differ(v, props[k], f"{path}.{k}")
    elif "default" in schema and value != schema["default"]:
        out.append(f"{path}: {value!r}, default {schema['default']!r}")
    return out


class ManifestsTest(unittest.TestCase):
    """One API server for the class; the tests build on each other in order."""

    @classmethod
    def setUpClass(cls):
        cls.work = make_workdir("manifests")
        cls.api = ApiServer(cls.work)
        cls.api.start()
        cls.converted = {}  # kubectl's reading of the YAML files, by path

    @classmethod
    def tearDownClass(cls):
        cls.api.stop()
        remove_workdir(cls.work)

    def kubectl(self, *args):
        p = kubectl(self.api, *args)
        self.assertEqual(p.stderr, "", f"kubectl {' '.join(args)} warned")
        return p.stdout

    def local(self, *paths):
        """The objects of YAML files or folders as kubectl reads (and would send) them."""
        key_ = tuple(paths)
        if key_ not in self.converted:
            args = [a for p in paths for a in ("-f", p)]
            self.converted[key_] = parse_json_stream(
                self.kubectl("create", "--dry-run=client", "-o", "json", *args))
        return self.converted[key_]

    def server(self, path):
        """The server's copies of the objects of a file or folder: one LIST per kind."""
        local = self.local(path)
        kinds = sorted({o["kind"].lower() + "." + key(o)[0] for o in local})
        items = parse_json_stream(self.kubectl("get", ",".join(k.rstrip(".") for k in kinds),
                                               "-A", "-o", "json"))
        wanted = {key(o) for o in local}
        return [o for o in items if key(o) in wanted]

    def apply(self, path):
        """{"kind/name": "created" | "configured" | "unchanged"} of one kubectl apply."""
        out = self.kubectl("apply", "-f", path)
        return dict(line.rsplit(" ", 1) for line in out.strip().splitlines())

    def assert_round_trip(self, path):
        applied = {key(o): as_stored(o) for o in self.local(path)}
        got = {key(o): o for o in self.server(path)}
        self.assertEqual(set(got), set(applied))
        for k, want in applied.items():
            self.assertEqual(differences(want, got[k]), [], f"{k} read back differently")
        return got

    def assert_apply_changes_nothing(self, path):
        """The server sees no change (no resourceVersion moves), and kubectl says
        "unchanged" except where it always sends a patch that changes nothing, as
        it does on a real cluster: a Secret's stringData (never stored as such)
        and a PodDisruptionBudget's selector (patchStrategy replace)."""
        before = {key(o): o["metadata"]["resourceVersion"] for o in self.server(path)}
        resent = {(o["kind"].lower(), o["metadata"]["name"]) for o in self.local(path)
                  if "stringData" in o or o["kind"] == "PodDisruptionBudget"}
        result = self.apply(path)
        for name, what in result.items():
            kind, _, obj = name.partition("/")
            self.assertEqual(what, "configured" if (kind.split(".")[0], obj) in resent else
                             "unchanged", name)
        after = {key(o): o["metadata"]["resourceVersion"] for o in self.server(path)}
        self.assertEqual(after, before)

    def bundle(self, kind, name=None):
        objs = [o for o in self.local(BUNDLE) if o["kind"] == kind and
                (name is None or o["metadata"]["name"] == name)]
        self.assertEqual(len(objs), 1, f"one {kind} {name or ''} in the bundle")
        return objs[0]

    # ---- the bundle -------------------------------------------------------------------

    def test_1_bundle_applies(self):
        objects = self.local(BUNDLE)
        result = self.apply(BUNDLE)
        self.assertEqual(len(result), len(objects))
        self.assertEqual(set(result.values()), {"created"}, result)
        kinds = [o["kind"] for o in objects]
        for kind in ("Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole",
                     "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service",
                     "PodDisruptionBudget", "IngressClass"):
            self.assertIn(kind, kinds)
        # The Namespace before everything in it, the CRD before the IngressClass naming it.
        self.assertEqual(kinds[0], "Namespace")
        self.assertLess(kinds.index("CustomResourceDefinition"), kinds.index("IngressClass"))

    def test_2_bundle_round_trips(self):
        self.assert_round_trip(BUNDLE)

    def test_3_bundle_apply_twice_changes_nothing(self):
        self.assert_apply_changes_nothing(BUNDLE)

    def test_4_default_parameters(self):
        self.kubectl("wait", "--for=condition=Established", "--timeout=20s",
                     "crd/ingressparameters.spoke.dev")
        self.assertEqual(set(self.apply(PARAMETERS).values()), {"created"})
        got = self.assert_round_trip(PARAMETERS)
        self.assert_apply_changes_nothing(PARAMETERS)
        (params,) = got.values()
        # The IngressClass points at it, and the agent watches this very resource.
        ref = self.bundle("IngressClass", "spoke")["spec"]["parameters"]
        self.assertEqual(ref, {"apiGroup": "spoke.dev", "kind": "IngressParameters",
                               "name": params["metadata"]["name"], "scope": "Namespace",
                               "namespace": params["metadata"]["namespace"]})
        crd = self.bundle("CustomResourceDefinition")
        mine = [r for r in watched_resources() if r[3] == "IngressParameters"]
        served = [v["name"] for v in crd["spec"]["versions"] if v["served"]]
        self.assertEqual([(g, v, p, True) for g, v, p, _, _ in mine],
                         [(crd["spec"]["group"], served[0], crd["spec"]["names"]["plural"],
                           crd["spec"]["scope"] == "Namespaced")])
        # The CRD in the bundle is crds/ingressparameters.yaml, and the file
        # says it spells out the defaults: it does.
        self.assertEqual(crd, self.local(CRD_FILE)[0])
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        self.assertEqual(schema_defaults_differ(params["spec"], schema["properties"]["spec"]), [])
        self.assertIn("status", crd["spec"]["versions"][0]["subresources"])

    # ---- the examples -----------------------------------------------------------------

    def test_5_examples(self):
        files = sorted(os.path.join(EXAMPLES, f) for f in os.listdir(EXAMPLES)
                       if f.endswith(".yaml"))
        # One kubectl run reads them all (kubectl reads a folder's files in name
        # order); each YAML document here is one object with a top-level kind.
        everything = self.local(*files)
        self.converted[(EXAMPLES,)] = everything
        counts = []
        for path in files:
            with open(path) as f:
                counts.append(len(re.findall(r"(?m)^kind:", f.read())))
        self.assertEqual(sum(counts), len(everything))
        hosts = {}
        for i, path in enumerate(files):
            name = os.path.basename(path)
            objects = everything[sum(counts[:i]):sum(counts[:i + 1])]
            namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
            for o in objects:
                # Self-contained: it applies alone and in any order (kubectl does not
                # sort a folder's objects), and deleting it touches no other example.
                self.assertNotEqual(o["kind"], "IngressClass",
                                    f"{name}: the IngressClass is the bundle's")
                ns = o["metadata"].get("namespace")
                if ns:
                    self.assertIn(ns, namespaces, f"{name}: namespace {ns} made elsewhere")
                if o["kind"] == "Ingress":
                    self.assertEqual(o["spec"].get("ingressClassName"), "spoke", name)
                    for rule in o["spec"]["rules"]:
                        hosts.setdefault(rule["host"], set()).add(name)
        for host, where in hosts.items():
            self.assertEqual(len(where), 1, f"{host} in {where}")
        self.assertEqual(hosts.get("hello.example.com"), {"hello.yaml"})
        self.assertGreaterEqual(len(hosts), 8)

        result = self.apply(EXAMPLES)
        self.assertEqual(set(result.values()), {"created"}, result)
        self.assert_round_trip(EXAMPLES)
        # The bundle's IngressClass kept its parameters.
        self.assertEqual(self.assert_round_trip(BUNDLE)[
            ("networking.k8s.io", "IngressClass", "", "spoke")]["spec"]["parameters"]["name"],
            "default")

    # ---- RBAC -------------------------------------------------------------------------

    def test_6_rbac_grants_exactly_the_agent_calls(self):
        self.assertEqual(len(watched_resources()), 8, "resources.c parsed")
        calls = agent_calls()
        deploy = self.bundle("Deployment")
        ns = deploy["metadata"]["namespace"]
        sa = deploy["spec"]["template"]["spec"]["serviceAccountName"]
        self.bundle("ServiceAccount", sa)
        roles = {
            "cluster": self.bundle("ClusterRole"),
            "own": self.bundle("Role"),
        }
        self.assertEqual(roles["own"]["metadata"]["namespace"], ns)
        for scope, binding_kind in (("cluster", "ClusterRoleBinding"), ("own", "RoleBinding")):
            role = roles[scope]
            binding = self.bundle(binding_kind)
            self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io",
                                                  "kind": role["kind"],
                                                  "name": role["metadata"]["name"]})
            self.assertEqual(binding["subjects"],
                             [{"kind": "ServiceAccount", "name": sa, "namespace": ns}])
            granted = rule_grants(role["rules"])
            wanted = {(v, g, r) for v, g, r, s in calls if s == scope}
            self.assertEqual(sorted(wanted - granted), [], f"{role['kind']} misses these calls")
            self.assertEqual(sorted(granted - wanted), [], f"{role['kind']} grants beyond them")

    def publish_service(self):
        """The Deployment's --publish-service, given the load-balancer address 192.0.2.1."""
        args = self.bundle("Deployment")["spec"]["template"]["spec"]["containers"]
        flag = next(a for c in args for a in c.get("args", []) if a.startswith("--publish-service"))
        ns, name = flag.partition("=")[2].split("/")
        self.api.ok("PATCH", f"/api/v1/namespaces/{ns}/services/{name}/status",
                    {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}},
                    "application/merge-patch+json")
        return f"{ns}/{name}"

    def test_7_agent_calls_are_in_the_table(self):
        """A real agent's requests (its informers, and the Ingress status it
        writes, against the applied bundle and examples) are all in the table,
        so the table is not wishful. The agent runs attached to no HAProxy:
        its API traffic is the same."""
        log = self.api.log_path
        start = os.path.getsize(log)
        agent = Agent(self.work, self.api.kubeconfig, name="rbac-agent", watch_only=False,
                      extra_args=["--state-dir", os.path.join(self.work, "state"),
                                  "--http-port", str(free_port()),
                                  "--https-port", str(free_port()),
                                  # as the Deployment: Nodes are watched too
                                  "--publish-service", self.publish_service(),
                                  # in a Pod: the service account's namespace
                                  "--namespace",
                                  self.bundle("Deployment")["metadata"]["namespace"]])
        agent.start()
        try:
            agent.wait_synced()
            hello = "/apis/networking.k8s.io/v1/namespaces/demo/ingresses/hello"
            wait_until(lambda: self.api.ok("GET", hello).get("status", {})
                       .get("loadBalancer", {}).get("ingress") == [{"ip": "192.0.2.1"}],
                       timeout=20, what="the agent's Ingress status")
        finally:
            agent.stop()
        kinds = {r[2] for r in watched_resources()}

        def observed():
            with open(log, errors="replace") as f:
                f.seek(start)
                calls = {c for c in map(call_from_log, f) if c}
            watched = {r for v, _, r, _ in calls if v == "watch"}
            return calls if watched >= kinds else None
        calls = wait_until(observed, timeout=20, what="the agent's watch requests in the log")
        self.assertIn(("patch", "networking.k8s.io", "ingresses/status", "demo"), calls)
        table = agent_calls()
        ns = self.bundle("Deployment")["metadata"]["namespace"]
        for verb, group, resource, where in sorted(calls, key=str):
            self.assertTrue((verb, group, resource, "cluster") in table or
                            (where == ns and (verb, group, resource, "own") in table),
                            f"the agent called {verb} {group}/{resource} (namespace "
                            f"{where or '-'}), which the RBAC table does not list")

    # ---- the Deployment, Service and PDB ----------------------------------------------

    def test_8_deployment_runs_the_agent_as_built(self):
        deploy = self.bundle("Deployment")
        pod = deploy["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        # No command: the image's ENTRYPOINT (the agent) runs with these args,
        # and the agent accepts every one of them (it parses them all before
        # --version answers).
        self.assertNotIn("command", c)
        p = subprocess.run([spoke_bin(), *c["args"], "--version"], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual((p.returncode, p.stderr), (0, ""), c["args"])
        self.assertEqual(c["image"], "spoke:" + p.stdout.split()[1])
        args = dict(a[2:].partition("=")[::2] for a in c["args"])
        self.assertIn("manage-haproxy", args)
        ports = {port["name"]: port["containerPort"] for port in c["ports"]}
        self.assertEqual(ports, {"http": int(args["http-port"]), "https": int(args["https-port"]),
                                 "metrics": int(args["metrics-listen"].rsplit(":", 1)[1]),
                                 "haproxy-metrics":
                                     int(args["haproxy-metrics-listen"].rsplit(":", 1)[1])})
        # The probes ask the agent (/healthz, /readyz) on the metrics port.
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "metrics"})
        self.assertEqual(c["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "metrics"})
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        state = mounts[args["state-dir"]]
        self.assertIn("emptyDir", [v for v in pod["volumes"] if v["name"] == state][0])
        # Hardening.
        sc = c["securityContext"]
        self.assertEqual((sc["runAsNonRoot"], sc["readOnlyRootFilesystem"],
                          sc["allowPrivilegeEscalation"], sc["capabilities"]),
                         (True, True, False, {"drop": ["ALL"]}))
        self.assertEqual(pod["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"})
        self.assertGreater(pod["securityContext"]["runAsUser"], 0)
        self.assertTrue(c["resources"]["requests"] and c["resources"]["limits"])
        # The Service and the PDB select these Pods; the Service maps 80/443 on them.
        labels = deploy["spec"]["template"]["metadata"]["labels"]
        self.assertEqual(deploy["spec"]["selector"]["matchLabels"].items() - labels.items(), set())
        svc = self.bundle("Service")
        self.assertEqual(svc["spec"]["type"], "LoadBalancer")
        self.assertEqual(svc["spec"]["selector"].items() - labels.items(), set())
        self.assertEqual({(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]},
                         {(80, "http"), (443, "https")})
        # Ingress status shows that Service's address.
        self.assertEqual(args["publish-service"],
                         f"{svc['metadata']['namespace']}/{svc['metadata']['name']}")
        pdb = self.bundle("PodDisruptionBudget")
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"].items() - labels.items(), set())
        self.assertLess(pdb["spec"]["maxUnavailable"], deploy["spec"]["replicas"])
        # The IngressClass is the one the agent serves.
        with open(INGRESS_CLASS_H) as f:
            controller = re.search(r'#define SPOKE_CONTROLLER_NAME\s+"([^"]+)"', f.read()).group(1)
        ic = self.bundle("IngressClass")
        self.assertEqual((ic["metadata"]["name"], ic["spec"]["controller"]),
                         (args["ingress-class"], controller))

    def test_9_deploy_yaml_is_what_make_manifests_writes(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "deploy.yaml")
            p = subprocess.run(["make", "-s", "-C", ROOT, "manifests", f"MANIFESTS_OUT={out}"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f, open(BUNDLE) as g:
                self.assertEqual(g.read(), f.read(), "manifests/deploy.yaml is out of date: "
                                                     "run make manifests")


if __name__ == "__main__":
    unittest.main()
