"""authsvc.py - a small external auth service for tests: an HTTP server on a
loopback address that decides on the Authorization header it is sent, and
records every call (method, path, headers) so that tests can count them.

    Bearer good       200, X-Auth-Request-User: alice,
                      X-Auth-Request-Email: alice@example.com
    Bearer noemail    200, X-Auth-Request-User: bob (no email header)
    Bearer forbidden  403
    Bearer slow       waits 3 s, then 200 (longer than any auth-timeout)
    Bearer broken     500
    Bearer moved      302 to /elsewhere
    Bearer latin1     200 with a user name that is not ASCII
    anything else     401, WWW-Authenticate: Bearer realm="ext"

    svc = AuthService("127.0.9.1", port).start()
    svc.count(); svc.calls[-1]["headers"]["x-original-url"]; svc.stop()
"""
import http.server
import socket
import socketserver
import threading
import time


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.server.lock:
            self.server.calls.append({"method": self.command, "path": self.path,
                                      "headers": headers})
        auth = headers.get("authorization", "")
        extra = []
        if auth == "Bearer good":
            status = 200
            extra = [("X-Auth-Request-User", "alice"),
                     ("X-Auth-Request-Email", "alice@example.com")]
        elif auth == "Bearer noemail":
            status, extra = 200, [("X-Auth-Request-User", "bob")]
        elif auth == "Bearer forbidden":
            status = 403
        elif auth == "Bearer slow":
            time.sleep(3)
            status, extra = 200, [("X-Auth-Request-User", "slow")]
        elif auth == "Bearer broken":
            status = 500
        elif auth == "Bearer moved":
            status, extra = 302, [("Location", "/elsewhere")]
        elif auth == "Bearer latin1":
            status, extra = 200, [("X-Auth-Request-User", "jos\u00e9")]
        else:
            status, extra = 401, [("WWW-Authenticate", 'Bearer realm="ext"')]
        body = b"auth says %d\n" % status
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, fmt, *args):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client hanging up on a slow answer is expected

    def process_request(self, request, client_address):
        with self.lock:
            self.open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.lock:
            self.open.discard(request)
        super().shutdown_request(request)


class AuthService:
    def __init__(self, address, port):
        self.address, self.port = address, port
        self.srv = None

    @property
    def url(self):
        return f"http://{self.address}:{self.port}"

    @property
    def calls(self):
        with self.srv.lock:
            return list(self.srv.calls)

    def count(self):
        with self.srv.lock:
            return len(self.srv.calls)

    def start(self):
        self.srv = _Server((self.address, self.port), _Handler)
        self.srv.calls = []
        self.srv.open = set()
        self.srv.lock = threading.Lock()
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """Down for good: no new connection, and the keep-alive ones cut."""
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            with self.srv.lock:
                conns = list(self.srv.open)
            for c in conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
