"""tables.py - the meta.k8s.io/v1 Table that `kubectl get` asks for (Accept:
...;as=Table). Two columns, name and age; with -A kubectl adds the namespace
from each row's object metadata."""
from datetime import datetime, timezone


def _age(obj):
    try:
        born = datetime.strptime(obj["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    except (KeyError, ValueError, TypeError):
        return "<unknown>"
    s = int((datetime.now(timezone.utc).replace(tzinfo=None) - born).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{max(s, 0)}s"


def table(objs, rv, cont=None):
    md = {"resourceVersion": rv}
    if cont:
        md["continue"] = cont
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md,
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "priority": 0,
             "description": "Name of the object"},
            {"name": "Age", "type": "string", "format": "", "priority": 0,
             "description": "Time since the object was created"}],
        "rows": [{"cells": [o["metadata"]["name"], _age(o)],
                  "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}} for o in objs],
    }
