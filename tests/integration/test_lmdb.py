"""The embedded LMDB store: restart and resume, replay semantics, crash safety, retention."""
import os
import signal
import subprocess
import threading
import time
import unittest

from harness import HERALD_BIN, SECRET, Hub, temp_dir


def lmdb_hub(path, query="", **kw):
    return Hub(allow_anonymous=True, transport_url=f"lmdb://{path}{query}", **kw)


def ids_of(client, n, timeout=30):
    return [client.next_event(timeout)["id"] for _ in range(n)]


class RestartAndResume(unittest.TestCase):
    def test_last_event_id_resumes_after_a_restart(self):
        store = temp_dir()
        with lmdb_hub(store) as hub:
            for i in range(5):
                self.assertEqual(hub.publish({"topic": "r", "id": f"a{i}"}), (200, f"a{i}"))
        with lmdb_hub(store) as hub:
            with hub.subscribe(["r"], headers={"Last-Event-ID": "a2"}) as s:
                self.assertEqual(s.header("last-event-id"), "a2")
                self.assertEqual(ids_of(s, 2), ["a3", "a4"])
                hub.publish({"topic": "r", "id": "live"})
                self.assertEqual(s.next_event()["id"], "live")
            with hub.subscribe(["r"], query={"lastEventID": "earliest"}) as s:
                self.assertEqual(ids_of(s, 6), ["a0", "a1", "a2", "a3", "a4", "live"])
            with hub.subscribe(["r"], headers={"Last-Event-ID": "unknown"}) as s:
                self.assertEqual(s.header("last-event-id"), "earliest")
                hub.publish({"topic": "r", "id": "after-unknown"})
                self.assertEqual(s.next_event()["id"], "after-unknown")

    def test_private_updates_are_filtered_during_replay(self):
        with lmdb_hub(temp_dir()) as hub:
            hub.publish({"topic": "p", "id": "public-1"})
            hub.publish({"topic": "p", "id": "private-1", "private": "on"})
            hub.publish({"topic": "p", "id": "public-2"})
            with hub.subscribe(["p"], query={"lastEventID": "earliest"}) as s:
                self.assertEqual(ids_of(s, 2), ["public-1", "public-2"])

    def test_second_hub_on_the_same_store_fails_clearly(self):
        store = temp_dir()
        with lmdb_hub(store):
            r = subprocess.run([HERALD_BIN, "run", "--addr", "127.0.0.1:0", "--jwt-key", SECRET,
                                "--transport-url", f"lmdb://{store}"], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2)
            self.assertIn("in use by another Herald", r.stderr)

    def test_bolt_url_opens_an_lmdb_store(self):
        store = os.path.join(temp_dir(), "updates.db")
        with Hub(allow_anonymous=True, transport_url=f"bolt://{store}") as hub:
            self.assertEqual(hub.publish({"topic": "b", "id": "b1"})[0], 200)
            self.assertTrue(hub.wait_for_log("Bolt file format is not read"))
        self.assertTrue(os.path.isdir(store))


class LongReplayWithRacingPublishes(unittest.TestCase):
    def test_thousands_of_updates_no_gap_no_duplicate(self):
        # The replay (2,500 updates) is longer than the queue (2,000): it must stream at the
        # client's pace, not evict the subscriber. The live part (1,500) fits in the queue, so a
        # slow client (e.g. under ASan) is not evicted as a slow reader either.
        with lmdb_hub(temp_dir(), subscriber_queue_size="2000") as hub:
            for i in range(2500):
                self.assertEqual(hub.publish({"topic": "race", "id": f"h{i}"})[0], 200)
            errors = []

            def publisher():
                for i in range(1500):
                    try:
                        status, _ = hub.publish({"topic": "race", "id": f"l{i}"})
                    except OSError as e:
                        errors.append(repr(e))
                        return
                    if status != 200:
                        errors.append(status)

            t = threading.Thread(target=publisher)
            with hub.subscribe(["race"], query={"lastEventID": "earliest"}) as s:
                t.start()
                got = ids_of(s, 4000, timeout=60)
                t.join(60)
            self.assertFalse(errors)
            self.assertEqual(got, [f"h{i}" for i in range(2500)] + [f"l{i}" for i in range(1500)])


class CrashSafety(unittest.TestCase):
    def test_kill_9_loses_no_acknowledged_update(self):
        store = temp_dir()
        acked_total = []
        for round_ in range(3):
            hub = lmdb_hub(store).start()
            acked = [[] for _ in range(3)]
            stop = threading.Event()

            def publisher(k):
                i = 0
                while not stop.is_set():
                    try:
                        status, body = hub.publish({"topic": "crash", "id": f"r{round_}-p{k}-{i}"})
                    except Exception:
                        return  # the hub died mid-request: not acknowledged
                    if status == 200:
                        acked[k].append(body)
                    i += 1

            threads = [threading.Thread(target=publisher, args=(k,)) for k in range(3)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 10
            while sum(map(len, acked)) < 200 and time.monotonic() < deadline:
                time.sleep(0.01)  # let publishers get going; the kill below is what is tested
            hub.proc.send_signal(signal.SIGKILL)
            hub.proc.wait(10)
            stop.set()
            for t in threads:
                t.join(10)
            hub.stop()
            for a in acked:
                acked_total.extend(a)
            self.assertGreater(sum(map(len, acked)), 0)
        with lmdb_hub(store) as hub:
            with hub.subscribe(["crash"], query={"lastEventID": "earliest"}) as s:
                seen = set()
                deadline = time.monotonic() + 60
                missing = set(acked_total)
                while missing and time.monotonic() < deadline:
                    e = s.next_event(timeout=10)
                    seen.add(e["id"])
                    missing.discard(e["id"])
                self.assertFalse(missing, f"{len(missing)} acknowledged updates lost, e.g. {sorted(missing)[:5]}")


class Retention(unittest.TestCase):
    def test_size_bounds_the_file(self):
        store = temp_dir()
        data_file = os.path.join(store, "data.mdb")
        with lmdb_hub(store, query="?size=100&sync=none") as hub:
            payload = "x" * 8192
            sizes = []
            for round_ in range(4):
                for i in range(500):
                    self.assertEqual(hub.publish({"topic": "ret", "data": payload})[0], 200)
                sizes.append(os.path.getsize(data_file))
            # After the first rounds fill the retention window the file stops growing.
            self.assertLessEqual(sizes[3], sizes[1] * 1.1, sizes)
            with hub.subscribe(["ret"], query={"lastEventID": "earliest"}) as s:
                for _ in range(100):
                    self.assertNotEqual(s.next_event()["id"], "end")
                hub.publish({"topic": "ret", "id": "end"})
                self.assertEqual(s.next_event()["id"], "end")  # exactly 100 were retained


if __name__ == "__main__":
    unittest.main()
