"""patching.py - the three PATCH formats of the Kubernetes API.

- JSON merge patch (RFC 7386), application/merge-patch+json;
- JSON patch (RFC 6902), application/json-patch+json;
- strategic merge patch, application/strategic-merge-patch+json: a merge patch
  where some lists merge element by element on a key (Service ports by port,
  containers by name, ...) instead of being replaced, with the directives
  kubectl apply sends ($patch, $retainKeys, $setElementOrder/...,
  $deleteFromPrimitiveList/...). Only built-in kinds take it, like the real server.

All functions return new values and never change their arguments.
"""
import copy

from apierrors import ApiError

# How lists merge in a strategic merge patch. A rule is (kind or None, path,
# strategy): a kind-specific rule matches the full path of map keys from the
# object's root; a rule without a kind matches any path ending with `path`.
# Strategy is the merge key of a list of maps, or "" for a list of scalars
# merged as a set. Lists without a rule are replaced, as in a merge patch.
LIST_RULES = [
    ("Service", ("spec", "ports"), "port"),
    (None, ("containers", "ports"), "containerPort"),
    (None, ("initContainers", "ports"), "containerPort"),
    (None, ("containers",), "name"),
    (None, ("initContainers",), "name"),
    (None, ("ephemeralContainers",), "name"),
    (None, ("env",), "name"),
    (None, ("volumes",), "name"),
    (None, ("volumeMounts",), "mountPath"),
    (None, ("volumeDevices",), "devicePath"),
    (None, ("imagePullSecrets",), "name"),
    (None, ("hostAliases",), "ip"),
    (None, ("topologySpreadConstraints",), "topologyKey"),
    (None, ("metadata", "ownerReferences"), "uid"),
    (None, ("metadata", "finalizers"), ""),
    (None, ("status", "conditions"), "type"),
]

DELETE = object()  # a map asked to delete itself ($patch: delete)


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# ---- JSON patch --------------------------------------------------------------------

def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f'invalid JSON pointer "{path}"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts, path):
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise ApiError(422, f'the JSON patch path "{path}" does not exist')
    return cur


def _index(container, p, path, adding):
    if p == "-" and adding:
        return len(container)
    if not p.isdigit() or int(p) > len(container) - (0 if adding else 1):
        raise ApiError(422, f'invalid index in JSON patch path "{path}"')
    return int(p)


def _remove(doc, parts, path):
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise ApiError(422, f'the JSON patch path "{path}" does not exist')
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, path, False))
    raise ApiError(422, f'the JSON patch path "{path}" does not exist')


def _add(doc, parts, value, path, replace=False):
    if not parts:
        return value
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise ApiError(422, f'the JSON patch path "{path}" does not exist')
        parent[last] = value
    elif isinstance(parent, list):
        i = _index(parent, last, path, not replace)
        if replace:
            parent[i] = value
        else:
            parent.insert(i, value)
    else:
        raise ApiError(422, f'the JSON patch path "{path}" does not exist')
    return doc


