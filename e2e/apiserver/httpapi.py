"""httpapi.py - the HTTPS side of the test API server: TLS, bearer-token auth,
routing of the Kubernetes REST paths, the verbs, watch streams, and the
/_test/ endpoints that inject faults.

HTTP/1.1 with keep-alive; normal answers carry Content-Length, watches are a
chunked body with one JSON event and a newline per chunk, written as soon as
the event exists.
"""
import hmac
import json
import logging
import random
import select
import socket
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import apierrors as E
import patching
from selection import Selector
from tables import table
from watches import Watch

log = logging.getLogger("apiserver")

WATCH_TIMEOUT = 1800          # the real server's --min-request-timeout, before jitter
PEER_CHECK_SECONDS = 1.0      # how often an idle watch looks for a closed connection
VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "spoke-test",
           "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0",
           "compiler": "gc", "platform": "linux/amd64"}
# Kinds whose DELETE answers the deleted object rather than a Status, as on a real server.
RETURNS_DELETED_OBJECT = {("", "namespaces"), ("", "services"), ("", "pods")}
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
PATCH_TYPES = ("application/json-patch+json, application/merge-patch+json, "
               "application/strategic-merge-patch+json")


def truthy(value):
    return value in ("1", "true", "True")


class ApiHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, store, faults, token, ssl_context):
        self.store = store
        self.faults = faults
        self.token = token.encode()
        self.ssl_context = ssl_context
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # The TLS handshake runs in the request's thread (Handler.setup), not here.
        return self.ssl_context.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        err = sys.exc_info()[1]
        if isinstance(err, (ConnectionError, ssl.SSLError, TimeoutError)):
            log.info("connection from %s:%s: %s", client_address[0], client_address[1], err)
        else:
            log.warning("connection from %s:%s failed", *client_address[:2], exc_info=True)


