"""test_kubectl.py - the installed kubectl works against the test API server:
create/apply (twice, with changes)/replace/delete/get of every kind spoke
uses, from YAML files, with no warnings; and a CRD with a custom object.

    python3 e2e/run.py e2e/apiserver -k Kubectl
"""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [p for p in (HERE, os.path.dirname(HERE)) if p not in sys.path]

from lib.apiserver import ApiServer  # noqa: E402
from lib.cluster import kubectl, make_workdir, remove_workdir  # noqa: E402

BUILTINS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {{team: {team}}}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: spoke
spec:
  controller: spoke.dev/ingress-controller
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations: {{spoke.dev/ssl-redirect: "{redirect}"}}
spec:
  ingressClassName: spoke
  rules:
  - host: {host}
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port: {{number: 80}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {{app: web}}
  ports:
{ports}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: shop
  labels: {{kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
{endpoints}
ports:
- name: http
  port: 8080
  protocol: TCP
---
apiVersion: v1
kind: Secret
metadata:
  name: tls
  namespace: shop
type: Opaque
data:
  password: {password}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: spoke-leader
  namespace: shop
spec:
  holderIdentity: {holder}
  leaseDurationSeconds: 15
"""

HTTP_PORT = "  - {name: http, port: 80, targetPort: %d}"
HTTPS_PORT = "  - {name: https, port: 443, targetPort: 8443}"
ENDPOINT = "- addresses: [%s]\n  conditions: {ready: true}"

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ingressparameters.spoke.dev
spec:
  group: spoke.dev
  scope: Namespaced
  names:
    plural: ingressparameters
    singular: ingressparameters
    kind: IngressParameters
    shortNames: [ingp]
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""

CUSTOM = """\
apiVersion: spoke.dev/v1alpha1
kind: IngressParameters
metadata:
  name: defaults
  namespace: default
spec:
  timeouts: {connect: %s}
  logFormat: json
"""

KINDS = {  # what kubectl prints for each object of BUILTINS, and the path to GET it
    "namespace/shop": "/api/v1/namespaces/shop",
    "ingressclass.networking.k8s.io/spoke": "/apis/networking.k8s.io/v1/ingressclasses/spoke",
    "ingress.networking.k8s.io/web": "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web",
    "service/web": "/api/v1/namespaces/shop/services/web",
    "endpointslice.discovery.k8s.io/web-abc":
        "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/web-abc",
    "secret/tls": "/api/v1/namespaces/shop/secrets/tls",
    "lease.coordination.k8s.io/spoke-leader":
        "/apis/coordination.k8s.io/v1/namespaces/shop/leases/spoke-leader",
}


def builtins(team="a", redirect="true", host="web.example.com", target_port=8080, https=True,
             addresses=("127.0.1.1", "127.0.1.2"), password="aHVudGVyMg==", holder="pod-a"):
    ports = HTTP_PORT % target_port + ("\n" + HTTPS_PORT if https else "")
    endpoints = "\n".join(ENDPOINT % a for a in addresses)
    return BUILTINS.format(team=team, redirect=redirect, host=host, ports=ports,
                           endpoints=endpoints, password=password, holder=holder)


class KubectlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = make_workdir("apiserver-kubectl")
        cls.api = ApiServer(cls.work)
        cls.api.start()

    @classmethod
    def tearDownClass(cls):
        cls.api.stop()
        remove_workdir(cls.work)

    def kubectl(self, *args, check=True):
        # Its own discovery cache: a reused port must not see another test's server.
        p = kubectl(self.api, "--cache-dir", os.path.join(self.work, "kube-cache"), *args,
                    check=check)
        if check:
            self.assertEqual(p.stderr, "", f"kubectl {' '.join(args)} warned")
        return p

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def get(self, kind_name, ns=None):
        args = ["get", kind_name, "-o", "json"] + (["-n", ns] if ns else [])
        return json.loads(self.kubectl(*args).stdout)

    def results(self, out):
        """{"service/web": "created", ...} from kubectl's output."""
        return dict(line.rsplit(" ", 1) for line in out.strip().splitlines())

    def test_1_apply_creates_then_patches(self):
        path = self.write("shop.yaml", builtins())
        self.assertEqual(self.results(self.kubectl("apply", "-f", path).stdout),
                         {k: "created" for k in KINDS})
        ing = self.get("ingress/web", "shop")
        self.assertEqual(ing["spec"]["rules"][0]["host"], "web.example.com")
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration",
                      ing["metadata"]["annotations"])
        svc = self.get("svc/web", "shop")
        self.assertEqual([p["port"] for p in svc["spec"]["ports"]], [80, 443])

        self.write("shop.yaml", builtins(team="b", host="shop.example.com", target_port=9090,
                                         https=False, addresses=["127.0.1.1"],
                                         password="c2VjcmV0", holder="pod-b"))
        out = self.results(self.kubectl("apply", "-f", path).stdout)
        self.assertEqual(out, {k: "unchanged" if k.startswith("ingressclass") else "configured"
                               for k in KINDS})
        self.assertEqual(self.get("ingress/web", "shop")["spec"]["rules"][0]["host"],
                         "shop.example.com")
        after = self.get("svc/web", "shop")
        # A strategic merge patch: the https port removed, the http one changed,
        # the cluster IP the server allocated kept.
        self.assertEqual([(p["name"], p["port"], p["targetPort"]) for p in after["spec"]["ports"]],
                         [("http", 80, 9090)])
        self.assertEqual(after["spec"]["clusterIP"], svc["spec"]["clusterIP"])
        self.assertEqual(len(self.get("endpointslice/web-abc", "shop")["endpoints"]), 1)
        self.assertEqual(self.get("secret/tls", "shop")["data"], {"password": "c2VjcmV0"})
        self.assertEqual(self.get("lease/spoke-leader", "shop")["spec"]["holderIdentity"],
                         "pod-b")
        self.assertEqual(self.get("ns/shop")["metadata"]["labels"]["team"], "b")

        patches = self.api.stats()["requests"]["patch"]
        self.assertEqual(self.results(self.kubectl("apply", "-f", path).stdout),
                         {k: "unchanged" for k in KINDS})
        self.assertEqual(self.api.stats()["requests"]["patch"], patches)

    def test_2_replace(self):
        path = self.write("shop-replace.yaml", builtins(host="replaced.example.com"))
        self.assertEqual(self.results(self.kubectl("replace", "-f", path).stdout),
                         {k: "replaced" for k in KINDS})
        ing = self.get("ingress/web", "shop")
        self.assertEqual(ing["spec"]["rules"][0]["host"], "replaced.example.com")
        self.assertGreater(ing["metadata"]["generation"], 1)
        listed = self.get("ingresses", "shop")
        self.assertEqual([i["metadata"]["name"] for i in listed["items"]], ["web"])

    def test_3_delete_then_create(self):
        path = self.write("shop-create.yaml", builtins())
        # The Namespace comes first; like on a real cluster it stays terminating
        # long enough for the objects in it to be deleted one by one.
        self.assertEqual(self.results(self.kubectl("delete", "-f", path).stdout),
                         {'{} "{}"'.format(*k.split("/")): "deleted" for k in KINDS})
        for k, api_path in KINDS.items():
            self.assertEqual(self.api.request("GET", api_path)[0], 404, k)
        self.assertEqual(self.results(self.kubectl("create", "-f", path).stdout),
                         {k: "created" for k in KINDS})
        again = self.kubectl("create", "-f", path, check=False)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn('Error from server (AlreadyExists): error when creating', again.stderr)
        self.assertIn('services "web" already exists', again.stderr)
        table = self.kubectl("get", "ingresses", "-A").stdout
        self.assertRegex(table, r"(?m)^shop\s+web\s")
        self.kubectl("delete", "-f", path)

    def test_4_custom_resources(self):
        crd = self.write("crd.yaml", CRD)
        self.assertEqual(self.kubectl("apply", "-f", crd).stdout.strip(),
                         "customresourcedefinition.apiextensions.k8s.io/"
                         "ingressparameters.spoke.dev created")
        self.kubectl("wait", "--for=condition=Established", "--timeout=20s",
                     "crd/ingressparameters.spoke.dev")
        cr = self.write("params.yaml", CUSTOM % "5s")
        name = "ingressparameters.spoke.dev/defaults"
        self.assertEqual(self.results(self.kubectl("apply", "-f", cr).stdout), {name: "created"})
        self.write("params.yaml", CUSTOM % "7s")
        self.assertEqual(self.results(self.kubectl("apply", "-f", cr).stdout),
                         {name: "configured"})
        got = self.get("ingp/defaults")
        self.assertEqual(got["spec"], {"timeouts": {"connect": "7s"}, "logFormat": "json"})
        self.write("params.yaml", CUSTOM % "9s")
        self.assertEqual(self.results(self.kubectl("replace", "-f", cr).stdout),
                         {name: "replaced"})
        listed = self.get("ingressparameters")
        self.assertEqual([(i["kind"], i["spec"]["timeouts"]["connect"]) for i in listed["items"]],
                         [("IngressParameters", "9s")])
        self.kubectl("delete", "-f", cr)
        self.kubectl("create", "-f", cr)
        self.kubectl("delete", "-f", crd)  # takes the custom object with it
        gone = self.kubectl("get", "ingp", "-A", check=False)
        self.assertNotEqual(gone.returncode, 0)
        self.assertEqual(self.api.request("GET", "/apis/spoke.dev/v1alpha1/ingressparameters")[0],
                         404)


if __name__ == "__main__":
    unittest.main()
