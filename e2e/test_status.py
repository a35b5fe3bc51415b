"""test_status.py - the agent writes status.loadBalancer.ingress of the
Ingresses it serves (from --publish-address), leaves other classes alone,
and empties the list of an Ingress it stops serving."""
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


if __name__ == "__main__":
    unittest.main()
