"""Operating a cluster, on every cluster transport (three herald processes on one real Redis,
then on one real PostgreSQL): readiness with min_nodes, liveness while the engine is down,
the cluster status every node serves, and the CLI that prints it."""
import json
import signal
import subprocess
import time
import unittest

from harness import HERALD_BIN, Hub
from pg_server import PgServer
from redis_server import RedisServer


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
        wanted = {"127.0.0.1:%d" % h.port for h in hubs}
        self.wait(lambda: all(listing(h) and {n["address"] for n in listing(h)["nodes"]} == wanted for h in hubs),
                  "every node lists the three")
        docs = [listing(h) for h in hubs]
        strip = lambda d: [(n["id"], n["address"], n["pid"], n["host"], n["started_at"]) for n in d["nodes"]]
        for d in docs[1:]:
            self.assertEqual(strip(d), strip(docs[0]), "two nodes see different clusters")
        self.assertEqual(sorted(n["pid"] for n in docs[0]["nodes"]), sorted(h.proc.pid for h in hubs))
        self.assertEqual(len({d["node"] for d in docs}), 3, "each node names itself")
        for d in docs:
            self.assertIn(d["node"], [n["id"] for n in d["nodes"]])
            self.assertNotIn("secret", d["cluster"]["url"], "credentials in the status document")
            self.assertTrue(all(n["state"] == "alive" for n in d["nodes"]))
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
