"""Three herald nodes sharing one real PostgreSQL: one dense order everywhere under publishers
on every node, PostgreSQL killed mid-stream, a node killed while its subscribers fail over,
presence across nodes, retention run by one node, the table as users query it, and clear
errors for bad settings. One PostgreSQL for the file, a fresh table prefix per test."""
import itertools
import json
import signal
import subprocess
import threading
import time
import unittest

from cluster_clients import TOPIC, Follower, Publisher
from harness import HERALD_BIN, Hub, SseClient, mercure_token
from pg_server import PgServer

API = "/.well-known/mercure/subscriptions"
ALL_EVENTS = "/.well-known/mercure/subscriptions{/topic}{/subscriber}"
API_TOKEN = mercure_token(subscribe=[ALL_EVENTS])
MARKER = "https://example.com/marker"
PEOPLE = ("https://example.com/a", "https://example.com/b")
_tables = itertools.count()


class Collector(threading.Thread):
    """Reads one subscription until `count` events arrived (or its deadline)."""

    def __init__(self, hub, count, timeout=180):
        super().__init__(daemon=True)
        self.client = SseClient(hub, [TOPIC]).open(10)
        self.count, self.deadline = count, time.monotonic() + timeout
        self.ids = []

    def run(self):
        while len(self.ids) < self.count and time.monotonic() < self.deadline:
            try:
                self.ids.append(self.client.next_event(max(0.1, self.deadline - time.monotonic()))["id"])
            except (TimeoutError, EOFError, OSError):
                break
        self.client.close()


class PgTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PgServer()

    @classmethod
    def tearDownClass(cls):
        cls.pg.close()

    def new_table(self):
        return "it%d" % next(_tables)

    def start_nodes(self, n, query="presence_ttl=1s", **options):
        self.table = self.new_table()
        self.hubs = [Hub(transport_url=self.pg.url(self.table, query), allow_anonymous=True, subscriptions=True,
                         **options).start() for _ in range(n)]
        return self.hubs

    def tearDown(self):
        for hub in getattr(self, "hubs", []):
            hub.stop()

    def _wait(self, condition, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, "timed out waiting for: " + what)
            time.sleep(0.02)  # polling state that other threads and processes change


