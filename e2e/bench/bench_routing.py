#!/usr/bin/env python3
"""bench_routing.py - how fast a change reaches traffic through HAProxy.

With E existing Ingresses (10 and 10,000 by default; spread over 50
Services), the agent managing a real HAProxy, it measures:
  - Ingress create accepted by the API server -> first request through
    HAProxy answered by the new route (N changes, p50/p99/max);
  - EndpointSlice change accepted -> the next requests reach the new Pod
    (N/4 changes, p50/p99/max);
  - HAProxy reloads over the run (expected 0) and the worker pid.

    python3 e2e/bench/bench_routing.py [--existing 10,10000] [--changes 200] [--gap-ms 150]

Changes are spaced by --gap-ms (longer than the agent's 100 ms debounce):
each is measured as an isolated change, not as part of a burst (a burst is
applied at most once per debounce interval, by design).
"""
import argparse
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lib import resources as R  # noqa: E402
from lib.echo import EchoPods  # noqa: E402
from lib.ports import free_port  # noqa: E402
from lib.routed import RoutedCluster  # noqa: E402

NS = "bench"
SERVICES = 50


def preload(path, existing, port):
    objs = [R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"},
             "spec": {"controller": "spoke.dev/ingress-controller"}}]
    for s in range(SERVICES):
        objs.append(R.service(NS, f"svc-{s}", target_port=port))
        objs.append(R.endpoint_slice(NS, f"svc-{s}-1", f"svc-{s}", ["127.0.5.1"], port))
    for i in range(existing):
        objs.append(R.ingress(NS, f"old-{i}", host=f"old-{i}.example.com",
                              service=f"svc-{i % SERVICES}"))
    objs.append(R.service(NS, "moving", target_port=port))
    objs.append(R.endpoint_slice(NS, "moving-1", "moving", ["127.0.5.1"], port))
    objs.append(R.ingress(NS, "moving", host="moving.example.com", service="moving"))
    with open(path, "w") as f:
        json.dump(objs, f)


def pod(conn, host):
    try:
        conn.request("GET", "/", headers={"Host": host})
        r = conn.getresponse()
        body = r.read()
        return json.loads(body)["pod"] if r.status == 200 else r.status
    except (OSError, http.client.HTTPException, ValueError):
        conn.close()
        return None


def wait_for(conn, host, want, deadline=60.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline:
        if pod(conn, host) == want:
            return time.monotonic()
    raise RuntimeError(f"{host} never answered by {want}")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def report(what, ms):
    print(f"  {what}: n={len(ms)} p50={pct(ms, 50):.1f} ms p99={pct(ms, 99):.1f} ms "
          f"max={max(ms):.1f} ms")


def run(existing, changes, gap):
    port = free_port()
    pods = EchoPods(["127.0.5.1", "127.0.5.2"], port, ["pod-a", "pod-b"]).start()
    # The default debounce (100 ms): what a user gets out of the box.
    rc = RoutedCluster("bench-routing", extra_args=["--log-level", "info", "--debounce-ms", "100"])
    try:
        pre = os.path.join(rc.work, "preload.json")
        preload(pre, existing, port)
        rc.api.extra_args = ["--preload", pre]
        t0 = time.monotonic()
        rc.start()
        rc.wait_synced(timeout=600)
        conn = http.client.HTTPConnection("127.0.0.1", rc.http_port, timeout=10)
        wait_for(conn, "moving.example.com", "pod-a", 600)
        print(f"== {existing} existing Ingresses (--debounce-ms 100): agent start -> all routes "
              f"served in "
              f"{time.monotonic() - t0:.2f} s")
        worker = rc.worker_pid()

        create_ms = []
        for i in range(changes):
            time.sleep(gap)  # benchmark pacing, not synchronisation
            rc.api.ok("POST", R.collection_path("Ingress", NS),
                      R.ingress(NS, f"new-{i}", host=f"new-{i}.example.com", service="svc-0"))
            t_accepted = time.monotonic()
            t_served = wait_for(conn, f"new-{i}.example.com", "pod-a")
            create_ms.append((t_served - t_accepted) * 1000)
        report("Ingress created -> first request served", create_ms)

        ep_ms = []
        for i in range(max(1, changes // 4)):
            time.sleep(gap)
            target = "127.0.5.2" if i % 2 == 0 else "127.0.5.1"
            want = "pod-b" if i % 2 == 0 else "pod-a"
            path = R.object_path("EndpointSlice", NS, "moving-1")
            cur = rc.api.ok("GET", path)
            es = R.endpoint_slice(NS, "moving-1", "moving", [target], port)
            es["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
            rc.api.ok("PUT", path, es)
            t_accepted = time.monotonic()
            ep_ms.append((wait_for(conn, "moving.example.com", want) - t_accepted) * 1000)
        report("EndpointSlice changed -> traffic on the new Pod", ep_ms)
        routing = rc.routing()
        same = rc.worker_pid() == worker
        print(f"  reloads: {routing['reloads']}; HAProxy worker unchanged: {same}; "
              f"map commits: {routing['map_commits']}; runtime API commands: "
              f"{routing['commands']}")
        conn.close()
    finally:
        rc.stop(check=False)
        pods.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--existing", default="10,10000")
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--gap-ms", type=int, default=150)
    args = ap.parse_args()
    for e in args.existing.split(","):
        run(int(e), args.changes, args.gap_ms / 1000.0)


if __name__ == "__main__":
    main()
