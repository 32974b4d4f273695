"""Fan-out: many subscribers, slow readers evicted without delaying the others."""
import selectors
import socket
import time
import unittest

from harness import HubTestCase, SseClient


class ManySubscribers(HubTestCase):
    hub_options = {"allow_anonymous": True}

    def test_one_publish_reaches_1000_concurrent_subscribers(self):
        n = 1000
        clients = []
        sel = selectors.DefaultSelector()
        try:
            for i in range(n):
                c = SseClient(self.hub, ["https://example.com/fanout"])
                c.open()
                clients.append(c)
            for c in clients:
                self.assertEqual(c.status, 200)
                self.assertEqual(c.next_block(), ":")
                c.sock.setblocking(False)
                sel.register(c.sock, selectors.EVENT_READ, c)
            sent = time.monotonic()
            status, uid = self.hub.publish({"topic": "https://example.com/fanout", "data": "to all"})
            self.assertEqual(status, 200)
            pending = set(clients)
            deadline = time.monotonic() + 30
            while pending and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=1):
                    c = key.data
                    data = c.sock.recv(65536)
                    c.raw += data
                    c._decode()
                    if "\n\n" in c.text:
                        self.assertIn("id: " + uid, c.text)
                        pending.discard(c)
            elapsed = time.monotonic() - sent
            self.assertFalse(pending, f"{len(pending)} subscribers did not receive the update")
            print(f"\n  1000 subscribers: publish-to-last-receive {elapsed * 1000:.1f} ms (python client)")
        finally:
            sel.close()
            for c in clients:
                c.close()


class SlowReaders(HubTestCase):
    hub_options = {"allow_anonymous": True, "subscriber_queue_size": "20", "dispatch_timeout": "30s"}

    def test_slow_reader_is_disconnected_and_fast_reader_gets_everything(self):
        total = 600
        payload = "x" * 65536
        # The slow client reads nothing while 39 MB are published: the socket buffers fill,
        # then its queue of 20 updates, then the hub disconnects it.
        slow = SseClient(self.hub, ["slow"]).open()
        fast = SseClient(self.hub, ["slow"]).open()
        got = 0
        for i in range(total):
            self.assertEqual(self.hub.publish({"topic": "slow", "data": payload, "id": f"s{i}"})[0], 200)
            # Keep the fast reader draining as it goes, the way a healthy client does.
            while True:
                try:
                    e = fast.next_event(timeout=5)
                except TimeoutError:
                    self.fail(f"fast reader stalled at {got}")
                self.assertEqual(e["id"], f"s{got}")
                got += 1
                if got == i + 1:
                    break
        self.assertEqual(got, total)
        self.assertTrue(self.hub.wait_for_log("subscriber_evicted"), "the slow reader was not evicted")
        # The slow client's stream ends: it got fewer than all updates, then EOF.
        text = slow.read_until_eof(timeout=30)
        received = text.count("id: s")
        self.assertLess(received, total)
        slow.close()
        fast.close()
        self.assertHubStillServes()


class ByteBudget(HubTestCase):
    # Frames would fit (1000), bytes do not: 1 MiB is 16 updates of 64 KiB.
    hub_options = {"allow_anonymous": True, "subscriber_queue_bytes": str(1 << 20), "dispatch_timeout": "30s"}

    def test_a_reader_over_its_byte_budget_is_disconnected_and_resumes_with_last_event_id(self):
        payload = "z" * 65536
        slow = SseClient(self.hub, ["bytes"]).open()
        published = 0
        # The socket buffers fill first (a few MB here); then the queue's 1 MiB.
        for i in range(400):
            self.assertEqual(self.hub.publish({"topic": "bytes", "data": payload, "id": f"b{i}"})[0], 200)
            published += 1
            if "subscriber_evicted" in self.hub.logs():
                break
        self.assertTrue(self.hub.wait_for_log("reason=\"queue full (1048576 bytes)"), "not evicted by the byte budget")
        text = slow.read_until_eof(timeout=30)
        slow.close()
        ids = [line[4:] for line in text.split("\n") if line.startswith("id: ")]
        self.assertLess(len(ids), published)
        # The client reconnects from the last id it got and receives the rest, in order.
        resumed = SseClient(self.hub, ["bytes"], headers={"Last-Event-ID": ids[-1]}).open()
        rest = [resumed.next_event(timeout=10)["id"] for _ in range(published - len(ids))]
        resumed.close()
        self.assertEqual(ids + rest, [f"b{i}" for i in range(published)])
        self.assertHubStillServes()


if __name__ == "__main__":
    unittest.main()


class DispatchTimeout(HubTestCase):
    # A byte budget far over what is published: only the stalled write can end the stream.
    hub_options = {"allow_anonymous": True, "dispatch_timeout": "1s", "subscriber_queue_bytes": str(256 << 20)}

    def test_a_write_that_misses_dispatch_timeout_disconnects(self):
        # The queue (1000 updates) never fills here: the stalled write itself must end the stream.
        stalled = SseClient(self.hub, ["stall"]).open()
        for i in range(200):
            self.assertEqual(self.hub.publish({"topic": "stall", "data": "y" * 65536})[0], 200)
        self.assertTrue(self.hub.wait_for_log("subscriber_write_timeout", timeout=15))
        text = stalled.read_until_eof(timeout=30)
        self.assertLess(text.count("\nid: "), 200)
        stalled.close()
        self.assertHubStillServes()
