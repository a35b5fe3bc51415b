"""test_leader.py - leader election between two agents on one API server: exactly
one leads and both agree on who; SIGTERM on the leader releases the Lease so
the other takes over at once; SIGKILL leaves the Lease to expire, and the
other takes over within the lease duration plus a retry period.

Interface used: --leader-elect, --election-id NAME, --election-namespace NS,
--lease-duration-seconds N (renew deadline 2/3 and retry period 2/15 of it),
and GET /debug/leader on the admin port -> {"leader": bool, "holder": "...",
"identity": "..."}. Watch-only agents are enough: the election runs there too.
"""
import os
import time
import unittest

from lib.agent import Agent
from lib.apiserver import ApiServer
from lib.cluster import make_workdir, remove_workdir
from lib.wait import wait_until

NS = "default"
LEASE_S = 6  # retry period 0.8 s, renew deadline 4 s


def lease_path(name):
    return f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/{name}"


class LeaderElectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = make_workdir("leader")
        cls.api = ApiServer(cls.work)
        cls.api.start()

    @classmethod
    def tearDownClass(cls):
        cls.api.stop()
        remove_workdir(cls.work)

    def setUp(self):
        # A Lease of its own per test: the previous test's holder may be dead.
        self.election = "spoke-leader-" + self._testMethodName.split("_")[1]
        self.agents = [self.start_agent(f"{self.election}-{i}") for i in (1, 2)]

    def tearDown(self):
        for a in self.agents:
            a.stop(check=False)

    def start_agent(self, name):
        a = Agent(self.work, self.api.kubeconfig, name=name, extra_args=[
            "--leader-elect", "--election-id", self.election, "--election-namespace", NS,
            "--lease-duration-seconds", str(LEASE_S)])
        a.start()
        return a

    @staticmethod
    def state(agent):
        return agent.get("/debug/leader")

    def the_leader(self, candidates, timeout=10):
        """The one agent of candidates that leads, once exactly one does and all agree."""
        def one():
            states = [self.state(a) for a in candidates]
            leaders = [a for a, s in zip(candidates, states) if s["leader"]]
            if len(leaders) != 1:
                return None
            me = self.state(leaders[0])["identity"]
            return leaders[0] if all(s["holder"] == me for s in states) else None
        return wait_until(one, timeout=timeout, what="exactly one leader, agreed on")

    def lease(self):
        return self.api.ok("GET", lease_path(self.election))["spec"]

    def test_1_exactly_one_leader(self):
        leader = self.the_leader(self.agents)
        me = self.state(leader)["identity"]
        spec = self.lease()
        self.assertEqual(spec["holderIdentity"], me)
        self.assertEqual(spec["leaseDurationSeconds"], LEASE_S)
        # Renewals keep it: after a few retry periods it is still the same leader.
        first_renew = spec["renewTime"]
        wait_until(lambda: self.lease()["renewTime"] != first_renew, timeout=5,
                   what="the leader renews the lease")
        time.sleep(2)
        self.assertIs(self.the_leader(self.agents, timeout=1), leader)
        self.assertEqual(self.lease()["holderIdentity"], me)

    def test_2_sigterm_hands_over_at_once(self):
        leader = self.the_leader(self.agents)
        other = next(a for a in self.agents if a is not leader)
        old = self.state(leader)["identity"]
        t0 = time.monotonic()
        leader.stop(check=True)  # SIGTERM: clean exit after releasing the lease
        self.agents.remove(leader)
        new = self.the_leader([other], timeout=LEASE_S / 2)
        took = time.monotonic() - t0
        self.assertLess(took, LEASE_S / 2, "hand-over waited for expiry: lease not released")
        spec = self.lease()
        self.assertEqual(spec["holderIdentity"], self.state(new)["identity"])
        self.assertNotEqual(spec["holderIdentity"], old)
        self.assertGreaterEqual(spec.get("leaseTransitions", 0), 1)

    def test_3_sigkill_lease_expires(self):
        leader = self.the_leader(self.agents)
        other = next(a for a in self.agents if a is not leader)
        old = self.state(leader)["identity"]
        t0 = time.monotonic()
        leader.proc.kill()
        leader.proc.wait()
        leader.proc = None
        self.agents.remove(leader)
        self.assertEqual(self.lease()["holderIdentity"], old)  # nothing released it
        # Expiry is measured from the last change the survivor saw (at most one retry
        # period before the kill): takeover within lease + retry (+ slack for loaded hosts).
        self.the_leader([other], timeout=LEASE_S + 1 + 3)
        took = time.monotonic() - t0
        self.assertGreater(took, LEASE_S - 2, "took over a lease that had not expired")
        self.assertEqual(self.lease()["holderIdentity"], self.state(other)["identity"])
        # A new replica joins as a follower.
        late = self.start_agent(f"{self.election}-3")
        self.agents.append(late)
        wait_until(lambda: self.state(late)["holder"] == self.state(other)["identity"],
                   timeout=5, what="the new replica sees the leader")
        self.assertFalse(self.state(late)["leader"])


if __name__ == "__main__":
    unittest.main()
