"""Herald nodes sharing one real Apache Kafka broker (KRaft, started once for this file, with
PLAINTEXT, SASL_PLAINTEXT, SSL and SASL_SSL listeners): one order everywhere, Last-Event-ID on
any node, a node killed while its subscribers fail over, presence across nodes, SASL PLAIN and
TLS, and clear errors for bad Kafka settings. A fresh topic per test."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kafka"))

from cluster_clients import TOPIC, Follower, Publisher  # noqa: E402
from harness import HERALD_BIN, Hub, mercure_token  # noqa: E402
from kafka_cluster import USERS, KafkaCluster  # noqa: E402

API = "/.well-known/mercure/subscriptions"
ALL_EVENTS = "/.well-known/mercure/subscriptions{/topic}{/subscriber}"
API_TOKEN = mercure_token(subscribe=[ALL_EVENTS])
MARKER = "https://example.com/marker"
PEOPLE = ("https://example.com/a", "https://example.com/b")

_topics = iter(range(1, 1000))


def fresh_topic():
    return "it-%d-%d" % (os.getpid(), next(_topics))


class KafkaTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kafka = KafkaCluster(brokers=1, security=True)

    @classmethod
    def tearDownClass(cls):
        cls.kafka.close()

    def _wait(self, condition, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, "timed out waiting for: " + what)
            time.sleep(0.02)  # polling state that other threads and processes change


class KafkaCluster3Nodes(KafkaTestCase):
    def setUp(self):
        self.topic = fresh_topic()
        self.hubs = []
        for i in range(3):
            url = self.kafka.url(self.topic, "consumer_group=node-%d&presence_ttl=1s" % i)
            self.hubs.append(Hub(transport_url=url, allow_anonymous=True, subscriptions=True).start())

    def tearDown(self):
        for hub in self.hubs:
            hub.stop()

    def test_three_nodes_publishing_at_once_see_one_order(self):
        subscribers = [hub.subscribe([TOPIC]) for hub in self.hubs for _ in range(2)]
        publishers = [Publisher(hub, "n%d" % i, 40) for i, hub in enumerate(self.hubs)]
        for p in publishers:
            p.start()
        for p in publishers:
            p.join(60)
        published = sorted(i for p in publishers for i in p.acknowledged)
        self.assertEqual(len(published), 120)
        orders = []
        for s in subscribers:
            orders.append([s.next_event(10)["id"] for _ in range(120)])
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
            self.assertEqual([resumed.next_event()["id"] for _ in range(5)], ["e3", "e4", "e5", "e6", "e7"])
            self.assertEqual(a.publish({"topic": TOPIC, "id": "live", "data": "x"})[0], 200)
            self.assertEqual(resumed.next_event()["id"], "live")  # nothing duplicated before it

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
            self.assertTrue(f.wait_for(publisher.acknowledged), "a subscriber misses updates after failover")
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
        self.assertEqual(topics, list(PEOPLE))
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
        for w in watchers:
            while True:
                doc = json.loads(w.next_event(15)["data"])
                if doc["subscriber"] == dead_id and not doc["active"]:
                    break
        # Exactly one inactive event: nothing more about the dead subscriber arrives before a
        # marker published after the survivors' next heartbeats (presence_ttl=1s).
        status, _ = b.admin("/cluster/status")
        self._wait(lambda: len(json.loads(b.admin("/cluster/status")[1])["nodes"]) == 2, "the dead node is gone")
        self.assertEqual(b.publish({"topic": MARKER, "data": "{}"})[0], 200)
        for w in watchers:
            while True:
                doc = json.loads(w.next_event(10)["data"])
                if doc == {}:
                    break
                self.assertFalse(doc.get("subscriber") == dead_id, "a second inactive event for one subscriber")
        status, body, _ = c.request("GET", API, headers={"Authorization": "Bearer " + API_TOKEN})
        topics = sorted(s["topic"] for s in json.loads(body)["subscriptions"] if s["topic"] in PEOPLE)
        self.assertEqual(topics, ["https://example.com/b"])
        for s in [sa, sb, *watchers]:
            s.close()


class KafkaSecurity(KafkaTestCase):
    """SASL PLAIN, TLS (a keystore made by keytool; its certificate is the CA Herald trusts) and
    both at once, against the broker's own listeners."""

    def url(self, listener, query):
        return self.kafka.url(fresh_topic(), query, listener=listener)

    def assert_delivers(self, url):
        hub = Hub(transport_url=url, allow_anonymous=True).start()
        try:
            self.assertTrue(hub.healthy())
            with hub.subscribe([TOPIC]) as s:
                self.assertEqual(hub.publish({"topic": TOPIC, "id": "secured", "data": "x"})[0], 200)
                self.assertEqual(s.next_event()["id"], "secured")
        finally:
            hub.stop()

    def test_sasl_plain(self):
        self.assert_delivers(self.url("sasl", "user=herald&password=" + USERS["herald"]))

    def test_tls_trusting_the_given_ca(self):
        self.assert_delivers(self.url("ssl", "tls=1&tls_ca_file=" + urllib.parse.quote(self.kafka.ca_file)))

    def test_sasl_over_tls(self):
        self.assert_delivers(self.url("sasl_ssl", "tls=1&user=herald&password=%s&tls_ca_file=%s" % (
            USERS["herald"], urllib.parse.quote(self.kafka.ca_file))))

    def test_tls_insecure_skips_verification(self):
        self.assert_delivers(self.url("ssl", "tls=1&tls_insecure=1"))