class PgCluster(PgTestCase):
    def test_publishers_on_three_nodes_give_every_subscriber_one_order_without_a_gap(self):
        hubs = self.start_nodes(3)
        per_publisher, publishers_per_node = 850, 4
        total = per_publisher * publishers_per_node * len(hubs)  # 10,200
        collectors = [Collector(hub, total) for hub in hubs for _ in range(2)]
        for c in collectors:
            c.start()
        publishers = [Publisher(hub, "n%dp%d" % (i, k), per_publisher)
                      for i, hub in enumerate(hubs) for k in range(publishers_per_node)]
        for p in publishers:
            p.start()
        for p in publishers:
            p.join(300)
        acknowledged = [i for p in publishers for i in p.acknowledged]
        self.assertEqual(len(acknowledged), total, "publishes failed")
        for c in collectors:
            c.join(200)
        for c in collectors:
            self.assertEqual(len(c.ids), total, "a subscriber missed updates")
            self.assertEqual(c.ids, collectors[0].ids, "two subscribers saw different orders")
        self.assertEqual(sorted(collectors[0].ids), sorted(acknowledged))
        # Dense seqs over updates and subscription events together; the updates among them.
        (count, first, last, updates), = self.pg.sql(
            "SELECT count(*), min(seq), max(seq), count(*) FILTER (WHERE NOT subscription_event) FROM %s_updates"
            % self.table)
        self.assertEqual((first, last, updates), ("1", count, str(total)), "seqs are not dense")
        order = [r[0] for r in self.pg.sql("SELECT id FROM %s_updates WHERE NOT subscription_event ORDER BY seq"
                                           % self.table)]
        self.assertEqual(order, collectors[0].ids, "subscribers' order is not the table's")

    def test_postgres_killed_mid_stream_loses_and_duplicates_nothing(self):
        hubs = self.start_nodes(3)
        followers = [Follower(hubs, i) for i in range(len(hubs)) for _ in range(2)]
        for f in followers:
            f.start()
        for f in followers:
            self.assertTrue(f.connected.wait(10))
        publishers = [Publisher(hub, "n%d" % i, 150, pause=0.01) for i, hub in enumerate(hubs)]
        for p in publishers:
            p.start()
        self._wait(lambda: sum(len(p.attempted) for p in publishers) >= 60, "publishers started")
        self.pg.stop(hard=True)  # kill -9 mid-stream
        self._wait(lambda: not any(h.healthy() for h in hubs), "nodes report PostgreSQL down")
        self.pg.start()
        for p in publishers:
            p.join(120)
        self._wait(lambda: all(h.healthy() for h in hubs), "nodes report PostgreSQL up")
        acknowledged = [i for p in publishers for i in p.acknowledged]
        attempted = {i for p in publishers for i in p.attempted}
        # A batch cut off by the crash is looked up after reconnecting: nothing fails unless
        # PostgreSQL stays away longer than connect_timeout.
        self.assertEqual(len(acknowledged), 450, "publishes failed across the restart")
        for f in followers:
            self.assertTrue(f.wait_for(acknowledged), "a subscriber misses acknowledged updates")
        stored = [r[0] for r in self.pg.sql("SELECT id FROM %s_updates ORDER BY seq" % self.table)]
        self.assertEqual(len(stored), len(set(stored)), "an update was stored twice")
        for f in followers:
            f.stop()
            self.assertEqual(len(f.ids), len(set(f.ids)), "a subscriber received an update twice")
            self.assertLessEqual(set(f.ids), attempted)
        for f in followers[1:]:
            self.assertEqual(f.ids, followers[0].ids, "subscribers disagree on the order")

    def test_node_killed_subscribers_resume_elsewhere_exactly_once(self):
        hubs = self.start_nodes(3)
        followers = [Follower(hubs, 0) for _ in range(4)]
        for f in followers:
            f.start()
        for f in followers:
            self.assertTrue(f.connected.wait(10))
        publisher = Publisher(hubs[1], "p", 200, pause=0.01)
        publisher.start()
        self._wait(lambda: len(publisher.acknowledged) >= 50, "publishing started")
        hubs[0].proc.send_signal(signal.SIGKILL)
        publisher.join(120)
        self.assertEqual(len(publisher.acknowledged), 200)
        for f in followers:
            self.assertTrue(f.wait_for(publisher.acknowledged), "a subscriber misses updates after failover")
            f.stop()
            self.assertGreaterEqual(f.reconnects, 1)
            self.assertEqual(f.ids, publisher.acknowledged, "updates lost, duplicated or reordered")

    def test_presence_spans_nodes_and_a_dead_nodes_subscribers_leave_once(self):
        a, b, c = self.start_nodes(3)
        watchers = [hub.subscribe([ALL_EVENTS, MARKER], token=API_TOKEN) for hub in (b, c)]
        sa = a.subscribe([PEOPLE[0]])
        sb = b.subscribe([PEOPLE[1]])
        status, body, _ = c.request("GET", API, headers={"Authorization": "Bearer " + API_TOKEN})
        self.assertEqual(status, 200)
        topics = sorted(s["topic"] for s in json.loads(body)["subscriptions"] if s["topic"] in PEOPLE)
        self.assertEqual(topics, list(PEOPLE))
        dead_id = None
        for w in watchers:
            seen = {}
            while len(seen) < 2:
                doc = json.loads(w.next_event(10)["data"])
                if doc["topic"] in PEOPLE and doc["active"]:
                    seen[doc["topic"]] = doc["subscriber"]
            dead_id = seen[PEOPLE[0]]
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        for w in watchers:
            while True:
                doc = json.loads(w.next_event(15)["data"])
                if doc["subscriber"] == dead_id and not doc["active"]:
                    break
        self._wait(lambda: self.pg.sql("SELECT count(*) FROM %s_nodes" % self.table) == [["2"]],
                   "the dead node is reaped")
        self.assertEqual(b.publish({"topic": MARKER, "data": "{}"})[0], 200)
        for w in watchers:
            while True:
                doc = json.loads(w.next_event(10)["data"])
                if doc == {}:
                    break
                self.assertFalse(doc.get("subscriber") == dead_id, "a second inactive event for one subscriber")
        status, body, _ = c.request("GET", API, headers={"Authorization": "Bearer " + API_TOKEN})
        topics = sorted(s["topic"] for s in json.loads(body)["subscriptions"] if s["topic"] in PEOPLE)
        self.assertEqual(topics, [PEOPLE[1]])
        addresses = {r[0] for r in self.pg.sql("SELECT address FROM %s_nodes" % self.table)}
        self.assertEqual(addresses, {"127.0.0.1:%d" % h.port for h in (b, c)})
        for s in [sa, sb, *watchers]:
            s.close()

    def test_retention_by_age_runs_on_one_node_and_moves_when_it_dies(self):
        hubs = self.start_nodes(2, query="presence_ttl=1s&max_age=1s")
        elected = lambda: [i for i, h in enumerate(hubs) if "cluster_job_elected job=retention" in "\n".join(h.stderr_lines)]
        self._wait(lambda: len(elected()) == 1, "one node elected for retention")
        for i in range(5):
            self.assertEqual(hubs[i % 2].publish({"topic": TOPIC, "data": "old", "id": "old%d" % i})[0], 200)
        count = lambda: int(self.pg.sql("SELECT count(*) FROM %s_updates" % self.table)[0][0])
        self._wait(lambda: count() == 0, "updates older than max_age removed", timeout=15)
        self.assertEqual(len(elected()), 1, "two nodes ran retention")
        holder = elected()[0]
        hubs[holder].proc.send_signal(signal.SIGKILL)
        hubs[holder].proc.wait(10)
        other = hubs[1 - holder]
        self._wait(lambda: "cluster_job_elected job=retention" in "\n".join(other.stderr_lines), "the survivor took over")
        self.assertEqual(other.publish({"topic": TOPIC, "data": "later", "id": "later"})[0], 200)
        self._wait(lambda: count() == 0, "retention runs on the survivor", timeout=15)
        with other.subscribe([TOPIC], headers={"Last-Event-ID": "old0"}) as s:
            # History no longer holds old0: the hub says so (Mercure: Last-Event-ID "earliest").
            self.assertNotEqual(s.header("Last-Event-ID"), "old0")

    def test_the_table_is_queryable_with_sql(self):
        (hub,) = self.start_nodes(1)
        fields = [("topic", TOPIC), ("topic", "https://example.com/alt"), ("data", "{\"n\": 1}"),
                  ("id", "sql-1"), ("type", "order"), ("retry", "1500"), ("private", "on")]
        self.assertEqual(hub.publish(fields)[0], 200)
        self.assertEqual(hub.publish({"topic": "https://example.com/other", "data": "x", "id": "sql-2"})[0], 200)
        rows = self.pg.sql("SELECT id, topics[1], array_length(topics, 1), data, private, type, retry, "
                           "published_at > now() - interval '1 minute' FROM %s_updates WHERE '%s' = ANY(topics) "
                           "ORDER BY seq" % (self.table, TOPIC))
        self.assertEqual(rows, [["sql-1", TOPIC, "2", "{\"n\": 1}", "t", "order", "1500", "t"]])
        version = self.pg.sql("SELECT max(version) FROM %s_schema" % self.table)
        self.assertEqual(version, [["1"]])

    def test_nodes_starting_at_once_migrate_one_schema(self):
        hubs = self.start_nodes(3)  # all three migrate the same, fresh table prefix
        self.assertEqual(self.pg.sql("SELECT count(*) FROM %s_schema" % self.table), [["1"]])
        self.assertEqual(hubs[2].publish({"topic": TOPIC, "data": "x", "id": "m"})[0], 200)


