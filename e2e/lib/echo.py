"""echo.py - echo "Pods": small HTTP servers, each bound to its own loopback
address (127.0.1.N) on the same port, as Pods of a Service would be. Each
answers every request with JSON naming itself and echoing the request. A
query parameter delay=SECONDS (at most 30) makes it wait before answering,
for timeout tests.

    pods = EchoPods(["127.0.1.1", "127.0.1.2"], port=8080, names=["web-a", "web-b"])
    pods.start(); ...; pods.stop()

Run as a program (used by make demo):
    python3 e2e/lib/echo.py --port 8080 web-a=127.0.1.1 web-b=127.0.1.2
"""
import argparse
import http.server
import json
import signal
import socket
import socketserver
import threading
import time
import urllib.parse


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if "delay" in query:
            time.sleep(min(float(query["delay"][0]), 30.0))
        length = int(self.headers.get("Content-Length") or 0)
        body_in = self.rfile.read(length) if length else b""
        body = json.dumps({
            "pod": self.server.pod_name,
            "address": self.server.server_address[0],
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_bytes": len(body_in),
        }).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Pod", self.server.pod_name)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _answer

    def log_message(self, fmt, *args):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a proxy closing an idle keep-alive connection is not an error


class _Server6(_Server):
    address_family = socket.AF_INET6


class EchoPods:
    def __init__(self, addresses, port, names=None):
        self.addresses = list(addresses)
        self.port = port
        self.names = list(names) if names else [f"pod-{a}" for a in self.addresses]
        self.servers = []

    def start(self):
        for addr, name in zip(self.addresses, self.names):
            self.start_one(addr, name)
        return self

    def start_one(self, addr, name):
        srv = (_Server6 if ":" in addr else _Server)((addr, self.port), _Handler)
        srv.pod_name = name
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.servers.append(srv)
        return srv

    def stop_one(self, addr):
        for srv in list(self.servers):
            if srv.server_address[0] == addr:
                srv.shutdown()
                srv.server_close()
                self.servers.remove(srv)

    def stop(self):
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()
        self.servers = []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("pods", nargs="+", help="NAME=ADDRESS")
    args = ap.parse_args()
    names = [p.split("=", 1)[0] for p in args.pods]
    addrs = [p.split("=", 1)[1] for p in args.pods]
    pods = EchoPods(addrs, args.port, names).start()
    print("READY", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    pods.stop()


if __name__ == "__main__":
    main()
