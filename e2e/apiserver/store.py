"""store.py - the objects of the test API server, with the real server's semantics.

One lock guards everything; `changed` (a Condition on it) wakes the watchers.
Every write takes the next value of one global resourceVersion and appends
one event to the history the watches replay from. Stored objects are never
changed in place: a write stores a new dict, so readers may keep references
outside the lock.

- create: uid, creationTimestamp, generation 1; 409 AlreadyExists; the
  namespace must exist.
- update/patch: 409 Conflict on a stale metadata.resourceVersion (none given =
  unconditional); generation grows when anything but metadata/status changes;
  with a /status subresource the main resource keeps the old status and
  /status changes only the status; a write that changes nothing is a no-op.
- delete: a DELETED event with a new resourceVersion. A Namespace or CRD is
  first marked terminating; a second later what is in it is deleted, then it.
- list: sorted by key (namespace/name), limit + continue over a consistent
  snapshot at the list's resourceVersion, rebuilt from the history if needed;
  a continue token older than the compacted point gets 410 Expired.
- compaction: history up to `compacted` is dropped; watches and continue tokens
  from before it get 410. History also drops its oldest events past a limit.
"""
import base64
import bisect
import copy
import json
import os
import random
import threading
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timezone

import apierrors as E
import defaults
from registry import CRD, Registry

HISTORY_LIMIT = 50_000          # events kept for watches to replay
SNAPSHOT_CACHE = 16
FINALIZE_SECONDS = 1.0          # how long a deleted Namespace or CRD stays terminating
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
NAMESPACES = ("", "namespaces")
SERVER_METADATA = ("uid", "creationTimestamp", "generation", "deletionTimestamp",
                   "deletionGracePeriodSeconds")
EXPIRED_CONTINUE = ("The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use "
                    "the continue token in this response to retrieve the remainder of the "
                    "results. Continuing with the provided token results in an inconsistent "
                    "list - objects that were created, modified, or deleted between the time "
                    "the first chunk was returned and now may show up in the list.")


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_key(ns, name):
    """Namespaced objects sort as "ns/name", like the real server's etcd keys."""
    return f"{ns}/{name}" if ns else name


def key_of(obj):
    md = obj["metadata"]
    return object_key(md.get("namespace", ""), md["name"])


def encode_continue(rv, start):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError):
        raise E.bad_request("continue key is not valid") from None


