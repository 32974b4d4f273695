"""Seconds-long smoke of every herald-bench scenario against herald: the tool works and
counts what it should (speed is measured by bench/run, never asserted here)."""
import json
import os
import subprocess
import unittest

from harness import HERALD_BIN, HubTestCase, PUBLISHER

BENCH = os.path.abspath(os.environ.get("HERALD_BENCH_BIN") or os.path.join(os.path.dirname(HERALD_BIN),
                                                                            "herald-bench"))


class BenchSmoke(HubTestCase):
    hub_options = {"allow_anonymous": True}

    def bench(self, *args):
        r = subprocess.run([BENCH, *args, "--port", str(self.hub.port), "--pid", str(self.hub.proc.pid),
                            "--token", PUBLISHER], capture_output=True, text=True, errors="replace", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_idle(self):
        r = self.bench("idle", "-n", "200", "--workers", "2")
        self.assertEqual(r["subscribers"], 200)
        self.assertIn("rss_bytes_per_subscriber", r)
        self.assertGreater(r["rss_kib_after"], 0)

    def test_fanout_counts_every_delivery(self):
        r = self.bench("fanout", "-n", "200", "--rate", "20", "--duration", "1")
        self.assertEqual(r["lost"], 0)
        self.assertEqual(r["deliveries"], r["published"] * 200)
        self.assertEqual(r["out_of_order"], 0)
        self.assertGreater(r["latency_us_p99"], 0)

    def test_open_loop_fanout_counts_answers_deliveries_and_server_cpu(self):
        r = self.bench("fanout", "-n", "200", "--rate", "50", "--duration", "1", "--open-loop", "--publishers", "2")
        self.assertTrue(r["open_loop"])
        self.assertEqual(r["published"], 50)  # a fixed rate, whatever the answers
        self.assertEqual(r["publish_answered"], r["published"])
        self.assertEqual(r["publish_errors"], 0)
        self.assertEqual(r["lost"], 0)
        self.assertEqual(r["deliveries"], r["published"] * 200)
        self.assertEqual(r["out_of_order"], 0)
        self.assertGreater(r["answer_us_p99"], 0)
        # The hub's CPU time over the run (in clock ticks: a light run may take less than one).
        self.assertGreaterEqual(r["server_cpu_s"], 0)
        self.assertAlmostEqual(r["cpu_us_per_delivery"], r["server_cpu_s"] * 1e6 / r["deliveries"], places=6)

    def test_many_topics_and_templates(self):
        for sub_path in ["/.well-known/mercure?topic=bench-%T", "/.well-known/mercure?topic=bench-%T%7B%3Fx%7D"]:
            r = self.bench("fanout", "-n", "100", "--topics", "100", "--rate", "100", "--duration", "1",
                           "--sub-path", sub_path, "--pub-body", "topic=bench-%T&data=")
            self.assertEqual(r["lost"], 0, sub_path)
            self.assertEqual(r["deliveries"], r["published"], sub_path)  # one subscriber per topic

    def test_publish(self):
        r = self.bench("publish", "--duration", "1")
        self.assertGreater(r["published"], 0)
        self.assertEqual(r["publish_errors"], 0)



class ReplaySmoke(HubTestCase):
    hub_options = {"allow_anonymous": True, "transport_url": "local://?size=1000"}

    def test_replay(self):
        r = subprocess.run([BENCH, "replay", "--port", str(self.hub.port), "--history", "300", "--publishers", "2",
                            "--token", PUBLISHER], capture_output=True, text=True, errors="replace", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["publish_errors"], 0)
        self.assertGreater(out["full_replay_per_s"], 0)


if __name__ == "__main__":
    unittest.main()
