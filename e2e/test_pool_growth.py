"""test_pool_growth.py - the one case that costs a reload: more Services of a
profile than its pool has backends. With --pool-size 2, a third Service
grows the pool: HAProxy is reloaded once (counted, with its reason in the
log), hitlessly (wrk on an existing route sees no failed request), and
every route is served afterwards, with the same server set as before.
Attached to an HAProxy someone else started (-W -S), the agent reloads it
through its master CLI (--haproxy-master-socket)."""
import os
import re
import signal
import subprocess
import unittest

from lib import resources as R
from lib.echo import EchoPods
from lib.ports import free_port
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "grow"


class PoolGrowthTest(unittest.TestCase):
    def test_pool_exhaustion_costs_one_hitless_reload(self):
        port = free_port()
        pods = EchoPods(["127.0.7.1", "127.0.7.2", "127.0.7.3"], port,
                        ["svc-0-pod", "svc-1-pod", "svc-2-pod"]).start()
        rc = RoutedCluster("pool-growth", extra_args=["--pool-size", "2"]).start()
        try:
            objs = [R.namespace(NS),
                    {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                     "metadata": {"name": "spoke"},
                     "spec": {"controller": "spoke.dev/ingress-controller"}}]
            for i in range(2):
                objs += [R.service(NS, f"svc-{i}", target_port=port),
                         R.endpoint_slice(NS, f"svc-{i}-1", f"svc-{i}", [f"127.0.7.{i + 1}"],
                                          port),
                         R.ingress(NS, f"ing-{i}", host=f"s{i}.example.com", service=f"svc-{i}")]
            rc.apply(*objs)
            rc.wait_pod("s1.example.com", "/", "svc-1-pod")
            self.assertEqual(rc.routing()["reloads"], 0)

            script = f"{rc.work}/status.lua"
            with open(script, "w") as f:
                f.write('response = function(status, headers, body)\n'
                        '  if status ~= 200 then io.write("STATUS " .. status .. " " .. '
                        'string.sub(body, 1, 80) .. "\\n") end\nend\n')
            wrk = subprocess.Popen(
                ["wrk", "-t1", "-c4", "-d300s", "-s", script, "-H", "Host: s0.example.com",
                 f"http://127.0.0.1:{rc.http_port}/"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                rc.apply(R.service(NS, "svc-2", target_port=port),
                         R.endpoint_slice(NS, "svc-2-1", "svc-2", ["127.0.7.3"], port),
                         R.ingress(NS, "ing-2", host="s2.example.com", service="svc-2"))
                rc.wait_pod("s2.example.com", "/", "svc-2-pod", timeout=30)
                rc.wait_synced(timeout=30)
            finally:
                wrk.send_signal(signal.SIGINT)
                out, _ = wrk.communicate(timeout=30)
            print("# " + "\n# ".join(out.strip().splitlines()))
            self.assertGreater(int(re.search(r"(\d+) requests in", out).group(1)), 100)
            self.assertNotIn("Non-2xx", out)
            self.assertNotIn("Socket errors", out)

            self.assertEqual(rc.routing()["reloads"], 1)
            for i in range(3):
                self.assertEqual(rc.pod_for(f"s{i}.example.com", "/"), f"svc-{i}-pod")
            with open(rc.agent.log_path, errors="replace") as f:
                self.assertIn("reason: pool exhausted", f.read())
            with open(f"{rc.state}/haproxy.cfg") as f:
                cfg = f.read()
            self.assertIn("backend pool_http-roundrobin_0004", cfg)
            self.assertIn("server ep-127.0.7.1-", cfg)
        finally:
            rc.stop(also=[pods])


class AttachedPoolGrowthTest(unittest.TestCase):
    def test_attached_haproxy_is_reloaded_through_its_master_cli(self):
        port = free_port()
        pods = EchoPods(["127.0.7.11", "127.0.7.12"], port, ["a-pod", "b-pod"]).start()
        rc = RoutedCluster("attached-growth", extra_args=["--pool-size", "1"], attached=True,
                           master_socket=True).start()
        try:
            objs = [R.namespace(NS),
                    {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                     "metadata": {"name": "spoke"},
                     "spec": {"controller": "spoke.dev/ingress-controller"}}]
            for i, name in enumerate("ab"):
                objs += [R.service(NS, name, target_port=port),
                         R.endpoint_slice(NS, f"{name}-1", name, [f"127.0.7.{11 + i}"], port),
                         R.ingress(NS, name, host=f"{name}.example.com", service=name)]
            rc.apply(*objs)
            for name in "ab":
                rc.wait_pod(f"{name}.example.com", "/", f"{name}-pod", timeout=30)
            self.assertEqual(rc.routing()["reloads"], 1)
            self.assertIsNone(rc.haproxy.poll(), "the master kept running")
            with open(os.path.join(rc.state, "haproxy.cfg")) as f:
                self.assertIn("backend pool_http-roundrobin_0002", f.read())
        finally:
            rc.stop(also=[pods])


if __name__ == "__main__":
    unittest.main()