def _content(obj):
    """What `generation` tracks: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


class Event:
    __slots__ = ("rv", "type", "bucket", "key", "obj", "prev", "lines")

    def __init__(self, rv, type_, bucket, key, obj, prev):
        self.rv, self.type, self.bucket, self.key, self.obj, self.prev = \
            rv, type_, bucket, key, obj, prev
        self.lines = {}  # (type, apiVersion) -> encoded line, shared by all watchers


class Store:
    def __init__(self, bookmark_interval=60.0):
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.registry = Registry()
        self.bookmark_interval = bookmark_interval
        self.rv = 0
        self.compacted = 0
        self.history = []               # Events, resourceVersion ascending
        self.objects = {}               # bucket -> {key: object}
        self.cluster_ips = defaults.ClusterIPs()
        self.watch_epoch = 0            # close_watches() ends every watch of older epochs
        self.watch_positions = {}       # open Watch -> resourceVersion it has sent up to
        self.closing = False
        self._snapshots = OrderedDict()

    # ---- reading ---------------------------------------------------------------------

    def check_served(self, res):
        if not self.registry.served(res):
            raise E.unknown_path()

    def get(self, res, ns, name):
        with self.lock:
            self.check_served(res)
            return self._get(res, ns, name)

    def _get(self, res, ns, name):
        obj = self.objects.get(res.bucket, {}).get(object_key(ns if res.namespaced else "", name))
        if obj is None:
            raise E.not_found(res, name)
        return obj

    def list(self, res, ns, selector, limit=0, token=None):
        """(items, resourceVersion, continue token or None, remaining count or None)."""
        with self.lock:
            self.check_served(res)
            if token:
                rv, start = decode_continue(token)
                if rv < self.compacted:
                    raise E.expired(EXPIRED_CONTINUE)
                if rv > self.rv:
                    raise E.bad_request("continue key is not valid")
            else:
                rv, start = self.rv, ""
            keys, objs = self._snapshot(res.bucket, rv)
        prefix = f"{ns}/" if ns and res.namespaced else ""
        i = max(bisect.bisect_left(keys, start), bisect.bisect_left(keys, prefix))
        end = bisect.bisect_left(keys, prefix[:-1] + "0") if prefix else len(keys)
        items, last, more = [], None, False
        while i < end:
            if selector.matches(objs[i]):
                if limit and len(items) == limit:
                    more = True
                    break
                items.append(objs[i])
                last = keys[i]
            i += 1
        if not more:
            return items, rv, None, None
        remaining = end - i if selector.empty else None
        return items, rv, encode_continue(rv, last + "\x00"), remaining

    def _snapshot(self, bucket, rv):
        """Sorted (keys, objects) of a bucket as it was at resourceVersion rv."""
        cached = self._snapshots.get((bucket, rv))
        if cached:
            self._snapshots.move_to_end((bucket, rv))
            return cached
        objs = dict(self.objects.get(bucket, {}))
        if rv < self.rv:
            start = bisect.bisect_right(self.history, rv, key=lambda e: e.rv)
            for ev in reversed(self.history[start:]):
                if ev.bucket != bucket:
                    continue
                if ev.type == "ADDED":
                    objs.pop(ev.key, None)
                else:
                    objs[ev.key] = ev.prev
        items = sorted(objs.items())
        snap = ([k for k, _ in items], [o for _, o in items])
        self._snapshots[(bucket, rv)] = snap
        while len(self._snapshots) > SNAPSHOT_CACHE:
            self._snapshots.popitem(last=False)
        return snap

    # ---- writing ---------------------------------------------------------------------

    def _commit(self, bucket, type_, key, obj, prev, record=True):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        objs = self.objects.setdefault(bucket, {})
        if type_ == "DELETED":
            objs.pop(key, None)
        else:
            objs[key] = obj
        if record:
            self.history.append(Event(self.rv, type_, bucket, key, obj, prev))
            if len(self.history) > HISTORY_LIMIT:
                self._drop_history(self.history[-HISTORY_LIMIT * 3 // 4].rv - 1)
        self.changed.notify_all()

    def _check_body(self, res, ns, obj, name=None):
        if not isinstance(obj, dict):
            raise E.bad_request("the body of the request must be a JSON object")
        kind, api = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != res.kind:
            raise E.bad_request(f'the kind "{kind}" of the object does not match the '
                                f'resource {res.qualified} (kind "{res.kind}")')
        if api and api != res.api_version and not (res.custom and
                                                    api.rpartition("/")[0] == res.group):
            raise E.bad_request(f'the apiVersion "{api}" of the object does not match the '
                                f'resource {res.qualified} ("{res.api_version}")')
        obj = {"apiVersion": res.api_version, "kind": res.kind,
               **{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}}
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise E.bad_request("metadata must be an object")
        for field in ("labels", "annotations"):
            value = md.get(field)
            if value is not None and not (isinstance(value, dict) and
                                          all(isinstance(v, str) for v in value.values())):
                raise E.bad_request(f"metadata.{field} must be a map of strings")
        if res.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise E.bad_request("the namespace of the provided object does not match the "
                                    "namespace sent on the request")
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        if name is not None:
            if md.get("name") and md["name"] != name:
                raise E.bad_request(f"the name of the object ({md['name']}) does not match the "
                                    f"name on the URL ({name})")
            md["name"] = name
        return obj

    def create(self, res, ns, obj, dry_run=False, record=True):
        obj = self._check_body(res, ns, obj)
        md = obj["metadata"]
        if md.get("resourceVersion"):
            raise E.bad_request("resourceVersion should not be set on objects to be created")
        with self.lock:
            self.check_served(res)
            if not md.get("name") and md.get("generateName"):
                md["name"] = self._generate_name(res, ns, md["generateName"])
            name = md.get("name")
            if not name:
                raise E.invalid(res, "", "metadata.name: Required value: name or generateName "
                                         "is required")
            defaults.validate_name(res, name)
            self._check_can_create(res, ns)
            key = object_key(ns if res.namespaced else "", name)
            if key in self.objects.get(res.bucket, {}):
                raise E.already_exists(res, name)
            for k in SERVER_METADATA + ("managedFields", "selfLink"):
                md.pop(k, None)
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now()
            md["generation"] = 1
            if res.status:
                obj.pop("status", None)
            if res.bucket == CRD.bucket:
                defaults.validate_crd(obj)
            defaults.on_create(res, obj, self.cluster_ips)
            if res.bucket == CRD.bucket:
                obj["status"] = defaults.crd_status(obj, md["creationTimestamp"])
            if dry_run:
                return obj
            self._commit(res.bucket, "ADDED", key, obj, None, record)
            if res.bucket == CRD.bucket:
                self._sync_registry()
            return obj

    def _generate_name(self, res, ns, prefix):
        objs = self.objects.get(res.bucket, {})
        while True:
            name = prefix + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            if object_key(ns if res.namespaced else "", name) not in objs:
                return name

    def update(self, res, ns, name, obj, subresource=None, dry_run=False):
        obj = self._check_body(res, ns, obj, name)
        with self.lock:
            self.check_served(res)
            return self._update(res, self._get(res, ns, name), obj, subresource, dry_run)

    def patch(self, res, ns, name, apply_patch, subresource=None, dry_run=False):
        """apply_patch(copy of the current object) -> the patched object."""
        with self.lock:
            self.check_served(res)
            old = self._get(res, ns, name)
            new = self._check_body(res, ns, apply_patch(copy.deepcopy(old)), name)
            return self._update(res, old, new, subresource, dry_run)

    def _update(self, res, old, new, subresource, dry_run):
        omd = old["metadata"]
        want = new["metadata"].get("resourceVersion")
        if want and want != omd["resourceVersion"]:
            raise E.conflict(res, omd["name"])
        if subresource == "status":
            status = new.get("status")
            new = {k: v for k, v in old.items() if k != "status"}
            new["metadata"] = dict(omd)
            if status is not None:
                new["status"] = status
        else:
            md = new["metadata"]
            for k in SERVER_METADATA:
                if k in omd:
                    md[k] = omd[k]
                else:
                    md.pop(k, None)
            if res.status:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            if res.bucket == CRD.bucket:
                defaults.validate_crd(new)
            defaults.on_update(res, old, new, self.cluster_ips)
            if res.bucket == CRD.bucket:
                new["status"] = defaults.crd_status(new, now())
        new["kind"], new["apiVersion"] = old["kind"], old["apiVersion"]
        new["metadata"]["resourceVersion"] = omd["resourceVersion"]
        if new == old:
            return old
        if _content(new) != _content(old):
            new["metadata"]["generation"] = omd.get("generation", 1) + 1
        if dry_run:
            return new
        self._commit(res.bucket, "MODIFIED", key_of(old), new, old)
        if res.bucket == CRD.bucket:
            self._sync_registry()
        return new

    def delete(self, res, ns, name, preconditions=None, dry_run=False):
        with self.lock:
            self.check_served(res)
            obj = self._get(res, ns, name)
            md = obj["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != md["uid"]:
                raise E.conflict(res, name, f"Precondition failed: UID in precondition: "
                                            f"{pre['uid']}, UID in object meta: {md['uid']}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != md["resourceVersion"]:
                raise E.conflict(res, name, f"Precondition failed: ResourceVersion in "
                                            f"precondition: {pre['resourceVersion']}, "
                                            f"ResourceVersion in meta: {md['resourceVersion']}")
            if res.bucket == NAMESPACES and name in PROTECTED_NAMESPACES:
                raise E.ApiError(403, f'namespaces "{name}" is forbidden: this namespace may not '
                                      f"be deleted", "Forbidden",
                                 {"name": name, "kind": "namespaces"})
            if dry_run:
                return obj
            if res.bucket in (NAMESPACES, CRD.bucket):
                return self._terminate(res.bucket, obj)
            return self._delete(res.bucket, key_of(obj), obj)

    def delete_collection(self, res, ns, selector):
        items, _, _, _ = self.list(res, ns, selector)
        deleted = []
        for o in items:
            try:
                deleted.append(self.delete(res, o["metadata"].get("namespace", ""),
                                           o["metadata"]["name"]))
            except E.ApiError as e:
                if e.code != 404:
                    raise
        return deleted

    def _delete(self, bucket, key, obj):
        deleted = dict(obj)
        deleted["metadata"] = dict(obj["metadata"])
        if obj.get("kind") == "Service" and bucket == ("", "services"):
            self.cluster_ips.release((obj.get("spec") or {}).get("clusterIP"))
        self._commit(bucket, "DELETED", key, deleted, obj)
        return deleted

    def _terminate(self, bucket, obj):
        """Namespaces and CRDs go away as on a real cluster: marked as terminating
        at once, and a moment later (the controller's work) their contents are
        deleted and then they are. Until then kubectl can still delete what is
        in them, and nothing new can be created there."""
        md = obj["metadata"]
        if md.get("deletionTimestamp"):
            return obj
        new = dict(obj, metadata=dict(md, deletionTimestamp=now(), deletionGracePeriodSeconds=0))
        if bucket == NAMESPACES:
            new["status"] = {"phase": "Terminating"}
        else:
            status = dict(obj.get("status") or {})
            status["conditions"] = list(status.get("conditions") or []) + [
                {"type": "Terminating", "status": "True", "reason": "InstanceDeletionInProgress",
                 "message": "CustomResource deletion is in progress",
                 "lastTransitionTime": new["metadata"]["deletionTimestamp"]}]
            new["status"] = status
        key = key_of(obj)
        self._commit(bucket, "MODIFIED", key, new, obj)
        timer = threading.Timer(FINALIZE_SECONDS, self._finalize, (bucket, key))
        timer.daemon = True
        timer.start()
        return new

    def _finalize(self, bucket, key):
        with self.lock:
            self._finalize_locked(bucket, key)

    def _finalize_locked(self, bucket, key):
        obj = self.objects.get(bucket, {}).get(key)
        if obj is None or not obj["metadata"].get("deletionTimestamp"):
            return
        if bucket == NAMESPACES:
            prefix = key + "/"
            for b, objs in list(self.objects.items()):
                for k in sorted(k for k in objs if k.startswith(prefix)):
                    self._delete(b, k, objs[k])
        else:
            spec = obj["spec"]
            crs = (spec["group"], spec["names"]["plural"])
            for k, o in sorted(self.objects.get(crs, {}).items()):
                self._delete(crs, k, o)
        self._delete(bucket, key, obj)
        if bucket == CRD.bucket:
            self._sync_registry()

    def _check_can_create(self, res, ns):
        """The namespace must exist and not be terminating; a CRD must not be terminating."""
        if res.namespaced:
            namespace = self.objects.get(NAMESPACES, {}).get(ns)
            if namespace is None:
                raise E.not_found(self.registry.lookup("", "v1", "namespaces"), ns)
            if namespace["metadata"].get("deletionTimestamp"):
                raise E.ApiError(403, f"unable to create new content in namespace {ns} because "
                                      f"it is being terminated", "Forbidden",
                                 {"name": ns, "kind": "namespaces"})
        if res.custom:
            crd = self.objects.get(CRD.bucket, {}).get(f"{res.plural}.{res.group}")
            if crd and crd["metadata"].get("deletionTimestamp"):
                raise E.ApiError(405, "create not allowed while custom resource definition is "
                                      "terminating")

    def _sync_registry(self):
        self.registry = self.registry.with_crds(self.objects.get(CRD.bucket, {}).values())

    # ---- history, watches, faults --------------------------------------------------------

    def _drop_history(self, upto):
        """Forget events up to resourceVersion `upto`, but none an open watch still needs."""
        floor = min([upto] + list(self.watch_positions.values()))
        cut = bisect.bisect_right(self.history, floor, key=lambda e: e.rv)
        del self.history[:cut]
        self.compacted = max(self.compacted, upto)

    def compact(self):
        with self.lock:
            self._drop_history(self.rv)
            self._snapshots.clear()
            return self.rv

    def close_watches(self):
        with self.lock:
            self.watch_epoch += 1
            self.changed.notify_all()

    def shutdown(self, timeout=5.0):
        """Ends every watch and waits (up to timeout) for their streams to be closed."""
        deadline = time.monotonic() + timeout
        with self.lock:
            self.closing = True
            self.changed.notify_all()
            while self.watch_positions and time.monotonic() < deadline:
                self.changed.wait(deadline - time.monotonic())

    def stats(self):
        with self.lock:
            return {"resourceVersion": self.rv, "compactedResourceVersion": self.compacted,
                    "openWatches": len(self.watch_positions), "history": len(self.history)}

    # ---- start and stop ------------------------------------------------------------------

    def bootstrap(self, preload=()):
        """Namespaces every cluster has, then preloaded objects; no history for them."""
        ns_res = self.registry.lookup("", "v1", "namespaces")
        for name in PROTECTED_NAMESPACES:
            if object_key("", name) not in self.objects.get(NAMESPACES, {}):
                self.create(ns_res, "", {"metadata": {"name": name}}, record=False)
        for obj in preload:
            res = self.registry.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
            if res is None:
                raise ValueError(f"preload: unknown kind {obj.get('apiVersion')} "
                                 f"{obj.get('kind')}")
            ns = (obj.get("metadata") or {}).get("namespace") or "default"
            try:
                self.create(res, ns if res.namespaced else "", obj, record=False)
            except E.ApiError as e:
                if e.status["reason"] != "AlreadyExists":
                    raise
        with self.lock:
            for bucket in (NAMESPACES, CRD.bucket):  # terminating when the server stopped
                for key, o in list(self.objects.get(bucket, {}).items()):
                    if o["metadata"].get("deletionTimestamp"):
                        self._finalize_locked(bucket, key)
            self._drop_history(self.rv)

    def save(self, path):
        """Objects and the resourceVersion survive a restart; the history does not."""
        with self.lock:
            data = {"resourceVersion": self.rv,
                    "buckets": [[g, p, list(objs.values())]
                                for (g, p), objs in self.objects.items()]}
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)

    def load(self, path):
        with open(path) as f:
            data = json.load(f)
        with self.lock:
            self.rv = self.compacted = int(data["resourceVersion"])
            for g, p, objs in data["buckets"]:
                self.objects[(g, p)] = {key_of(o): o for o in objs}
            for o in self.objects.get(("", "services"), {}).values():
                ip = (o.get("spec") or {}).get("clusterIP")
                if ip and ip != "None":
                    self.cluster_ips.take(ip)
            self._sync_registry()
