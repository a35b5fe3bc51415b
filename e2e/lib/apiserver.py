"""apiserver.py - runs e2e/apiserver (the test Kubernetes API server) for a test.

    api = ApiServer(workdir); api.start()
    api.create(obj); api.get(path); api.fault("compact"); api.restart(); api.stop()
"""
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

from lib.wait import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(os.path.dirname(HERE), "apiserver", "apiserver.py")


class ApiServer:
    def __init__(self, workdir, bookmark_interval=None, extra_args=()):
        self.dir = os.path.join(workdir, "apiserver")
        os.makedirs(self.dir, exist_ok=True)
        self.bookmark_interval = bookmark_interval
        self.extra_args = list(extra_args)
        self.port = 0
        self.proc = None
        self.url = None
        self.log_path = os.path.join(self.dir, "apiserver.log")

    @property
    def kubeconfig(self):
        return os.path.join(self.dir, "kubeconfig")

    def start(self, timeout=30):
        args = [sys.executable, SERVER, "--dir", self.dir, "--port", str(self.port)]
        if self.bookmark_interval is not None:
            args += ["--bookmark-interval", str(self.bookmark_interval)]
        args += self.extra_args
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        line = wait_until(self._ready_line, timeout=timeout, what="apiserver READY line")
        self.url = line.split()[1]
        self.port = int(self.url.rsplit(":", 1)[1])
        with open(os.path.join(self.dir, "token")) as f:
            self.token = f.read().strip()
        self._ctx = ssl.create_default_context(cafile=self._ca_file())

    def _ready_line(self):
        line = self.proc.stdout.readline()
        if not line and self.proc.poll() is not None:
            raise RuntimeError(f"apiserver exited with {self.proc.returncode}; see {self.log_path}")
        return line.strip() if line.startswith("READY ") else None

    def _ca_file(self):
        for name in ("ca.crt", "ca.pem"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                return p
        raise RuntimeError("apiserver wrote no CA file")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def request(self, method, path, body=None, content_type="application/json"):
        """Returns (status, parsed JSON body or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=30) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, None

    def ok(self, method, path, body=None, content_type="application/json"):
        status, obj = self.request(method, path, body, content_type)
        if status >= 300:
            raise AssertionError(f"{method} {path} -> {status}: {obj}")
        return obj

    def fault(self, name, **params):
        query = urllib.parse.urlencode(params)
        return self.ok("POST", f"/_test/{name}" + (f"?{query}" if query else ""))

    def stats(self):
        return self.ok("GET", "/_test/stats")
