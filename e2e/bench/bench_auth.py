#!/usr/bin/env python3
"""bench_auth.py - what per-request auth costs, through HAProxy with wrk.

The "Pod" is a second HAProxy answering 200 from memory (so the backend is
not the bottleneck), the agent manages the front HAProxy, and wrk measures
requests/s and p99 latency of:
  (a) a plain route (no SPOE)
  (b) a basic-auth route (sha512-crypt hash, as `openssl passwd -6` makes)
  (c) a JWT (RS256) route
  (d) a canary route (weight 50: half the requests to a second Service)
and prints the ratios b/a, c/a and d/a.

    python3 e2e/bench/bench_auth.py [--seconds 10] [--connections 32] [--threads 2]
"""
import argparse
import base64
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lib import resources as R  # noqa: E402
from lib import tokens  # noqa: E402
from lib.ports import free_port  # noqa: E402
from lib.routed import RoutedCluster  # noqa: E402
from lib.wait import wait_until  # noqa: E402

NS = "bench"


def static_pod(workdir, addr, port):
    cfg = os.path.join(workdir, f"pod-{addr}.cfg")
    with open(cfg, "w") as f:
        f.write(f"""global
    maxconn 2000
defaults
    mode http
    timeout client 30s
    timeout connect 5s
    timeout server 30s
frontend pod
    bind {addr}:{port}
    http-request return status 200 content-type text/plain string "ok"
""")
    return subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def wrk(rc, host, headers, seconds, conns, threads):
    args = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency",
            "-H", f"Host: {host}"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    out = subprocess.run(args + [f"http://127.0.0.1:{rc.http_port}/"], capture_output=True,
                         text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale, int(bad.group(1)) if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    rc = RoutedCluster("bench-auth", extra_args=["--log-level", "info"])
    port = free_port()
    pod = static_pod(rc.work, "127.0.9.1", port)
    pod2 = static_pod(rc.work, "127.0.9.2", port)
    try:
        rc.start()
        key, pub = tokens.rsa_key(rc.work)
        now = int(time.time())
        token = tokens.jwt_rs256(key, {"iss": "https://issuer.example", "aud": "spoke",
                                       "sub": "bench", "exp": now + 3600})
        rc.apply(
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.service(NS, "pod", target_port=port),
            R.endpoint_slice(NS, "pod-1", "pod", ["127.0.9.1"], port),
            R.service(NS, "pod2", target_port=port),
            R.endpoint_slice(NS, "pod2-1", "pod2", ["127.0.9.2"], port),
            R.secret(NS, "users", {"auth": b64(tokens.htpasswd_line("alice", "wonderland") + "\n")}),
            R.secret(NS, "jwks", {"keys.pem": b64(pub)}),
            R.ingress(NS, "plain", host="plain.example.com", service="pod"),
            R.ingress(NS, "basic", host="basic.example.com", service="pod",
                      annotations={"spoke.dev/auth-type": "basic",
                                   "spoke.dev/auth-secret": "users"}),
            R.ingress(NS, "jwt", host="jwt.example.com", service="pod",
                      annotations={"spoke.dev/auth-type": "jwt",
                                   "spoke.dev/auth-jwks-secret": "jwks",
                                   "spoke.dev/auth-jwt-issuer": "https://issuer.example",
                                   "spoke.dev/auth-jwt-audience": "spoke"}),
            R.ingress(NS, "main", host="canary.example.com", service="pod"),
            R.ingress(NS, "main-canary", host="canary.example.com", service="pod2",
                      annotations={"spoke.dev/canary": "true",
                                   "spoke.dev/canary-weight": "50"}))
        basic = {"Authorization": "Basic " + b64("alice:wonderland")}
        bearer = {"Authorization": "Bearer " + token}
        rc.wait_synced()
        for host, h in [("plain.example.com", {}), ("basic.example.com", basic),
                        ("jwt.example.com", bearer), ("canary.example.com", {})]:
            wait_until(lambda: rc.request(host, "/", headers=h)[0] == 200, timeout=30,
                       what=f"{host} served")
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s through HAProxy "
              f"(the Pod is an HAProxy answering from memory)")
        results = {}
        for name, host, h in [("plain", "plain.example.com", {}),
                              ("basic", "basic.example.com", basic),
                              ("jwt-rs256", "jwt.example.com", bearer),
                              ("canary-50", "canary.example.com", {})]:
            rps, p99, bad = wrk(rc, host, h, args.seconds, args.connections, args.threads)
            results[name] = rps
            print(f"  {name:10} {rps:10.0f} req/s   p99 {p99:7.2f} ms   non-2xx {bad}")
        print(f"  ratios: basic/plain {results['basic'] / results['plain']:.2f}   "
              f"jwt/plain {results['jwt-rs256'] / results['plain']:.2f}   "
              f"canary/plain {results['canary-50'] / results['plain']:.2f}")
    finally:
        rc.stop(check=False)
        for p in (pod, pod2):
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