class PgSettings(PgTestCase):
    def run_herald(self, url):
        return subprocess.run([HERALD_BIN, "run", "--addr", "127.0.0.1:0", "--jwt-key", "k" * 32,
                               "--transport-url", url], capture_output=True, text=True, timeout=30)

    def test_bad_settings_are_one_line_errors_without_the_password(self):
        base = "postgres://postgres:%s@127.0.0.1:%d" % ("secret", self.pg.port)
        for url, expected in [
            (base + "/herald?size=x", "size"),
            (base + "/herald?bogus=1", "unknown parameter"),
            ("postgres://postgres:hunter2@127.0.0.1:%d/herald" % self.pg.port, "password authentication failed"),
            (base + "/nodb", "\"nodb\" does not exist"),
            (base + "/herald?sslmode=bogus", "sslmode"),
        ]:
            r = self.run_herald(url)
            self.assertEqual(r.returncode, 2, r.stderr)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(expected, lines[0])
            self.assertNotIn("hunter2", r.stderr, "the password leaked into the error")
            self.assertNotIn("secret", r.stderr, "the password leaked into the error")

    def test_unreachable_postgres_is_unhealthy_until_it_comes(self):
        self.pg.stop()
        try:
            hub = Hub(transport_url=self.pg.url(self.new_table(), "connect_timeout=1s"), allow_anonymous=True)
            hub.start()
            self.hubs = [hub]
            self.assertFalse(hub.healthy())
            status, _ = hub.publish({"topic": TOPIC, "data": "x"})
            self.assertGreaterEqual(status, 500)
        finally:
            self.pg.start()
        self._wait(hub.healthy, "healthy once PostgreSQL answers", timeout=20)
        with hub.subscribe([TOPIC]) as s:
            self.assertEqual(hub.publish({"topic": TOPIC, "data": "after", "id": "after"})[0], 200)
            self.assertEqual(s.next_event()["id"], "after")


if __name__ == "__main__":
    unittest.main()
