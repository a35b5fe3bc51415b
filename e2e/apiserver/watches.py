"""watches.py - one WATCH request: which events it sends, and when it ends.

Like the real server:
- no resourceVersion (or "0"): synthetic ADDED events for the current objects
  first, then changes;
- a resourceVersion: the changes after it, replayed from the history; if it is
  older than the compacted point the watch sends one ERROR event with a 410
  Expired Status and ends;
- label/field selectors apply to events: an object that stops matching is
  seen as DELETED, one that starts matching as ADDED;
- allowWatchBookmarks: a BOOKMARK every bookmark interval, carrying only the
  resourceVersion everything before which was sent;
- sendInitialEvents=true: after the initial ADDED events, a BOOKMARK with the
  annotation k8s.io/initial-events-end;
- the watch ends at its timeout, on close_watches(), at shutdown and when its
  resource stops being served (CRD deleted).
"""
import bisect
import json
import math
import time

import apierrors as E
from store import object_key


class Watch:
    def __init__(self, store, res, ns, selector, since, bookmarks, timeout,
                 initial_events_end=False):
        self.store = store
        self.res = res
        self.ns = ns if res.namespaced else ""
        self.selector = selector
        self.since = since                  # None: start with the current objects
        self.bookmarks = bookmarks
        self.deadline = time.monotonic() + timeout
        self.initial_events_end = initial_events_end
        self.pos = 0
        self.epoch = None
        self.next_bookmark = math.inf

    def start(self):
        """Registers the watch. Returns the first events, or an ERROR event (then it is over)."""
        s = self.store
        with s.lock:
            s.check_served(self.res)
            if self.since is None:
                first = [("ADDED", o, None) for k, o in sorted(s.objects.get(self.res.bucket,
                                                                             {}).items())
                         if self._in_scope(o) and self.selector.matches(o)]
                self.pos = s.rv
                if self.initial_events_end:
                    first.append(("BOOKMARK", self._bookmark(
                        {"k8s.io/initial-events-end": "true"}), None))
            elif self.since < s.compacted:
                err = E.expired(f"too old resource version: {self.since} ({s.compacted})")
                return [("ERROR", err.status, None)], False
            else:
                first = []
                self.pos = self.since
            self.epoch = s.watch_epoch
            s.watch_positions[self] = self.pos
        if self.bookmarks:
            self.next_bookmark = time.monotonic() + s.bookmark_interval
        return first, True

    def close(self):
        with self.store.lock:
            self.store.watch_positions.pop(self, None)
            self.store.changed.notify_all()

    def next(self, max_wait):
        """Events to send now; [] if none came within max_wait; None when the watch is over."""
        s = self.store
        give_up = time.monotonic() + max_wait
        with s.lock:
            while True:
                out = self._collect()  # what happened before the end is still sent
                if out:
                    return out
                if s.closing or self.epoch != s.watch_epoch or not s.registry.served(self.res):
                    return None
                t = time.monotonic()
                if t >= self.deadline:
                    return None
                if t >= self.next_bookmark:
                    self.next_bookmark = t + s.bookmark_interval
                    return [("BOOKMARK", self._bookmark(), None)]
                if t >= give_up:
                    return []
                s.changed.wait(min(give_up, self.deadline, self.next_bookmark) - t)

    def _in_scope(self, obj):
        return not self.ns or obj["metadata"].get("namespace") == self.ns

    def _collect(self):
        """The events after self.pos, filtered; self.pos moves to the store's resourceVersion."""
        s = self.store
        start = bisect.bisect_right(s.history, self.pos, key=lambda e: e.rv)
        out = []
        sel = self.selector
        prefix = object_key(self.ns, "") if self.ns else ""
        for ev in s.history[start:]:
            if ev.bucket != self.res.bucket or (prefix and not ev.key.startswith(prefix)):
                continue
            now = sel.matches(ev.obj)
            if ev.type == "MODIFIED" and not sel.empty:
                before = sel.matches(ev.prev)
                if now and not before:
                    out.append(("ADDED", ev.obj, ev))
                elif before and not now:
                    out.append(("DELETED", ev.obj, ev))
                elif now:
                    out.append(("MODIFIED", ev.obj, ev))
            elif now:
                out.append((ev.type, ev.obj, ev))
        self.pos = s.rv
        s.watch_positions[self] = self.pos
        return out

    def _bookmark(self, annotations=None):
        md = {"resourceVersion": str(self.pos)}
        if annotations:
            md["annotations"] = annotations
        return {"kind": self.res.kind, "apiVersion": self.res.api_version, "metadata": md}

    def encode(self, type_, obj, ev):
        """One event as a line of JSON; lines of stored events are shared between watches."""
        api = self.res.api_version
        key = (type_, api)
        if ev is not None and key in ev.lines:
            return ev.lines[key]
        if obj.get("apiVersion", api) != api:
            obj = dict(obj, apiVersion=api)
        line = json.dumps({"type": type_, "object": obj}, separators=(",", ":")).encode() + b"\n"
        if ev is not None:
            ev.lines[key] = line
        return line
