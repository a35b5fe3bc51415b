"""defaults.py - what the real API server fills in or checks for particular kinds.

Only what clients can observe and may rely on: Namespace phase and finalizer,
Service clusterIP/protocol/targetPort, Secret stringData folded into data,
EndpointSlice port protocols, and CustomResourceDefinition name defaults and
its Established status (set at once: this server has no controllers).
"""
import base64
import random
import re

from apierrors import ApiError

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def _ports_default_protocol(ports):
    for p in ports or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")


class ClusterIPs:
    """Allocates Service cluster IPs from 10.96.0.0/16."""

    def __init__(self):
        self.used = {"10.96.0.1"}

    def allocate(self):
        while True:
            n = random.randrange(2, 65534)
            ip = f"10.96.{n >> 8}.{n & 255}"
            if ip not in self.used and not ip.endswith(".0") and not ip.endswith(".255"):
                self.used.add(ip)
                return ip

    def take(self, ip):
        self.used.add(ip)

    def release(self, ip):
        self.used.discard(ip)


def validate_name(res, name):
    if res.kind == "Namespace":
        if not DNS_LABEL.fullmatch(name):
            raise ApiError(422, f'Namespace "{name}" is invalid: metadata.name: Invalid value: '
                                f'"{name}": a lowercase RFC 1123 label must consist of lower '
                                f"case alphanumeric characters or '-'", "Invalid",
                           {"name": name, "kind": "Namespace"})
    elif "/" in name or "%" in name or name in (".", "..") or len(name) > 253:
        raise ApiError(422, f'{res.kind} "{name}" is invalid: metadata.name: Invalid value: '
                            f'"{name}": may not contain "/" or "%"', "Invalid",
                       {"name": name, "kind": res.kind})


def on_create(res, obj, cluster_ips):
    md = obj["metadata"]
    if res.kind == "Namespace":
        md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    elif res.kind == "Service" and not res.custom:
        _service_defaults(obj, None, cluster_ips)
    _common(res, obj)


def on_update(res, old, new, cluster_ips):
    if res.kind == "Service" and not res.custom:
        _service_defaults(new, old, cluster_ips)
    _common(res, new)


def _common(res, obj):
    if res.custom:
        return
    if res.kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            data = obj.get("data") or {}
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data
    elif res.kind == "EndpointSlice":
        _ports_default_protocol(obj.get("ports"))
    elif res.kind == "CustomResourceDefinition":
        _crd_defaults(obj)


def _service_defaults(obj, old, cluster_ips):
    spec = obj.setdefault("spec", {})
    old_spec = (old or {}).get("spec") or {}
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for p in spec.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            if "port" in p:
                p.setdefault("targetPort", p["port"])
    if spec["type"] == "ExternalName":
        return
    # Like the real server, an update that leaves the allocated IP out keeps it.
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
    if not spec.get("clusterIP"):
        spec["clusterIP"] = cluster_ips.allocate()
    elif spec["clusterIP"] != "None":
        cluster_ips.take(spec["clusterIP"])
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")


def validate_crd(obj):
    name = obj["metadata"]["name"]
    spec = obj.get("spec")
    problems = []
    if not isinstance(spec, dict):
        problems.append("spec: Required value")
        spec = {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    group = spec.get("group")
    if not group:
        problems.append("spec.group: Required value")
    if not names.get("plural"):
        problems.append("spec.names.plural: Required value")
    if not names.get("kind"):
        problems.append("spec.names.kind: Required value")
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        problems.append('spec.scope: Unsupported value: must be "Namespaced" or "Cluster"')
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions or \
            not all(isinstance(v, dict) and v.get("name") for v in versions):
        problems.append("spec.versions: Required value: must have exactly one version marked as "
                        "storage version")
    elif sum(1 for v in versions if v.get("storage")) != 1:
        problems.append("spec.versions: Invalid value: must have exactly one version marked as "
                        "storage version")
    if group and names.get("plural") and name != f"{names['plural']}.{group}":
        problems.append(f'metadata.name: Invalid value: "{name}": must be spec.names.plural+"."'
                        f"+spec.group")
    if problems:
        raise ApiError(422, f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: '
                            + ", ".join(problems), "Invalid",
                       {"name": name, "group": "apiextensions.k8s.io",
                        "kind": "CustomResourceDefinition"})


def _crd_defaults(obj):
    names = obj["spec"]["names"]
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")


def crd_status(obj, now):
    """The status the real server's controllers settle on for an accepted CRD."""
    old_status = obj.get("status") or {}
    stored = list(old_status.get("storedVersions") or [])
    stored += [v["name"] for v in obj["spec"]["versions"] if v.get("storage") and
               v["name"] not in stored]
    old = {c.get("type"): c for c in old_status.get("conditions") or []}

    def cond(type_, reason, message):
        ts = old.get(type_, {}).get("lastTransitionTime", now)
        return {"type": type_, "status": "True", "reason": reason, "message": message,
                "lastTransitionTime": ts}
    return {
        "conditions": [cond("NamesAccepted", "NoConflicts", "no conflicts found"),
                       cond("Established", "InitialNamesAccepted",
                            "the initial names have been accepted")],
        "acceptedNames": dict(obj["spec"]["names"]),
        "storedVersions": stored,
    }
