"""Three herald nodes on a three-broker Apache Kafka cluster (KRaft; replication factor 3,
min.insync.replicas=2, unclean leader election off), started once for this file: the broker
leading the topic's partition is killed with SIGKILL under publish load, then restarted, then
the next leader is killed: every acknowledged update reaches every subscriber exactly once, in
one order."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kafka"))

from cluster_clients import Follower, Publisher  # noqa: E402
from harness import Hub  # noqa: E402
from kafka_cluster import KafkaCluster  # noqa: E402


class KafkaBrokerFailover(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kafka = KafkaCluster(brokers=3)

    @classmethod
    def tearDownClass(cls):
        cls.kafka.close()

    def setUp(self):
        self.topic = "failover-%d" % os.getpid()
        self.hubs = [Hub(transport_url=self.kafka.url(self.topic, "consumer_group=node-%d&publish_timeout=60s" % i),
                         allow_anonymous=True).start(timeout=30) for i in range(3)]

    def tearDown(self):
        for hub in self.hubs:
            hub.stop()

    def _wait(self, condition, what, timeout=60):
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, "timed out waiting for: " + what)
            time.sleep(0.05)  # polling state that other threads and processes change

    def _round(self, name, followers):
        """Publishers on every node while the partition's leader is killed: all acknowledged,
        and every follower gets all of them."""
        publishers = [Publisher(hub, "%s%d" % (name, i), 120, pause=0.01) for i, hub in enumerate(self.hubs)]
        for p in publishers:
            p.start()
        self._wait(lambda: sum(len(p.acknowledged) for p in publishers) >= 60, "publishing started")
        leader = self.kafka.leader(self.topic)
        self.assertIsNotNone(leader, "the partition has no leader")
        self.kafka.kill(leader)
        for p in publishers:
            p.join(180)
        acknowledged = [i for p in publishers for i in p.acknowledged]
        # The idempotent producer retries through the election: nothing fails, nothing doubles.
        self.assertEqual(len(acknowledged), 360, "publishes failed during the leader's election")
        for f in followers:
            if not f.wait_for(acknowledged, timeout=60):
                missing = sorted(set(acknowledged) - set(f.ids))
                self.fail("a subscriber (first node %d, %d reconnects) misses %d acknowledged updates: %s\n%s"
                          % (f.index, f.reconnects, len(missing), missing[:10],
                             "\n".join("node %d:\n%s" % (i, "\n".join(h.stderr_lines[-25:]))
                                       for i, h in enumerate(self.hubs))))
        return leader

    def test_partition_leader_killed_under_load_then_restarted_loses_nothing(self):
        followers = [Follower(self.hubs, i) for i in range(3) for _ in range(2)]
        for f in followers:
            f.start()
        for f in followers:
            self.assertTrue(f.connected.wait(10))
        first = self._round("a", followers)
        # The killed broker comes back and catches up; then the new leader dies too.
        self.kafka.start(first)
        # Killing the next leader before the restarted broker is back in sync would leave one
        # in-sync replica, below min.insync.replicas: writes would wait for it, by design.
        self._wait(lambda: self.kafka.in_sync(self.topic) == 3, "the restarted broker back in sync")
        second = self._round("b", followers)
        self.assertNotEqual(first, second)
        for f in followers:
            f.stop()
            self.assertEqual(len(f.ids), len(set(f.ids)), "a subscriber received an update twice")
            self.assertEqual(len(f.ids), 720)
        for f in followers[1:]:
            self.assertEqual(f.ids, followers[0].ids, "subscribers disagree on the order")
        for hub in self.hubs:
            self.assertTrue(hub.alive())


if __name__ == "__main__":
    unittest.main()
