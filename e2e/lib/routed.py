"""routed.py - a whole request path for a test: the test API server, the
agent managing a real HAProxy (--manage-haproxy) on free loopback ports, and
echo Pods. Requests go through HAProxy with any Host header. With
attached=True the agent only renders the configuration and the test starts
HAProxy itself, in master-worker mode (the sidecar layout); with
master_socket=True also with a master CLI the agent reloads it through.

    rc = RoutedCluster("routing"); rc.start()
    rc.apply(objects...); rc.wait_served()
    status, body = rc.request("hello.example.com", "/path")
    rc.stop()
"""
import http.client
import json
import os
import socket
import subprocess

from lib.agent import Agent
from lib.apiserver import ApiServer
from lib.cluster import kubectl, make_workdir, remove_workdir
from lib.ports import free_port
from lib.wait import wait_until


def manifest(*objs):
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)})


class RoutedCluster:
    def __init__(self, name, extra_args=(), attached=False, master_socket=False, crd=False):
        self.work = make_workdir(name)
        self.state = os.path.join(self.work, "state")
        self.api = ApiServer(self.work)
        self.http_port = free_port()
        self.https_port = free_port()
        self.master_socket = os.path.join(self.work, "master.sock") if master_socket else None
        self.haproxy = None  # attached mode: the HAProxy the test started
        mode = ["--manage-haproxy"] if not attached else \
            ["--haproxy-master-socket", self.master_socket] if master_socket else []
        self.agent = Agent(self.work, None, watch_only=False, extra_args=[
            "--state-dir", self.state, *mode,
            "--bind-address", "127.0.0.1",
            "--http-port", str(self.http_port), "--https-port", str(self.https_port),
            *extra_args])
        self.attached = attached
        self.crd = crd  # install the IngressParameters CRD before the agent starts

    def start(self):
        self.api.start()
        if self.crd:
            kubectl(self.api, "apply", "-f",
                    os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
                        os.path.abspath(__file__)))), "crds", "ingressparameters.yaml"))
        self.agent.kubeconfig = self.api.kubeconfig
        self.agent.start()
        self.agent.wait_synced()
        if self.attached:
            cfg = os.path.join(self.state, "haproxy.cfg")
            wait_until(lambda: os.path.exists(cfg), timeout=20, what="haproxy.cfg rendered")
            master = ["-S", self.master_socket] if self.master_socket else []
            self.haproxy = subprocess.Popen(["haproxy", "-W", "-db", *master, "-f", cfg],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def stop(self, check=True, also=()):
        """Stops everything, then each of also (echo Pods, auth services...),
        whatever fails on the way."""
        try:
            self.agent.stop(check=check)
        finally:
            try:
                if self.haproxy:
                    self.haproxy.terminate()
                    self.haproxy.wait()
                self.api.stop()
                remove_workdir(self.work)
            finally:
                for thing in also:
                    thing.stop()

    def apply(self, *objs):
        kubectl(self.api, "apply", "-f", "-", stdin=manifest(*objs))

    def delete(self, *objs):
        kubectl(self.api, "delete", "-f", "-", stdin=manifest(*objs))

    def routing(self):
        return self.agent.get("/debug/routing")

    def wait_synced(self, timeout=20):
        """The agent's last model is fully pushed into HAProxy."""
        wait_until(lambda: self.routing()["synced"], timeout=timeout, what="routing synced")

    def request(self, host, path="/", method="GET", headers=None, port=None):
        """(status, parsed JSON body or raw text, headers) through HAProxy."""
        conn = http.client.HTTPConnection("127.0.0.1", port or self.http_port, timeout=10)
        try:
            conn.request(method, path, headers={"Host": host, **(headers or {})})
            r = conn.getresponse()
            raw = r.read().decode(errors="replace")
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
            return r.status, body, dict(r.getheaders())
        finally:
            conn.close()

    def pod_for(self, host, path="/"):
        """The name of the Pod that answered, or the HTTP status as an int
        (None while nothing listens: an attached HAProxy starting)."""
        try:
            status, body, _ = self.request(host, path)
        except ConnectionRefusedError:
            return None
        return body["pod"] if status == 200 and isinstance(body, dict) else status

    def wait_pod(self, host, path, want, timeout=20):
        wait_until(lambda: self.pod_for(host, path) == want, timeout=timeout,
                   what=f"{host}{path} -> {want}")

    def haproxy_cli(self, command):
        """One runtime API command on HAProxy's socket; its answer."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(os.path.join(self.state, "admin.sock"))
        try:
            s.sendall(command.encode() + b"\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out.decode()
                out += chunk
        finally:
            s.close()

    def worker_pid(self):
        for line in self.haproxy_cli("show info").splitlines():
            if line.startswith("Pid:"):
                return int(line.split(":", 1)[1])
        raise AssertionError("no Pid in show info")
