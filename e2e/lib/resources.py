"""resources.py - API paths and small object builders for the kinds spoke watches."""

PATHS = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Ingress": ("/apis/networking.k8s.io/v1", "ingresses", True),
    "IngressClass": ("/apis/networking.k8s.io/v1", "ingressclasses", False),
    "Service": ("/api/v1", "services", True),
    "EndpointSlice": ("/apis/discovery.k8s.io/v1", "endpointslices", True),
    "Secret": ("/api/v1", "secrets", True),
    "IngressParameters": ("/apis/spoke.dev/v1alpha1", "ingressparameters", True),
    "Node": ("/api/v1", "nodes", False),
}


def collection_path(kind, ns=None):
    base, plural, namespaced = PATHS[kind]
    if namespaced and ns:
        return f"{base}/namespaces/{ns}/{plural}"
    return f"{base}/{plural}"


def object_path(kind, ns, name):
    return f"{collection_path(kind, ns)}/{name}"


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def ingress(ns, name, host="example.com", service="web", port=80, path="/", annotations=None,
            ingress_class="spoke"):
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
        "spec": {
            "ingressClassName": ingress_class,
            "rules": [{
                "host": host,
                "http": {"paths": [{
                    "path": path,
                    "pathType": "Prefix",
                    "backend": {"service": {"name": service, "port": {"number": port}}},
                }]},
            }],
        },
    }


def service(ns, name, port=80, target_port=8080):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": name},
                 "ports": [{"name": "http", "port": port, "targetPort": target_port}]},
    }


def endpoint_slice(ns, name, service_name, addresses, port=8080):
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": ns,
                     "labels": {"kubernetes.io/service-name": service_name}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
    }


def secret(ns, name, data):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
            "type": "Opaque", "data": data}