def json_patch(doc, ops):
    """RFC 6902."""
    if not isinstance(ops, list):
        raise ApiError(400, "a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ApiError(422, f"invalid JSON patch operation: {op!r}")
        name, path = op["op"], op["path"]
        parts = _pointer(path)
        if name == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")), path)
        elif name == "remove":
            _remove(doc, parts, path)
        elif name == "replace":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")), path, replace=True)
        elif name in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            value = _remove(doc, src, op["from"]) if name == "move" \
                else copy.deepcopy(_walk(doc, src, op["from"]))
            doc = _add(doc, parts, value, path)
        elif name == "test":
            if _walk(doc, parts, path) != op.get("value"):
                raise ApiError(422, f'JSON patch test failed at "{path}"')
        else:
            raise ApiError(422, f'unknown JSON patch operation "{name}"')
    return doc


# ---- strategic merge patch ------------------------------------------------------------

def list_strategy(kind, path):
    """The merge key of the list at `path` in an object of `kind`; None = replace."""
    for rule_kind, rule_path, key in LIST_RULES:
        if rule_kind is not None:
            if rule_kind == kind and tuple(path) == rule_path:
                return key
        elif tuple(path[-len(rule_path):]) == rule_path:
            return key
    return None


def strategic_merge_patch(original, patch, kind):
    if not isinstance(patch, dict):
        raise ApiError(400, "a strategic merge patch must be a JSON object")
    result = _merge_map(original if isinstance(original, dict) else {}, patch, (), kind)
    return {} if result is DELETE else result


def _strip(value, path, kind):
    """A patch value that lands where nothing was: directives removed, nulls dropped."""
    if isinstance(value, dict):
        r = _merge_map({}, value, path, kind)
        return {} if r is DELETE else r
    if isinstance(value, list):
        return _merge_list([], value, path, kind)
    return value


def _merge_map(original, patch, path, kind):
    patch = dict(patch)
    directive = patch.pop("$patch", None)
    if directive == "delete":
        return DELETE
    if directive == "replace":
        return _strip(patch, path, kind)
    retain = patch.pop("$retainKeys", None)
    orders, deletes = {}, {}
    for k in list(patch):
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = patch.pop(k)
        elif k.startswith("$deleteFromPrimitiveList/"):
            deletes[k.split("/", 1)[1]] = patch.pop(k)
    result = dict(original)
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain}
    for k, pv in patch.items():
        sub = path + (k,)
        if pv is None:
            result.pop(k, None)
        elif isinstance(pv, dict):
            ov = result.get(k)
            merged = _merge_map(ov if isinstance(ov, dict) else {}, pv, sub, kind)
            if merged is DELETE:
                result.pop(k, None)
            else:
                result[k] = merged
        elif isinstance(pv, list):
            ov = result.get(k)
            result[k] = _merge_list(ov if isinstance(ov, list) else [], pv, sub, kind)
        else:
            result[k] = pv
    for k, values in deletes.items():
        if isinstance(result.get(k), list):
            result[k] = [x for x in result[k] if x not in values]
    for k, order in orders.items():
        if isinstance(result.get(k), list):
            result[k] = _reorder(result[k], order, list_strategy(kind, path + (k,)))
    return result


def _merge_list(original, patch, path, kind):
    key = list_strategy(kind, path)
    if key is None:
        return [_strip(v, path, kind) for v in patch]
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
        return [_strip(v, path, kind) for v in patch
                if not (isinstance(v, dict) and v.get("$patch") == "replace")]
    if key == "":
        return list(original) + [v for v in patch if v not in original]
    result = [copy.deepcopy(v) for v in original]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            result.append(_strip(item, path, kind))
            continue
        at = next((i for i, v in enumerate(result)
                   if isinstance(v, dict) and v.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            result = [v for v in result if not (isinstance(v, dict) and v.get(key) == item[key])]
        elif at is None:
            result.append(_strip(item, path, kind))
        else:
            merged = _merge_map(result[at], item, path, kind)
            if merged is DELETE:
                del result[at]
            else:
                result[at] = merged
    return result


def _reorder(items, order, key):
    """$setElementOrder: the listed elements in that order, the others after them."""
    def ident(v):
        return v.get(key) if key and isinstance(v, dict) else v
    wanted = [o.get(key) if key and isinstance(o, dict) else o for o in order]
    rank = {json_key(w): i for i, w in enumerate(wanted)}
    listed = [v for v in items if json_key(ident(v)) in rank]
    others = [v for v in items if json_key(ident(v)) not in rank]
    listed.sort(key=lambda v: rank[json_key(ident(v))])
    return listed + others


def json_key(v):
    """A hashable stand-in for a JSON scalar (1 and "1" stay different)."""
    return (type(v).__name__, str(v))
