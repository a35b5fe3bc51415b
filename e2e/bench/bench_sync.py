#!/usr/bin/env python3
"""bench_sync.py - how fast the agent lists and then watches a big cluster.

Preloads the test API server with N Ingresses + N Services + N EndpointSlices
(default 10,000 each), starts the agent, and reports:
  - time from the agent's start to "synced" (every first LIST applied),
  - the agent's peak RSS (VmHWM) after sync,
  - time for W watch events (updates) to all reach the agent's cache.

    python3 e2e/bench/bench_sync.py [--count 10000] [--updates 1000]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lib import resources as R  # noqa: E402
from lib.agent import Agent  # noqa: E402
from lib.apiserver import ApiServer  # noqa: E402
from lib.cluster import make_workdir, remove_workdir  # noqa: E402
from lib.wait import wait_until  # noqa: E402


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def preload_file(path, count):
    objs = [R.namespace("bench")]
    for i in range(count):
        name = f"app-{i:05d}"
        objs.append(R.ingress("bench", name, host=f"{name}.example.com", service=name))
        objs.append(R.service("bench", name))
        objs.append(R.endpoint_slice("bench", f"{name}-x", name,
                                     [f"127.1.{i // 250}.{i % 250 + 1}", f"127.2.{i // 250}.{i % 250 + 1}"]))
    with open(path, "w") as f:
        json.dump(objs, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--updates", type=int, default=1000)
    args = ap.parse_args()
    work = make_workdir("bench-sync")
    api = ApiServer(work)
    agent = None
    try:
        pre = os.path.join(work, "preload.json")
        preload_file(pre, args.count)
        api.extra_args = ["--preload", pre]
        t0 = time.monotonic()
        api.start(timeout=300)
        print(f"apiserver preloaded {3 * args.count} objects in {time.monotonic() - t0:.1f}s")

        agent = Agent(work, api.kubeconfig, ["--log-level", "info"])
        t0 = time.monotonic()
        agent.start()
        agent.wait_synced(timeout=600)
        synced_s = time.monotonic() - t0
        _, res = agent.summary()
        counts = {k: v["count"] for k, v in res.items()}
        rss = peak_rss_kib(agent.proc.pid)
        print(f"objects in cache: {counts}")
        print(f"time to synced: {synced_s:.2f} s")
        print(f"agent peak RSS after sync: {rss / 1024:.1f} MiB")

        t0 = time.monotonic()
        for i in range(args.updates):
            name = f"app-{i:05d}"
            api.ok("PATCH", R.object_path("Ingress", "bench", name),
                   {"metadata": {"annotations": {"bench/update": "1"}}},
                   content_type="application/merge-patch+json")
        sent_s = time.monotonic() - t0
        last = f"app-{args.updates - 1:05d}"
        wait_until(lambda: _annotated(agent, last), timeout=300, interval=0.05,
                   what="last update in cache")
        total_s = time.monotonic() - t0
        print(f"{args.updates} watch updates: sent in {sent_s:.2f} s, all in cache after "
              f"{total_s:.2f} s")
        print(f"agent peak RSS at end: {peak_rss_kib(agent.proc.pid) / 1024:.1f} MiB")
    finally:
        if agent:
            agent.stop(check=False)
        api.stop()
        remove_workdir(work)


def _annotated(agent, name):
    dump = agent.get(f"/debug/store?kind=Ingress&namespace=bench&name={name}")
    objs = dump["resources"][0]["objects"]
    return bool(objs) and objs[0]["metadata"].get("annotations", {}).get("bench/update") == "1"


if __name__ == "__main__":
    main()
