"""/metrics on the admin address, read by Prometheus's own text parser (prometheus_client):
the Mercure hub's names and Herald's, counters moving as publishes, subscriptions, replays and
slow readers happen."""
import shutil
import unittest

from prometheus_client.parser import text_string_to_metric_families

from harness import Hub, temp_dir


def scrape(hub):
    status, body = hub.admin("/metrics")
    assert status == 200, (status, body)
    samples = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            key = s.name if not s.labels else s.name + "{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) + "}"
            samples[key] = s.value
    return samples


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.dir = temp_dir()
        self.hub = Hub(transport_url=f"lmdb://{self.dir}/store", allow_anonymous=True, subscriber_queue_size="20").start()

    def tearDown(self):
        self.hub.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_the_mercure_names_and_heralds_are_served(self):
        m = scrape(self.hub)
        for name in ("mercure_subscribers_connected", "mercure_subscribers_total", "mercure_updates_total",
                     "herald_publishes_total{outcome=accepted}", "herald_publish_duration_seconds_count",
                     "herald_publish_to_write_seconds_count", "herald_deliveries_total",
                     "herald_slow_subscribers_disconnected_total", "herald_replays_total",
                     "herald_replayed_updates_total", "herald_engine_reconnects_total", "herald_bus_lag",
                     "herald_shard_inbox_depth", "herald_open_connections", "herald_ready"):
            self.assertIn(name, m)
        self.assertEqual(m["mercure_subscribers_connected"], 0)
        self.assertEqual(m["mercure_updates_total"], 0)

    def test_counters_move_with_publishes_subscriptions_and_replays(self):
        before = scrape(self.hub)
        a = self.hub.subscribe(["metrics/a"])
        b = self.hub.subscribe(["metrics/{x}"])
        ids = []
        for i in range(3):
            status, body = self.hub.publish({"topic": "metrics/a", "data": str(i)})
            self.assertEqual(status, 200)
            ids.append(body)
        for _ in range(3):
            a.next_event()
            b.next_event()
        self.assertEqual(self.hub.publish({"topic": "metrics/a"}, token="not-a-token")[0], 401)
        self.assertEqual(self.hub.publish({"data": "no topic"})[0], 400)
        m = scrape(self.hub)
        self.assertEqual(m["mercure_subscribers_connected"], 2)
        self.assertEqual(m["mercure_subscribers_total"] - before["mercure_subscribers_total"], 2)
        self.assertEqual(m["mercure_updates_total"] - before["mercure_updates_total"], 3)
        self.assertEqual(m["herald_publishes_total{outcome=accepted}"], 3)
        self.assertEqual(m["herald_publishes_total{outcome=unauthorized}"], 1)
        self.assertEqual(m["herald_publishes_total{outcome=bad_request}"], 1)
        self.assertEqual(m["herald_publish_duration_seconds_count"], 3)
        self.assertEqual(m["herald_publish_duration_seconds_bucket{le=+Inf}"], 3)
        self.assertGreater(m["herald_publish_duration_seconds_sum"], 0)
        # Two shards may each have written one of the subscribers: one sample per shard that wrote.
        self.assertGreaterEqual(m["herald_publish_to_write_seconds_count"], 3)
        self.assertEqual(m["herald_deliveries_total"] - before["herald_deliveries_total"], 6)
        self.assertGreaterEqual(m["herald_open_connections"], 2)
        self.assertEqual(m["herald_ready"], 1)
        # A reconnection with Last-Event-ID replays what came after the cursor.
        c = self.hub.subscribe(["metrics/a"], headers={"Last-Event-ID": ids[0]})
        self.assertEqual([c.next_event()["id"] for _ in range(2)], ids[1:])
        a.close()
        b.close()
        c.close()
        m = scrape(self.hub)
        self.assertEqual(m["herald_replays_total"], 1)
        self.assertEqual(m["herald_replayed_updates_total"], 2)
        deadline_scrapes = 200
        while m["mercure_subscribers_connected"] != 0 and deadline_scrapes:
            m = scrape(self.hub)  # the hub notices the closed sockets on its own time
            deadline_scrapes -= 1
        self.assertEqual(m["mercure_subscribers_connected"], 0)

    def test_a_reader_too_slow_is_counted(self):
        # A client that reads nothing while megabytes are published: the socket buffers fill,
        # then its queue: it is disconnected, and counted.
        slow = self.hub.subscribe(["slow"])
        payload = "x" * 100_000
        for i in range(2000):
            if scrape(self.hub)["herald_slow_subscribers_disconnected_total"] > 0:
                break
            self.assertEqual(self.hub.publish({"topic": "slow", "data": payload})[0], 200)
        self.assertEqual(scrape(self.hub)["herald_slow_subscribers_disconnected_total"], 1)
        slow.close()

if __name__ == "__main__":
    unittest.main()
