"""Three herald nodes sharing one real redis-server: one order everywhere, Last-Event-ID on
any node, a Redis restart and a node killed while publishers run, presence across nodes,
and clear errors for bad Redis settings."""
import json
import os
import signal
import subprocess
import time
import unittest

from cluster_clients import TOPIC, Follower, Publisher
from harness import HERALD_BIN, Hub, mercure_token
from redis_server import RedisServer

API = "/.well-known/mercure/subscriptions"
ALL_EVENTS = "/.well-known/mercure/subscriptions{/topic}{/subscriber}"
API_TOKEN = mercure_token(subscribe=[ALL_EVENTS])
MARKER = "https://example.com/marker"
PEOPLE = ("https://example.com/a", "https://example.com/b")


class RedisCluster(unittest.TestCase):
    nodes = 3
    query = "?presence_ttl=1s"

    def setUp(self):
        self.redis = RedisServer()
        self.hubs = []
        for _ in range(self.nodes):
            hub = Hub(transport_url=self.redis.url(query=self.query), allow_anonymous=True, subscriptions=True)
            self.hubs.append(hub.start())

    def tearDown(self):
        for hub in self.hubs:
            if hub.alive():
                hub.stop()
            else:
                hub.stop()  # reaps the process and closes its pipes
        self.redis.close()

    def test_updates_reach_every_node_in_one_order(self):
        subscribers = [hub.subscribe([TOPIC]) for hub in self.hubs for _ in range(2)]
        publishers = [Publisher(hub, "n%d" % i, 30) for i, hub in enumerate(self.hubs)]
        for p in publishers:
            p.start()
        for p in publishers:
            p.join(60)
        published = sorted(i for p in publishers for i in p.acknowledged)
        self.assertEqual(len(published), 90)
        orders = []
        for s in subscribers:
            orders.append([s.next_event(10)["id"] for _ in range(90)])
            s.close()
        self.assertEqual(sorted(orders[0]), published)
        for order in orders[1:]:
            self.assertEqual(order, orders[0], "two subscribers saw different orders")

    def test_last_event_id_resumes_on_another_node(self):
        a, b, c = self.hubs
        with a.subscribe([TOPIC]) as first:
            for i in range(5):
                self.assertEqual(b.publish({"topic": TOPIC, "id": "e%d" % i, "data": str(i)})[0], 200)
            seen = [first.next_event()["id"] for _ in range(3)]
        self.assertEqual(seen, ["e0", "e1", "e2"])
        for i in range(5, 8):
            self.assertEqual(c.publish({"topic": TOPIC, "id": "e%d" % i, "data": str(i)})[0], 200)
        with b.subscribe([TOPIC], headers={"Last-Event-ID": "e2"}) as resumed:
            self.assertEqual(resumed.header("Last-Event-ID"), "e2")
            got = [resumed.next_event()["id"] for _ in range(5)]
            self.assertEqual(got, ["e3", "e4", "e5", "e6", "e7"])
            self.assertEqual(a.publish({"topic": TOPIC, "id": "live", "data": "x"})[0], 200)
            self.assertEqual(resumed.next_event()["id"], "live")  # nothing duplicated before it

    def test_redis_restart_with_publishers_running_loses_and_duplicates_nothing(self):
        followers = [Follower(self.hubs, i) for i in range(len(self.hubs)) for _ in range(2)]
        for f in followers:
            f.start()
        for f in followers:
            self.assertTrue(f.connected.wait(10))
        publishers = [Publisher(hub, "n%d" % i, 150, pause=0.01) for i, hub in enumerate(self.hubs)]
        for p in publishers:
            p.start()
        self._wait(lambda: sum(len(p.attempted) for p in publishers) >= 60, "publishers started")
        self.redis.stop(hard=True)  # kill -9 mid-stream
        self._wait(lambda: not any(h.healthy() for h in self.hubs), "nodes report Redis down")
        self.redis.start()
        for p in publishers:
            p.join(120)
        self._wait(lambda: all(h.healthy() for h in self.hubs), "nodes report Redis up")
        acknowledged = [i for p in publishers for i in p.acknowledged]
        attempted = {i for p in publishers for i in p.attempted}
        # Publishes made during the outage wait for Redis (connect_timeout); only one in flight
        # at the moment of the crash (sent, answer lost) may fail, at most one per publisher.
        self.assertGreaterEqual(len(acknowledged), 450 - len(publishers))
        for f in followers:
            self.assertTrue(f.wait_for(acknowledged), "a subscriber misses acknowledged updates")
        for f in followers:
            f.stop()
            self.assertEqual(len(f.ids), len(set(f.ids)), "a subscriber received an update twice")
            self.assertLessEqual(set(f.ids), attempted)
        for f in followers[1:]:
            self.assertEqual(f.ids, followers[0].ids, "subscribers disagree on the order")

    def test_node_killed_subscribers_resume_elsewhere_exactly_once(self):
        followers = [Follower(self.hubs, 0) for _ in range(4)]  # all on node 0
        for f in followers:
            f.start()
        for f in followers:
            self.assertTrue(f.connected.wait(10))
        publisher = Publisher(self.hubs[1], "p", 200, pause=0.01)
        publisher.start()
        self._wait(lambda: len(publisher.acknowledged) >= 50, "publishing started")
        self.hubs[0].proc.send_signal(signal.SIGKILL)
        publisher.join(120)
        self.assertEqual(len(publisher.acknowledged), 200)
        for f in followers:
            missing = [] if f.wait_for(publisher.acknowledged) else sorted(set(publisher.acknowledged) - set(f.ids))
            self.assertEqual(missing, [], "a subscriber misses updates after failover (%d received, %d reconnects, "
                             "last %s)\n%s" % (len(f.ids), f.reconnects, f.ids[-1:] if f.ids else None,
                                                "\n".join(h.logs()[-3000:] for h in self.hubs[1:])))
            f.stop()
            self.assertGreaterEqual(f.reconnects, 1)
            self.assertEqual(f.ids, publisher.acknowledged, "updates lost, duplicated or reordered")

    def test_presence_spans_nodes_and_a_dead_nodes_subscribers_leave_once(self):
        a, b, c = self.hubs
        watchers = [hub.subscribe([ALL_EVENTS, MARKER], token=API_TOKEN) for hub in (b, c)]
        sa = a.subscribe(["https://example.com/a"])
        sb = b.subscribe(["https://example.com/b"])
        status, body, _ = c.request("GET", API, headers={"Authorization": "Bearer " + API_TOKEN})
        self.assertEqual(status, 200)
        topics = sorted(s["topic"] for s in json.loads(body)["subscriptions"] if s["topic"] in PEOPLE)
        self.assertEqual(topics, ["https://example.com/a", "https://example.com/b"])
        dead_id = None
        for w in watchers:  # each watcher sees both connect events, wherever they happened
            seen = {}
            while len(seen) < 2:
                doc = json.loads(w.next_event(10)["data"])
                if doc["topic"].startswith("https://example.com/") and doc["active"]:
                    seen[doc["topic"]] = doc["subscriber"]
            dead_id = seen["https://example.com/a"]
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        started = time.monotonic()
        for w in watchers:
            while True:
                doc = json.loads(w.next_event(15)["data"])
                if doc["subscriber"] == dead_id and not doc["active"]:
                    break
        self.assertLess(time.monotonic() - started, 10, "presence_ttl=1s: the dead node's subscribers leave fast")
        # Exactly one inactive event, not one per surviving node: nothing more about the dead
        # subscriber arrives before a marker published after the survivors' next heartbeats.
        self._wait(lambda: self.redis.command("ZCARD", "mercure-ha:nodes") == b":2", "the dead node is reaped")
        self.assertEqual(b.publish({"topic": MARKER, "data": "{}"})[0], 200)
        for w in watchers:
            while True:
                event = w.next_event(10)
                doc = json.loads(event["data"])
                if doc == {}:
                    break
                self.assertFalse(doc.get("subscriber") == dead_id, "a second inactive event for one subscriber")
        status, body, _ = c.request("GET", API, headers={"Authorization": "Bearer " + API_TOKEN})
        topics = sorted(s["topic"] for s in json.loads(body)["subscriptions"] if s["topic"] in PEOPLE)
        self.assertEqual(topics, ["https://example.com/b"])
        for s in [sa, sb, *watchers]:
            s.close()

    def test_every_node_is_registered_with_its_address(self):
        def addresses():
            found = set()
            for node in self.redis.values("ZRANGE", "mercure-ha:nodes", "0", "-1"):
                info = self.redis.values("HGET", "mercure-ha:node:" + node, "info")
                if info:
                    record = json.loads(info)
                    self.assertEqual(record["id"], node)
                    self.assertIn("started_at_ms", record)
                    self.assertIn("subscribers", record)
                    found.add(record["address"])
            return found
        wanted = {"127.0.0.1:%d" % hub.port for hub in self.hubs}
        self._wait(lambda: addresses() == wanted, "every node registered with its address")
        self.hubs[2].stop()  # a clean stop leaves the registry at once
        self.assertEqual(addresses(), wanted - {"127.0.0.1:%d" % self.hubs[2].port})

    def _wait(self, condition, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, "timed out waiting for: " + what)
            time.sleep(0.02)  # polling state that other threads and processes change


