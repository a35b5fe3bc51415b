"""test_status.py - the agent writes status.loadBalancer.ingress of the
Ingresses it serves (from --publish-address), leaves other classes alone,
and empties the list of an Ingress it stops serving. With a NodePort
--publish-service, the addresses are those of the Nodes that run the
Service's ready Pods (ExternalIP, else InternalIP), following them."""
import unittest

from lib import resources as R
from lib.routed import RoutedCluster
from lib.wait import wait_until

NS = "status"
WANT = [{"ip": "203.0.113.7"}, {"hostname": "lb.example.com"}]


class StatusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rc = RoutedCluster("status", extra_args=[
            "--publish-address", "203.0.113.7,lb.example.com"]).start()
        cls.rc.apply(
            R.namespace(NS),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.ingress(NS, "ours", host="ours.example.com"),
            R.ingress(NS, "theirs", host="theirs.example.com", ingress_class="nginx"))

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop()

    def lb(self, name):
        obj = self.rc.api.ok("GET", R.object_path("Ingress", NS, name))
        return obj.get("status", {}).get("loadBalancer", {}).get("ingress", [])

    def test_1_served_ingress_gets_the_addresses(self):
        wait_until(lambda: self.lb("ours") == WANT, timeout=20, what="status written")
        self.assertEqual(self.lb("theirs"), [])

    def test_2_ingress_that_leaves_the_class_is_cleared(self):
        wait_until(lambda: self.lb("ours") == WANT, timeout=20, what="status written")
        self.rc.apply(R.ingress(NS, "ours", host="ours.example.com", ingress_class="nginx"))
        wait_until(lambda: self.lb("ours") == [], timeout=20, what="status cleared")


def node(name, addresses):
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}, \
        {"status": {"addresses": [{"type": t, "address": a} for t, a in addresses]}}


def controller_slice(endpoints):
    """The publish-service's EndpointSlice: (address, node, ready) per controller Pod."""
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "spoke-np-1", "namespace": "spoke-system",
                     "labels": {"kubernetes.io/service-name": "spoke-np"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [a], "nodeName": n, "conditions": {"ready": r}}
                      for a, n, r in endpoints],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
    }


class NodePortStatusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rc = RoutedCluster("status-np", extra_args=[
            "--publish-service", "spoke-system/spoke-np"]).start()
        svc = R.service("spoke-system", "spoke-np")
        svc["spec"]["type"] = "NodePort"
        cls.rc.apply(
            R.namespace(NS), R.namespace("spoke-system"), svc,
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "spoke"}, "spec": {"controller": "spoke.dev/ingress-controller"}},
            R.ingress(NS, "np", host="np.example.com"))
        for name, addrs in (("node-a", [("InternalIP", "10.0.0.1"), ("ExternalIP", "198.51.100.1"),
                                        ("Hostname", "node-a")]),
                            ("node-b", [("InternalIP", "10.0.0.2")]),
                            ("node-c", [("ExternalIP", "198.51.100.3")])):
            obj, status = node(name, addrs)
            cls.rc.apply(obj)
            cls.rc.api.ok("PATCH", R.object_path("Node", None, name) + "/status",
                          status, "application/merge-patch+json")

    @classmethod
    def tearDownClass(cls):
        cls.rc.stop()

    def lb(self):
        obj = self.rc.api.ok("GET", R.object_path("Ingress", NS, "np"))
        return obj.get("status", {}).get("loadBalancer", {}).get("ingress", [])

    def test_1_nodes_of_ready_controller_pods(self):
        # node-c runs a Pod that is not ready: not reachable through it.
        self.rc.apply(controller_slice([("10.244.0.5", "node-a", True),
                                        ("10.244.1.5", "node-b", True),
                                        ("10.244.2.5", "node-c", False)]))
        want = [{"ip": "10.0.0.2"}, {"ip": "198.51.100.1"}]
        wait_until(lambda: self.lb() == want, timeout=20, what=f"status {want}")

    def test_2_follows_the_pods(self):
        self.rc.apply(controller_slice([("10.244.2.5", "node-c", True)]))
        want = [{"ip": "198.51.100.3"}]
        wait_until(lambda: self.lb() == want, timeout=20, what=f"status {want}")

    def test_3_load_balancer_status_wins(self):
        path = R.object_path("Service", "spoke-system", "spoke-np") + "/status"
        self.rc.api.ok("PATCH", path,
                       {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}},
                       "application/merge-patch+json")
        wait_until(lambda: self.lb() == [{"ip": "203.0.113.9"}], timeout=20,
                   what="the load-balancer address")


if __name__ == "__main__":
    unittest.main()