class Handler(BaseHTTPRequestHandler):
    # Answers go out at once: Nagle + delayed ACK cost ~40 ms per request.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "spoke-test-apiserver"
    timeout = 300  # idle keep-alive connections close after this

    def setup(self):
        self.request.settimeout(10)
        self.request.do_handshake()  # a failure ends up in ApiHTTPServer.handle_error
        super().setup()

    def log_request(self, code="-", size="-"):
        pass  # _serve logs one line per request itself

    def log_message(self, fmt, *args):
        log.info("%s %s", self.client_address[0], fmt % args)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = lambda self: self._serve()

    # ---- plumbing ------------------------------------------------------------------------

    def _serve(self):
        started = time.monotonic()
        self.code = 0
        self.headers_sent = False
        self.note = ""
        try:
            body = self._read_body()
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            self._authenticate()
            if url.path.startswith("/_test/"):
                self._test_endpoint(url.path[len("/_test/"):], query)
            else:
                fail, delay = self.server.faults.for_request(self.path)
                if delay:
                    self.note += f" (delayed {delay:g}s)"
                    time.sleep(delay)
                if fail:
                    self.note += " (injected)"
                    raise E.ApiError(fail, f"injected failure: HTTP {fail}")
                self._route(url.path, query, body)
        except E.ApiError as e:
            self._send_error(e.code, e.status)
        except (ConnectionError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception:
            log.exception("%s %s failed", self.command, self.path)
            self._send_error(500, E.status(500, "internal error in the test API server"))
        took = (time.monotonic() - started) * 1000
        log.info("%s %s -> %s %.0fms%s ua=%s", self.command, self.path, self.code, took, self.note,
                 self.headers.get("User-Agent", "-") if self.headers else "-")

    def _send_error(self, code, status):
        if self.headers_sent:
            self.close_connection = True
        else:
            self._send_json(code, status)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authenticate(self):
        auth = self.headers.get("Authorization", "")
        if not (auth.startswith("Bearer ") and
                hmac.compare_digest(auth[7:].strip().encode(), self.server.token)):
            raise E.ApiError(401, "Unauthorized")

    def _send(self, code, data, content_type="application/json"):
        self.code = code
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        if code == 429:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(data)
        self.headers_sent = True

    def _send_json(self, code, obj):
        self._send(code, json.dumps(obj, separators=(",", ":")).encode())

    @staticmethod
    def _json(body):
        try:
            return json.loads(body)
        except ValueError:
            raise E.bad_request("the request body is not valid JSON") from None

    def _count(self, verb):
        self.server.faults.count(verb)

    # ---- routing -------------------------------------------------------------------------

    def _route(self, path, q, body):
        reg = self.server.store.registry
        segs = [s for s in path.split("/") if s]
        if segs[:1] == ["api"] and len(segs) >= 2:
            group, version, rest = "", segs[1], segs[2:]
        elif segs[:1] == ["apis"] and len(segs) >= 3:
            group, version, rest = segs[1], segs[2], segs[3:]
        elif self.command == "GET" and len(segs) == 1 and segs[0] in ("healthz", "livez",
                                                                      "readyz"):
            return self._send(200, b"ok", "text/plain; charset=utf-8")
        else:
            doc = self._discovery(reg, segs) if self.command == "GET" else None
            if doc is None:
                raise E.unknown_path()
            self._count("openapi" if segs[:1] == ["openapi"] else "discovery")
            if segs == ["openapi", "v2"] and "protobuf" in self.headers.get("Accept", ""):
                return self._send(200, reg.openapi_v2(protobuf=True), OPENAPI_V2_PROTOBUF)
            return self._send_json(200, doc)
        if not reg.has_group_version(group, version):
            raise E.unknown_path()
        if rest:
            return self._resource(reg, group, version, rest, q, body)
        if self.command != "GET":
            raise E.ApiError(405, f"{self.command} is not allowed on {path}")
        self._count("discovery")
        self._send_json(200, reg.api_resource_list(group, version))

    def _discovery(self, reg, segs):
        """The discovery or OpenAPI document at segs, or None."""
        if not segs:
            paths = ["/api", "/api/v1", "/apis", "/openapi/v3", "/version"] + \
                [f"/apis/{g}/{v}" for g, vs in reg.groups().items() for v in vs]
            return {"paths": sorted(paths)}
        if segs == ["version"]:
            return VERSION
        if segs == ["api"]:
            port = self.server.server_address[1]
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                    "serverAddress": f"127.0.0.1:{port}"}]}
        if segs == ["apis"]:
            return reg.api_group_list()
        if segs[0] == "apis" and len(segs) == 2:
            return reg.api_group(segs[1])
        if segs == ["openapi", "v2"]:
            return reg.openapi_v2(protobuf=False)
        if segs == ["openapi", "v3"]:
            return reg.openapi_root()
        if segs[:2] == ["openapi", "v3"]:
            return reg.openapi_doc_for_path("/".join(segs[2:]))
        return None

    def _resource(self, reg, group, version, rest, q, body):
        watch = truthy(q.get("watch"))
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
        ns = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            inner = reg.lookup(group, version, rest[2])
            if inner is not None and inner.namespaced:
                ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise E.unknown_path()
        res = reg.lookup(group, version, rest[0])
        if res is None or (ns and not res.namespaced):
            raise E.unknown_path()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and (sub != "status" or not res.status):
            raise E.unknown_path()
        method = self.command
        if name is None:
            if method == "GET":
                return self._watch(res, ns, q) if watch else self._list(res, ns, q)
            if method == "POST" and (ns or not res.namespaced):
                return self._create(res, ns, q, body)
            if method == "DELETE":
                return self._delete_collection(res, ns, q)
        elif ns or not res.namespaced:
            if method == "GET":
                return self._watch(res, ns, q, name) if watch else self._get(res, ns, name)
            if method == "PUT":
                return self._update(res, ns, name, sub, q, body)
            if method == "PATCH":
                return self._patch(res, ns, name, sub, q, body)
            if method == "DELETE" and sub is None:
                return self._delete(res, ns, name, q, body)
        else:
            raise E.unknown_path()
        raise E.ApiError(405, f"the server does not allow this method on the requested "
                              f"resource ({method} {self.path})")

    # ---- verbs ---------------------------------------------------------------------------

    @staticmethod
    def _present(res, obj):
        """An object as served at res's version (custom resources may have several)."""
        if obj.get("apiVersion") != res.api_version:
            obj = dict(obj, apiVersion=res.api_version)
        return obj

    def _wants_table(self):
        return "as=Table" in self.headers.get("Accept", "")

    def _get(self, res, ns, name):
        self._count("get")
        obj = self.server.store.get(res, ns, name)
        if self._wants_table():
            return self._send_json(200, table([obj], obj["metadata"]["resourceVersion"]))
        self._send_json(200, self._present(res, obj))

    def _list(self, res, ns, q):
        self._count("list")
        sel = Selector(q.get("labelSelector", ""), q.get("fieldSelector", ""))
        try:
            limit = max(0, int(q.get("limit") or 0))
        except ValueError:
            raise E.bad_request(f"invalid limit: {q.get('limit')}") from None
        if q.get("resourceVersion") == "0" and not q.get("continue"):
            limit = 0  # like the real server's watch cache: all of it, in one answer
        items, rv, cont, remaining = self.server.store.list(res, ns, sel, limit,
                                                            q.get("continue") or None)
        if self._wants_table():
            return self._send_json(200, table(items, str(rv), cont))
        md = {"resourceVersion": str(rv)}
        if cont:
            md["continue"] = cont
        if remaining is not None:
            md["remainingItemCount"] = remaining
        if res.custom:
            items = [self._present(res, o) for o in items]
        else:  # typed lists of the real server leave kind/apiVersion out of their items
            items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")}
                     for o in items]
        self._send_json(200, {"kind": res.list_kind_name, "apiVersion": res.api_version,
                              "metadata": md, "items": items})

    def _create(self, res, ns, q, body):
        self._count("create")
        obj = self.server.store.create(res, ns, self._json(body), dry_run=bool(q.get("dryRun")))
        self._send_json(201, self._present(res, obj))

    def _update(self, res, ns, name, sub, q, body):
        self._count("update")
        obj = self.server.store.update(res, ns, name, self._json(body), sub,
                                       dry_run=bool(q.get("dryRun")))
        self._send_json(200, self._present(res, obj))

    def _patch(self, res, ns, name, sub, q, body):
        self._count("patch")
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        patch = self._json(body)
        if ctype == "application/merge-patch+json":
            def apply(cur):
                return patching.merge_patch(cur, patch)
        elif ctype == "application/json-patch+json":
            def apply(cur):
                return patching.json_patch(cur, patch)
        elif ctype == "application/strategic-merge-patch+json" and not res.custom:
            def apply(cur):
                return patching.strategic_merge_patch(cur, patch, res.kind)
        else:
            accepted = PATCH_TYPES.replace(", application/strategic-merge-patch+json", "") \
                if res.custom else PATCH_TYPES
            raise E.ApiError(415, f"the body of the request was in an unknown format - "
                                  f"accepted media types include: {accepted}")
        obj = self.server.store.patch(res, ns, name, apply, sub, dry_run=bool(q.get("dryRun")))
        self._send_json(200, self._present(res, obj))

    def _delete(self, res, ns, name, q, body):
        self._count("delete")
        opts = self._json(body) if body.strip() else {}
        deleted = self.server.store.delete(res, ns, name, opts.get("preconditions"),
                                           dry_run=bool(q.get("dryRun") or opts.get("dryRun")))
        if res.custom or res.bucket in RETURNS_DELETED_OBJECT:
            return self._send_json(200, self._present(res, deleted))
        details = {"name": name, "kind": res.plural, "uid": deleted["metadata"]["uid"]}
        if res.group:
            details["group"] = res.group
        self._send_json(200, E.success(details))

    def _delete_collection(self, res, ns, q):
        self._count("deletecollection")
        sel = Selector(q.get("labelSelector", ""), q.get("fieldSelector", ""))
        deleted = self.server.store.delete_collection(res, ns, sel)
        self._send_json(200, {"kind": res.list_kind_name, "apiVersion": res.api_version,
                              "metadata": {}, "items": deleted})

    # ---- watch ---------------------------------------------------------------------------

    def _watch(self, res, ns, q, name=None):
        self._count("watch")
        fields = q.get("fieldSelector", "")
        if name is not None:
            fields = ",".join(f for f in (fields, f"metadata.name={name}") if f)
        sel = Selector(q.get("labelSelector", ""), fields)
        rv = q.get("resourceVersion", "")
        initial_events = q.get("sendInitialEvents") == "true"
        try:
            since = None if rv in ("", "0") or initial_events else int(rv)
            # Like the real server: none or 0 means the default, with jitter.
            timeout = int(q.get("timeoutSeconds") or 0) or WATCH_TIMEOUT * (1 + random.random())
        except ValueError:
            raise E.bad_request("invalid resourceVersion or timeoutSeconds") from None
        bookmarks = truthy(q.get("allowWatchBookmarks"))
        w = Watch(self.server.store, res, ns, sel, since, bookmarks, timeout,
                  initial_events_end=initial_events and bookmarks)
        first, going = w.start()
        self.code = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.headers_sent = True
        sent = 0
        try:
            self._write_events(w, first)
            sent += len(first)
            while going:
                batch = w.next(PEER_CHECK_SECONDS)
                if batch is None:
                    break
                if batch:
                    self._write_events(w, batch)
                    sent += len(batch)
                elif self._peer_closed():
                    self.close_connection = True
                    self.note = f" (watch: {sent} events, client went away)"
                    return
            self.wfile.write(b"0\r\n\r\n")
            self.note = f" (watch: {sent} events)"
        finally:
            w.close()

    def _write_events(self, w, events):
        if events:
            out = []
            for type_, obj, ev in events:
                line = w.encode(type_, obj, ev)
                out.append(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.write(b"".join(out))

    def _peer_closed(self):
        """True when the client hung up (or sent something, which a watch client never does)."""
        conn = self.connection
        try:
            readable, _, _ = select.select([conn], [], [], 0)
            if not readable:
                return False
            conn.settimeout(0)
            try:
                conn.recv(1)
                return True
            except (ssl.SSLWantReadError, BlockingIOError):
                return False
            finally:
                conn.settimeout(self.timeout)
        except (OSError, ValueError):
            return True

    # ---- /_test/ -------------------------------------------------------------------------

    def _test_endpoint(self, name, q):
        store, faults = self.server.store, self.server.faults
        if name == "stats" and self.command == "GET":
            stats = faults.stats()
            stats.update(store.stats())
            return self._send_json(200, stats)
        if self.command != "POST":
            raise E.ApiError(405, f"{self.command} is not allowed on /_test/{name}")
        try:
            if name == "close-watches":
                store.close_watches()
            elif name == "compact":
                store.compact()
            elif name == "fail":
                faults.set_fail(int(q.get("count", 1)), int(q.get("status", 500)),
                                q.get("match", ""))
            elif name == "delay":
                faults.set_delay(int(q.get("count", 1)), float(q.get("seconds", 1)),
                                 q.get("match", ""))
            else:
                raise E.ApiError(404, f"no test endpoint {name!r}")
        except ValueError as e:
            raise E.bad_request(f"bad parameter: {e}") from None
        log.info("fault: %s %s", name, q)
        self._send_json(200, {})

