"""agent.py - runs the real spoke binary for a test and reads its admin port.

The binary is $SPOKE_BIN (default build/release/spoke). Under the ASan build,
LeakSanitizer reports at exit make stop() fail the test.
"""
import json
import os
import signal
import subprocess
import threading
import urllib.request

from lib.ports import free_port
from lib.wait import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def _copy_to_file(pipe, path):
    """Appends what the agent (and the HAProxy it starts) write, line by line,
    until every writer has closed the pipe."""
    with pipe, open(path, "ab", buffering=0) as f:
        for line in iter(pipe.readline, b""):
            f.write(line)


def spoke_bin():
    return os.path.abspath(os.environ.get("SPOKE_BIN", os.path.join(ROOT, "build/release/spoke")))


class Agent:
    def __init__(self, workdir, kubeconfig, extra_args=(), name="agent", watch_only=True):
        """watch_only: run without HAProxy (the Kubernetes side alone)."""
        self.dir = workdir
        self.watch_only = watch_only
        self.kubeconfig = kubeconfig
        self.extra_args = list(extra_args)
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.proc = None
        self.admin_port = None

    def start(self):
        self.admin_port = free_port()
        args = [spoke_bin(), "--kubeconfig", self.kubeconfig,
                "--admin-listen", f"127.0.0.1:{self.admin_port}",
                "--metrics-listen", "127.0.0.1:0",  # several agents may run at once
                "--debounce-ms", "20", "--log-level", "debug",
                # HAProxy gets 5 s to finish requests at stop (tests say otherwise)
                "--shutdown-grace-seconds", "5"] + self.extra_args
        if self.watch_only:
            args.append("--watch-only")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        # Through a pipe, not the file itself: HAProxy inherits the agent's
        # stderr for its logs and sets O_NONBLOCK with F_SETFL, which clears
        # O_APPEND, so it would write over the lines of a later agent.
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=env)
        self.copier = threading.Thread(target=_copy_to_file,
                                       args=(self.proc.stdout, self.log_path), daemon=True)
        self.copier.start()
        wait_until(self._admin_up, timeout=20, what="agent admin port")

    def _admin_up(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"agent exited with {self.proc.returncode}: {self.log_tail()}")
        return self.get("/debug/store?summary=1") is not None

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=30) as r:
            return json.loads(r.read())

    def store(self, kind):
        """{ "ns/name": object } for one kind, plus the resource summary."""
        dump = self.get(f"/debug/store?kind={kind}")
        res = dump["resources"][0]
        objects = {}
        for o in res["objects"]:
            md = o["metadata"]
            key = f"{md['namespace']}/{md['name']}" if md.get("namespace") else md["name"]
            objects[key] = o
        return objects, res

    def summary(self):
        dump = self.get("/debug/store?summary=1")
        return dump["synced"], {r["kind"]: r for r in dump["resources"]}

    def wait_synced(self, timeout=30):
        wait_until(lambda: self.summary()[0], timeout=timeout, what="agent cache synced")

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self, check=True):
        """SIGTERM; with check, the exit must be clean (status 0, no sanitizer report)."""
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                if check:
                    raise AssertionError("agent did not stop within 20s of SIGTERM")
        rc = self.proc.returncode
        self.proc = None
        # Every line is in the file before it is read (HAProxy, stopped by
        # the agent, has closed its end too).
        self.copier.join(timeout=10)
        if check:
            with open(self.log_path, errors="replace") as f:
                log = f.read()
            bad = [m for m in SANITIZER_MARKERS if m in log]
            if rc != 0 or bad:
                raise AssertionError(f"agent exit status {rc}, sanitizer: {bad}\n{log[-4000:]}")
