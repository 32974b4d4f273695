"""Operating a cluster, on every cluster transport (three herald processes on one real Redis,
then on one real PostgreSQL): readiness with min_nodes, liveness while the engine is down,
the cluster status every node serves, and the CLI that prints it."""
import json
import signal
import subprocess
import threading
import time
import unittest

from cluster_clients import Follower, RotatingPublisher
from harness import HERALD_BIN, SUBSCRIBER_ALL, Hub, SseClient
from pg_server import PgServer
from redis_server import RedisServer


ALL_EVENTS = "/.well-known/mercure/subscriptions{/topic}{/subscriber}"


def subscriber_ids(hub):
    status, body, _ = hub.request("GET", "/.well-known/mercure/subscriptions",
                                  headers={"Authorization": "Bearer " + SUBSCRIBER_ALL})
    assert status == 200, (status, body)
    return sorted(s["subscriber"] for s in json.loads(body)["subscriptions"] if s["topic"] == "reset/x")


def metric(hub, name, labels=None):
    from prometheus_client.parser import text_string_to_metric_families
    status, body = hub.admin("/metrics")
    assert status == 200, (status, body)
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name == name and (labels is None or s.labels == labels):
                return s.value
    raise AssertionError("no metric " + name)


class ClusterOps:
    """Mixed into one TestCase per engine: `engine_url(name)` and `engine` (start/stop)."""

    def start_nodes(self, n, **options):
        hubs = [Hub(transport_url=self.engine_url(), allow_anonymous=True, **options).start() for _ in range(n)]
        self.hubs += hubs
        return hubs

    def setUp(self):
        self.hubs = []

    def tearDown(self):
        for hub in self.hubs:
            hub.stop()

    def ready(self, hub):
        status, body = hub.admin("/mercure/health/ready")
        return status, json.loads(body)

    def wait(self, condition, what, timeout=20):
        deadline = time.monotonic() + timeout
        while not condition():
            self.assertLess(time.monotonic(), deadline, "timed out waiting for: " + what)
            time.sleep(0.05)  # health is probed once a second: there is no event to await

    def test_readiness_needs_min_nodes_alive(self):
        a, b = self.start_nodes(2, min_nodes=3)
        # Probed, two nodes seen, still unavailable: fewer than min_nodes.
        self.wait(lambda: self.ready(a)[1]["checks"]["nodes"]["alive"] == 2, "both nodes registered")
        status, doc = self.ready(a)
        self.assertEqual(status, 503)
        self.assertEqual(doc["status"], "unavailable")
        self.assertEqual(doc["checks"]["nodes"], {"ok": False, "alive": 2, "min": 3})
        self.assertTrue(doc["checks"]["engine"])
        (c,) = self.start_nodes(1, min_nodes=3)
        for hub in (a, b, c):
            self.wait(lambda: self.ready(hub)[0] == 200, "ready with three nodes")
        self.assertEqual(self.ready(a)[1]["status"], "ready")
        c.proc.send_signal(signal.SIGKILL)
        c.proc.wait(10)
        started = time.monotonic()
        for hub in (a, b):
            self.wait(lambda: self.ready(hub)[0] == 503, "unready once a node died")
        # presence_ttl=1s in these tests, a probe a second: well within heartbeat + expiry.
        self.assertLess(time.monotonic() - started, 10)

    def test_engine_down_readiness_fails_liveness_holds(self):
        (a,) = self.start_nodes(1)
        self.wait(lambda: self.ready(a)[0] == 200, "ready")
        self.engine_stop()
        try:
            self.wait(lambda: self.ready(a)[0] == 503, "unready with the engine down", timeout=15)
            self.assertFalse(self.ready(a)[1]["checks"]["engine"])
            self.assertEqual(a.admin("/mercure/health/live")[0], 200, "liveness failed before live_grace")
        finally:
            self.engine_start()
        self.wait(lambda: self.ready(a)[0] == 200, "ready again once the engine is back", timeout=30)
        self.assertEqual(a.admin("/mercure/health/live")[0], 200)

    def test_liveness_fails_after_live_grace(self):
        (a,) = self.start_nodes(1, min_nodes=2, live_grace="2s")  # never ready: one node of two
        self.assertEqual(a.admin("/mercure/health/live")[0], 200)
        self.wait(lambda: a.admin("/mercure/health/live")[0] == 503, "liveness fails after live_grace", timeout=15)

    def test_status_is_the_same_on_every_node_and_the_cli_prints_it(self):
        hubs = self.start_nodes(3)

        def listing(hub):
            status, body = hub.admin("/cluster/status")
            if status != 200:
                return None
            return json.loads(body)
        for i in range(3):
            self.assertEqual(hubs[0].publish({"topic": "status/x", "data": str(i)})[0], 200)
        wanted = {"127.0.0.1:%d" % h.port for h in hubs}
        self.wait(lambda: all(listing(h) and {n["address"] for n in listing(h)["nodes"]} == wanted for h in hubs),
                  "every node lists the three")
        # Every node's position travels with its heartbeats: all caught up with the three.
        self.wait(lambda: all(n["delivered"] >= 3 and n["lag"] == 0 for h in hubs for n in listing(h)["nodes"]),
                  "every node shows every node caught up")
        docs = [listing(h) for h in hubs]
        strip = lambda d: [(n["id"], n["address"], n["pid"], n["host"], n["started_at"]) for n in d["nodes"]]
        for d in docs[1:]:
            self.assertEqual(strip(d), strip(docs[0]), "two nodes see different clusters")
        self.assertEqual(sorted(n["pid"] for n in docs[0]["nodes"]), sorted(h.proc.pid for h in hubs))
        self.assertEqual(len({d["node"] for d in docs}), 3, "each node names itself")
        for d in docs:
            self.assertIn(d["node"], [n["id"] for n in d["nodes"]])
            self.assertNotIn("secret", d["cluster"]["url"], "credentials in the status document")
            # (suspect: two heartbeats late, which a loaded machine may make a node)
            self.assertTrue(all(n["state"] in ("alive", "suspect") for n in d["nodes"]), d)

        out = subprocess.run([HERALD_BIN, "cluster", "status", "--admin", "127.0.0.1:%d" % hubs[1].admin_port()],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.strip().splitlines()
        self.assertEqual(len(lines), 2 + 3, out.stdout)  # cluster line, header, a line per node
        for h in hubs:
            self.assertEqual(sum(("127.0.0.1:%d" % h.port) in line and str(h.proc.pid) in line for line in lines), 1,
                             out.stdout)
        self.assertEqual(sum(line.split()[1] == "*" for line in lines[2:]), 1, "the asked node is not marked")
        as_json = subprocess.run([HERALD_BIN, "cluster", "status", "--json", "--admin",
                                  "http://127.0.0.1:%d/" % hubs[0].admin_port()],
                                 capture_output=True, text=True, timeout=30)
        self.assertEqual(as_json.returncode, 0, as_json.stderr)
        self.assertEqual(strip(json.loads(as_json.stdout)), strip(docs[0]))
        unreachable = subprocess.run([HERALD_BIN, "cluster", "status", "--admin", "127.0.0.1:1"],
                                     capture_output=True, text=True, timeout=30)
        self.assertEqual(unreachable.returncode, 1)
        self.assertEqual(len(unreachable.stderr.strip().splitlines()), 1, unreachable.stderr)


    def test_sigterm_drains_gradually_and_the_cluster_hears_the_subscribers_leave(self):
        a, b = self.start_nodes(2, subscriptions=True, drain_delay="3s", drain_timeout="2s")
        self.wait(lambda: self.ready(a)[0] == 200 and self.ready(b)[0] == 200, "both ready")
        observer = SseClient(b, [ALL_EVENTS], token=SUBSCRIBER_ALL).open()
        clients = [SseClient(a, ["drain/x"]).open() for _ in range(10)]
        for c in clients:
            self.assertEqual(c.status, 200)
        active = set()
        while len(active) < 10:
            e = json.loads(observer.next_event(timeout=20)["data"])
            if e["active"] and e["topic"] == "drain/x":
                active.add(e["subscriber"])
        a.proc.send_signal(signal.SIGTERM)
        # Readiness turns red at once; during drain_delay the streams are still served.
        self.wait(lambda: self.ready(a)[0] == 503, "unready once draining", timeout=2.5)
        self.assertTrue(self.ready(a)[1]["checks"]["draining"])
        self.assertEqual(b.publish({"topic": "drain/x", "data": "still served", "id": "during-drain"})[0], 200)
        for c in clients:
            self.assertEqual(c.next_event(timeout=20)["id"], "during-drain")
        # Then the streams end, spread over drain_timeout rather than all at once.
        ended = []

        def read_to_end(c):
            c.read_until_eof(timeout=30)
            ended.append(time.monotonic())
        readers = [threading.Thread(target=read_to_end, args=(c,)) for c in clients]
        for r in readers:
            r.start()
        for r in readers:
            r.join(40)
        self.assertEqual(len(ended), 10, "a stream did not end")
        self.assertGreater(max(ended) - min(ended), 0.5, "the streams were closed all at once")
        # Every drained subscriber's departure reaches the other node, and the node leaves.
        inactive = set()
        while inactive != active:
            e = json.loads(observer.next_event(timeout=20)["data"])
            if not e["active"]:
                inactive.add(e["subscriber"])
        self.assertEqual(a.proc.wait(20), 0)
        self.wait(lambda: [n["address"] for n in json.loads(b.admin("/cluster/status")[1])["nodes"]] ==
                  ["127.0.0.1:%d" % b.port], "the drained node left the registry")
        observer.close()
        for c in clients:
            c.close()


    def test_reset_clears_the_registry_and_live_nodes_come_back_with_their_subscribers(self):
        hubs = self.start_nodes(3, subscriptions=True)
        a, b, c = hubs
        self.assertEqual(a.publish({"topic": "reset/x", "data": "history", "id": "before-reset"})[0], 200)
        clients = [SseClient(h, ["reset/x"]).open() for h in (a, a, b)]
        self.wait(lambda: len(subscriber_ids(c)) == 3, "three subscribers listed")
        listed = subscriber_ids(c)
        self.wait(lambda: len(json.loads(c.admin("/cluster/status")[1])["nodes"]) == 3, "three nodes")
        observer = SseClient(c, [ALL_EVENTS], token=SUBSCRIBER_ALL).open()
        refused = subprocess.run([HERALD_BIN, "cluster", "reset", "--admin", "127.0.0.1:%d" % c.admin_port()],
                                 capture_output=True, text=True, timeout=30)
        self.assertEqual(refused.returncode, 2, "reset without --yes must refuse")
        self.assertEqual(len(refused.stderr.strip().splitlines()), 1, refused.stderr)
        out = subprocess.run([HERALD_BIN, "cluster", "reset", "--yes", "--admin", "127.0.0.1:%d" % c.admin_port()],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        # Every node finds its registration gone at its next heartbeat and writes it back, with
        # its subscribers (presence_ttl=1s: a beat every 333 ms).
        for h in hubs:
            self.assertTrue(h.wait_for_log("presence_restored", timeout=10), "a node did not re-register")
        self.wait(lambda: subscriber_ids(a) == listed and subscriber_ids(c) == listed, "the subscribers listed again")
        self.wait(lambda: len(json.loads(b.admin("/cluster/status")[1])["nodes"]) == 3, "three nodes again")
        # A reset publishes no subscription event, and leaves the history alone.
        observer.expect_no_event(1.5)
        with SseClient(c, ["reset/x"], headers={"Last-Event-ID": "earliest"}).open() as replay:
            self.assertEqual(replay.next_event()["id"], "before-reset")
        for s in clients + [observer]:
            s.close()

    def test_metrics_count_the_engine_reconnections(self):
        (a,) = self.start_nodes(1)
        before = metric(a, "herald_engine_reconnects_total")
        self.engine_stop()
        try:
            self.wait(lambda: self.ready(a)[0] == 503, "unready with the engine down", timeout=15)
        finally:
            self.engine_start()
        self.wait(lambda: self.ready(a)[0] == 200, "ready again", timeout=30)
        self.wait(lambda: metric(a, "herald_engine_reconnects_total") > before, "a reconnection counted")


    def test_a_cluster_job_runs_on_one_node_and_moves_when_it_dies(self):
        hubs = self.start_nodes(3)

        def status(hub):
            code, body = hub.admin("/cluster/status")
            return json.loads(body) if code == 200 else None

        def reap_holder(hub):
            doc = status(hub)
            return doc and doc["jobs"].get("reap")
        self.wait(lambda: len({reap_holder(h) for h in hubs} - {None}) == 1 and all(reap_holder(h) for h in hubs),
                  "every node names one holder of the reap job")
        doc = status(hubs[0])
        holder = doc["jobs"]["reap"]
        pid_of = {n["id"]: n["pid"] for n in doc["nodes"]}
        self.assertIn(holder, pid_of, "the job's holder is not a node of the cluster")
        for n in doc["nodes"]:
            self.assertEqual("reap" in n["jobs"], n["id"] == holder, n)
        (dead,) = [h for h in hubs if h.proc.pid == pid_of[holder]]
        survivors = [h for h in hubs if h is not dead]
        self.assertEqual(metric(dead, "herald_cluster_job_held", {"job": "reap"}), 1)
        for h in survivors:
            self.assertEqual(metric(h, "herald_cluster_job_held", {"job": "reap"}), 0)
        dead.proc.send_signal(signal.SIGKILL)
        dead.proc.wait(10)
        # The lease (presence_ttl=1s) expires and a survivor takes the job, which then reaps
        # the dead node itself out of the registry.
        self.wait(lambda: all(reap_holder(h) not in (None, holder) for h in survivors), "the job moved", timeout=15)
        new_holder = reap_holder(survivors[0])
        self.assertEqual(reap_holder(survivors[1]), new_holder)
        (runner,) = [h for h in survivors if metric(h, "herald_cluster_job_held", {"job": "reap"}) == 1]
        self.assertIn("cluster_job_elected job=reap", runner.logs())
        self.wait(lambda: holder not in [n["id"] for n in status(runner)["nodes"]], "the dead node reaped")

    def test_rolling_restart_under_publish_load_loses_and_duplicates_nothing(self):
        hubs = self.start_nodes(3, drain_timeout="1s")
        for h in hubs:
            self.wait(lambda: self.ready(h)[0] == 200, "ready")
        followers = [Follower(hubs, i % 3) for i in range(30)]
        for f in followers:
            f.start()
        for f in followers:
            self.assertTrue(f.connected.wait(20), "a subscriber did not connect")
        publisher = RotatingPublisher(hubs, "r")
        publisher.start()
        try:
            for h in hubs:  # one by one: SIGTERM (graceful drain), start again, ready, next
                before = len(publisher.acknowledged)
                self.wait(lambda: len(publisher.acknowledged) >= before + 20, "publishing goes on")
                self.assertEqual(h.stop(timeout=30), 0, "a drained node did not exit 0")
                h.start()
                self.wait(lambda: self.ready(h)[0] == 200, "ready again after the restart", timeout=30)
            before = len(publisher.acknowledged)
            self.wait(lambda: len(publisher.acknowledged) >= before + 20, "publishing goes on after the restarts")
        finally:
            publisher.stop()
        acknowledged = publisher.acknowledged
        attempted = set(publisher.attempted)
        self.assertGreater(len(acknowledged), 80)
        for f in followers:
            missing = [] if f.wait_for(acknowledged, timeout=60) else sorted(set(acknowledged) - set(f.ids))
            self.assertEqual(missing, [], "a subscriber misses acknowledged updates")
        for f in followers:
            f.stop()
            self.assertEqual(len(f.ids), len(set(f.ids)), "a subscriber received an update twice")
            self.assertLessEqual(set(f.ids), attempted, "an update nobody published")
            numbers = [int(i.split("-")[1]) for i in f.ids]
            self.assertEqual(numbers, sorted(numbers), "updates out of publishing order")
        for f in followers[1:]:
            self.assertEqual(f.ids, followers[0].ids, "subscribers disagree on the order")
        self.assertTrue(all(f.reconnects >= 1 for f in followers), "a subscriber never failed over")


class RedisClusterOps(ClusterOps, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer()
        cls.count = 0

    @classmethod
    def tearDownClass(cls):
        cls.redis.close()

    def setUp(self):
        super().setUp()
        type(self).count += 1
        self.stream = "ops%d" % self.count

    def engine_url(self):
        return self.redis.url(self.stream, "?presence_ttl=1s&connect_timeout=1s")

    def engine_stop(self):
        self.redis.stop(hard=True)

    def engine_start(self):
        self.redis.start()


class PostgresClusterOps(ClusterOps, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PgServer()
        cls.count = 0

    @classmethod
    def tearDownClass(cls):
        cls.pg.close()

    def setUp(self):
        super().setUp()
        type(self).count += 1
        self.table = "ops%d" % self.count

    def engine_url(self):
        return self.pg.url(self.table, "presence_ttl=1s&connect_timeout=1s")

    def engine_stop(self):
        self.pg.stop(hard=True)

    def engine_start(self):
        self.pg.start()


if __name__ == "__main__":
    unittest.main()
