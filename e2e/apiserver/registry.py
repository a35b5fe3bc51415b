"""registry.py - the API resources the test server serves, and its discovery.

Built-in kinds are a fixed table. Custom resources appear when their
CustomResourceDefinition is stored and disappear when it is deleted; the
Registry is rebuilt copy-on-write, so readers never see it half changed.
Discovery documents (/api, /apis, /api/v1, /apis/G/V) and a minimal OpenAPI v3
(enough for kubectl to know that the server validates fields itself) are
built from it.
"""
import hashlib
import json
import re
from dataclasses import dataclass, field

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple = ()
    categories: tuple = ()
    status: bool = False          # has a /status subresource
    singular: str = ""
    custom: bool = False          # served because of a CRD
    list_kind: str = ""

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self):
        return self.api_version

    @property
    def bucket(self):
        """Storage key: every version of a resource shares one set of objects."""
        return (self.group, self.plural)

    @property
    def qualified(self):
        """How error messages name it: ingresses.networking.k8s.io, services."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind_name(self):
        return self.list_kind or self.kind + "List"

    @property
    def singular_name(self):
        return self.singular or self.kind.lower()


def _r(group, version, plural, kind, namespaced, short=(), status=False, categories=()):
    return Resource(group, version, plural, kind, namespaced, tuple(short), tuple(categories),
                    status)


BUILTINS = [
    _r("", "v1", "namespaces", "Namespace", False, ["ns"], status=True),
    _r("", "v1", "nodes", "Node", False, ["no"], status=True),
    _r("", "v1", "services", "Service", True, ["svc"], status=True, categories=["all"]),
    _r("", "v1", "secrets", "Secret", True),
    _r("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    _r("", "v1", "endpoints", "Endpoints", True, ["ep"]),
    _r("", "v1", "events", "Event", True, ["ev"]),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    _r("", "v1", "pods", "Pod", True, ["po"], status=True, categories=["all"]),
    _r("apps", "v1", "deployments", "Deployment", True, ["deploy"], status=True,
       categories=["all"]),
    _r("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], status=True, categories=["all"]),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", True, ["ing"], status=True),
    _r("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    _r("coordination.k8s.io", "v1", "leases", "Lease", True),
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], status=True),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
       False, ["crd", "crds"], status=True),
]

CRD = BUILTINS[-1]


def crd_resources(crd):
    """The Resources one CustomResourceDefinition object serves (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        out.append(Resource(
            group=spec["group"], version=v["name"], plural=names["plural"], kind=names["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            status="status" in ((v.get("subresources") or {})),
            singular=names.get("singular", ""), custom=True,
            list_kind=names.get("listKind", "")))
    return out


def _version_key(v):
    """Kubernetes version priority: GA > beta > alpha, higher numbers first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (3, 0, 0, v)
    stage = {"": 0, "beta": 1, "alpha": 2}[m.group(2) or ""]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), v)


@dataclass
class Registry:
    """Immutable once built; with_crds() returns a new one."""
    resources: list = field(default_factory=lambda: list(BUILTINS))

    def __post_init__(self):
        self._by_path = {(r.group, r.version, r.plural): r for r in self.resources}
        self._by_kind = {(r.group, r.version, r.kind): r for r in self.resources}
        self._gvs = {}
        for r in self.resources:
            self._gvs.setdefault((r.group, r.version), []).append(r)
        self._openapi_cache = {}

    def with_crds(self, crds):
        custom = []
        taken = {(r.group, r.version, r.plural) for r in BUILTINS}
        for crd in crds:
            for r in crd_resources(crd):
                if (r.group, r.version, r.plural) not in taken:
                    taken.add((r.group, r.version, r.plural))
                    custom.append(r)
        return Registry(list(BUILTINS) + custom)

    def lookup(self, group, version, plural):
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        return self._by_kind.get((group, version, kind))

    def has_group_version(self, group, version):
        return (group, version) in self._gvs

    def served(self, res):
        return self._by_path.get((res.group, res.version, res.plural)) == res

    # ---- discovery ------------------------------------------------------------------

    def groups(self):
        """{group: [versions, preferred first]} for the named groups (not core)."""
        out = {}
        for (g, v) in self._gvs:
            if g:
                out.setdefault(g, []).append(v)
        return {g: sorted(vs, key=_version_key) for g, vs in sorted(out.items())}

    def api_group(self, group):
        versions = self.groups().get(group)
        if not versions:
            return None
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": gvs,
                "preferredVersion": gvs[0]}

    def api_group_list(self):
        groups = []
        for g in self.groups():
            grp = self.api_group(g)
            del grp["kind"], grp["apiVersion"]
            groups.append(grp)
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def api_resource_list(self, group, version):
        items = []
        for r in sorted(self._gvs.get((group, version), []), key=lambda r: r.plural):
            entry = {"name": r.plural, "singularName": r.singular_name,
                     "namespaced": r.namespaced, "kind": r.kind, "verbs": VERBS,
                     "storageVersionHash": _short_hash(f"{r.group}/{r.version}/{r.kind}")}
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            if r.categories:
                entry["categories"] = list(r.categories)
            items.append(entry)
            if r.status:
                items.append({"name": f"{r.plural}/status", "singularName": "",
                              "namespaced": r.namespaced, "kind": r.kind,
                              "verbs": STATUS_VERBS})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": items}

    # ---- OpenAPI v3 -----------------------------------------------------------------
    # kubectl (create/apply/replace with the default --validate=strict) reads the
    # OpenAPI v3 document of the object's group/version to learn whether the server
    # takes the fieldValidation parameter; if it does, kubectl leaves validation to
    # the server (which this one skips). PATCH bodies list no strategic merge patch,
    # so kubectl apply computes its patches from its built-in types.

    @staticmethod
    def openapi_v2(protobuf):
        """An OpenAPI v2 document without definitions: kubectl's client-side validation
        and patch computation then fall back to what kubectl has built in."""
        if not protobuf:
            return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
                    "paths": {}, "definitions": {}}

        def field(number, payload):  # a length-delimited protobuf field
            return bytes([number << 3 | 2, len(payload)]) + payload
        info = field(1, b"Kubernetes") + field(2, b"v1.32.0")
        return field(1, b"2.0") + field(2, info)  # Document.swagger, Document.info

    @staticmethod
    def openapi_path(group, version):
        return f"apis/{group}/{version}" if group else f"api/{version}"

    def openapi_root(self):
        paths = {}
        for (g, v) in sorted(self._gvs):
            p = self.openapi_path(g, v)
            h = _short_hash(json.dumps(self.openapi_doc(g, v), sort_keys=True))
            paths[p] = {"serverRelativeURL": f"/openapi/v3/{p}?hash={h}"}
        return {"paths": paths}

    def openapi_doc_for_path(self, path):
        for (g, v) in self._gvs:
            if self.openapi_path(g, v) == path:
                return self.openapi_doc(g, v)
        return None

    def openapi_doc(self, group, version):
        key = (group, version)
        if key not in self._openapi_cache:
            self._openapi_cache[key] = _openapi_doc(group, version, self._gvs.get(key, []))
        return self._openapi_cache[key]


def _short_hash(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _param(name, where="query"):
    p = {"name": name, "in": where, "schema": {"type": "string", "uniqueItems": True}}
    if where == "path":
        p["required"] = True
    return p


def _openapi_doc(group, version, resources):
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    paths = {}
    for r in resources:
        base = f"{prefix}/namespaces/{{namespace}}/{r.plural}" if r.namespaced \
            else f"{prefix}/{r.plural}"
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        path_params = [_param("name", "path")] + \
            ([_param("namespace", "path")] if r.namespaced else [])
        query = [_param(n) for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        schema = {"schema": {"type": "object"}}

        def patch_op(action):
            return {"patch": {
                "operationId": f"patch{r.kind}{action}",
                "parameters": query,
                "requestBody": {"content": {"application/json-patch+json": schema,
                                            "application/merge-patch+json": schema}},
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
            }, "parameters": path_params}

        paths[f"{base}/{{name}}"] = patch_op("")
        if r.status:
            paths[f"{base}/{{name}}/status"] = patch_op("Status")
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths, "components": {"schemas": {}}}
