"""haproxy_pod.py - a "Pod" that is a small HAProxy answering from memory
with its own name, speaking HTTP/1.1, h2c or TLS: for the backend-protocol
annotation (the Python echo Pods speak HTTP/1.1 only) and for benchmarks."""
import os
import subprocess

from lib.wait import wait_until


class HaproxyPod:
    def __init__(self, workdir, name, addr, port, proto="http", cert_pem=None):
        """proto: http, h2 (cleartext HTTP/2) or https (TLS, cert_pem: cert+key)."""
        self.cfg = os.path.join(workdir, f"pod-{name}.cfg")
        bind = f"bind {addr}:{port}"
        if proto == "h2":
            bind += " proto h2"
        elif proto == "https":
            bind += f" ssl crt {cert_pem} alpn h2,http/1.1"
        with open(self.cfg, "w") as f:
            f.write(f"""global
    maxconn 500
defaults
    mode http
    timeout client 30s
    timeout connect 5s
    timeout server 30s
frontend pod
    {bind}
    http-request return status 200 content-type application/json lf-string "{{\\"pod\\": \\"{name}\\", \\"proto\\": \\"%[req.ver]\\", \\"path\\": \\"%[path]\\"}}"
""")
        self.proc = None
        self.addr, self.port = addr, port

    def start(self):
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.cfg],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.proc.poll() is None and self._listening(), timeout=10,
                   what=f"pod HAProxy on {self.addr}:{self.port}")
        return self

    def _listening(self):
        import socket
        try:
            socket.create_connection((self.addr, self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None