class KafkaSettings(KafkaTestCase):
    def run_herald(self, url):
        return subprocess.run([HERALD_BIN, "run", "--addr", "127.0.0.1:0", "--jwt-key", "k" * 32,
                               "--transport-url", url], capture_output=True, text=True, timeout=60)

    def test_bad_settings_and_refused_credentials_are_one_line_errors(self):
        ca = urllib.parse.quote(self.kafka.ca_file)
        for url, expected in [
            (self.kafka.url("t", "bogus=1"), "unknown parameter"),
            ("kafka://kafka/?addr=127.0.0.1&topic=t", "host:port"),
            (self.kafka.url("a/b"), "topic"),
            (self.kafka.url("t", "password=wrong-secret"), "without user"),
            (self.kafka.url(fresh_topic(), "user=herald&password=wrong-secret", listener="sasl"), "refused"),
            (self.kafka.url(fresh_topic(), "tls=1", listener="ssl"), "refused"),  # the system CAs do not know it
            (self.kafka.url(fresh_topic(), "tls=1&tls_ca_file=/nonexistent.pem", listener="ssl"), "ssl.ca.location"),
            (self.kafka.url(fresh_topic(), "tls=1&tls_ca_file=%s&user=nobody&password=wrong-secret" % ca,
                            listener="sasl_ssl"), "refused"),
        ]:
            r = self.run_herald(url)
            self.assertEqual(r.returncode, 2, url + "\n" + r.stderr)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(expected, lines[0])
            self.assertNotIn("wrong-secret", r.stderr, "the password leaked into the error")

    def test_unreachable_brokers_are_unhealthy_until_they_come(self):
        from kafka_cluster import free_port
        port = free_port()
        hub = Hub(transport_url="kafka://kafka/?addr=127.0.0.1:%d&topic=t&connect_timeout=1s&publish_timeout=2s"
                  % port, allow_anonymous=True).start(timeout=30)
        try:
            self.assertFalse(hub.healthy())
            status, _ = hub.publish({"topic": TOPIC, "data": "x"})
            self.assertGreaterEqual(status, 500)
            self.assertTrue(hub.alive())
        finally:
            hub.stop()

    def test_the_id_index_survives_a_restart(self):
        """A node restarted with its id index on disk reads only what it has not indexed yet."""
        import tempfile
        index = tempfile.mkdtemp(prefix="herald-index-")
        url = self.kafka.url(fresh_topic())
        hub = Hub(transport_url=url, allow_anonymous=True, id_index_path=index).start()
        with hub.subscribe([TOPIC]) as s:
            for i in range(30):
                self.assertEqual(hub.publish({"topic": TOPIC, "id": "r%d" % i, "data": "x"})[0], 200)
            # The node indexes what it has consumed: stop it once the last one went through.
            self.assertEqual([s.next_event()["id"] for _ in range(30)][-1], "r29")
        hub.stop()
        hub = Hub(transport_url=url, allow_anonymous=True, id_index_path=index).start()
        try:
            ready = [l for l in hub.stderr_lines if "id_index_ready" in l]
            self.assertEqual(len(ready), 1, hub.logs())
            self.assertIn("records_read=0", ready[0], "the restarted node read the log again")
            with hub.subscribe([TOPIC], headers={"Last-Event-ID": "r27"}) as s:
                self.assertEqual([s.next_event()["id"] for _ in range(2)], ["r28", "r29"])
        finally:
            hub.stop()


if __name__ == "__main__":
    unittest.main()