class RedisSettings(unittest.TestCase):
    def run_herald(self, url):
        return subprocess.run([HERALD_BIN, "run", "--addr", "127.0.0.1:0", "--jwt-key", "k" * 32,
                               "--transport-url", url], capture_output=True, text=True, timeout=30)

    def test_bad_url_and_wrong_password_are_one_line_errors(self):
        redis = RedisServer("--requirepass", "s3cret")
        try:
            for url, expected in [
                ("redis://127.0.0.1:%d/s?max_len_approx=x" % redis.port, "max_len_approx"),
                ("redis://127.0.0.1:%d/s?bogus=1" % redis.port, "unknown parameter"),
                ("redis://:wrong@127.0.0.1:%d/s" % redis.port, "WRONGPASS"),
                ("redis://127.0.0.1:%d/s" % redis.port, "NOAUTH"),
            ]:
                r = self.run_herald(url)
                self.assertEqual(r.returncode, 2, r.stderr)
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(expected, lines[0])
                self.assertNotIn("wrong@", r.stderr, "the password leaked into the error")
        finally:
            redis.close()

    def test_unreachable_redis_is_unhealthy_until_it_comes(self):
        redis = RedisServer()
        redis.stop()
        hub = Hub(transport_url=redis.url(query="?connect_timeout=1s"), allow_anonymous=True).start()
        try:
            self.assertFalse(hub.healthy())
            status, _ = hub.publish({"topic": TOPIC, "data": "x"})
            self.assertGreaterEqual(status, 500)
            redis.start()
            deadline = time.monotonic() + 15
            while not hub.healthy():
                self.assertLess(time.monotonic(), deadline, "never became healthy")
                time.sleep(0.05)  # /healthz is a poll by nature
            with hub.subscribe([TOPIC]) as s:
                self.assertEqual(hub.publish({"topic": TOPIC, "data": "after", "id": "after"})[0], 200)
                self.assertEqual(s.next_event()["id"], "after")
        finally:
            hub.stop()
            redis.close()


if __name__ == "__main__":
    unittest.main()
