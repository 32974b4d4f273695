"""GET/HEAD /.well-known/mercure: the SSE stream as existing clients rely on it."""
import time
import unittest

from harness import Hub, HubTestCase, PUBLISHER, SUBSCRIBER_ALL, mercure_token


class SubscribeStream(HubTestCase):
    hub_options = {"allow_anonymous": True}

    def test_headers_and_opening_comment(self):
        with self.hub.subscribe(["https://example.com/a"]) as s:
            self.assertEqual(s.status, 200)
            self.assertEqual(s.header("content-type"), "text/event-stream")
            self.assertEqual(s.header("cache-control"), "private, no-cache, no-store, must-revalidate, max-age=0")
            self.assertEqual(s.header("pragma"), "no-cache")
            self.assertEqual(s.header("expire"), "0")
            self.assertEqual(s.header("connection"), "keep-alive")
            self.assertEqual(s.header("x-accel-buffering"), "no")
            self.assertEqual(s.header("x-frame-options"), "DENY")
            self.assertEqual(s.header("x-content-type-options"), "nosniff")
            self.assertIsNone(s.header("last-event-id"), "no cursor was sent")
            self.assertEqual(s.next_block(), ":")

    def test_published_update_is_serialized_like_the_reference(self):
        with self.hub.subscribe(["https://example.com/books/1"]) as s:
            status, uid = self.hub.publish([("topic", "https://example.com/books/1"), ("data", "line1\nline2\r\nline3"),
                                            ("id", "evt-1"), ("type", "book"), ("retry", "2500")])
            self.assertEqual(status, 200)
            self.assertEqual(uid, "evt-1")
            self.assertEqual(s.next_block(), ":")
            self.assertEqual(s.next_block(),
                             "event: book\nretry: 2500\nid: evt-1\ndata: line1\ndata: line2\ndata: line3")

    def test_several_topics_and_templates_on_one_connection(self):
        with self.hub.subscribe(["https://example.com/a", "https://example.com/books/{id}"]) as s:
            self.hub.publish({"topic": "https://example.com/other", "data": "no"})
            self.hub.publish({"topic": "https://example.com/books/7", "data": "template"})
            self.hub.publish({"topic": "https://example.com/a", "data": "exact"})
            self.assertEqual(s.next_event()["data"], "template")
            self.assertEqual(s.next_event()["data"], "exact")

    def test_missing_topic_is_400(self):
        status, body, _ = self.hub.request("GET", "/.well-known/mercure")
        self.assertEqual(status, 400)
        self.assertIn('Missing "topic" parameter', body)

    def test_topic_limit_is_1000(self):
        with self.hub.subscribe(["t%d" % i for i in range(1000)]) as ok:
            self.assertEqual(ok.status, 200)
        with self.hub.subscribe(["t%d" % i for i in range(1001)]) as too_many:
            self.assertEqual(too_many.status, 400)
        self.assertHubStillServes()

    def test_head_sends_headers_only(self):
        status, body, resp = self.hub.request("HEAD", "/.well-known/mercure?topic=x")
        self.assertEqual(status, 200)
        self.assertEqual(resp.getheader("Content-Type"), "text/event-stream")
        self.assertEqual(body, "")

    def test_http10_client_gets_a_close_delimited_stream(self):
        with self.hub.subscribe(["old"], http10=True) as s:
            self.assertEqual(s.status, 200)
            self.assertFalse(s.chunked)
            self.hub.publish({"topic": "old", "data": "hi"})
            self.assertEqual(s.next_event()["data"], "hi")


class Heartbeat(HubTestCase):
    hub_options = {"allow_anonymous": True, "heartbeat_interval": "300ms"}

    def test_idle_stream_gets_heartbeat_comments(self):
        with self.hub.subscribe(["idle"]) as s:
            self.assertEqual(s.next_block(), ":")
            start = time.monotonic()
            self.assertEqual(s.next_block(timeout=5), ":")
            self.assertEqual(s.next_block(timeout=5), ":")
            self.assertGreaterEqual(time.monotonic() - start, 0.4)  # two intervals, not a burst


class Lifetime(HubTestCase):
    hub_options = {"allow_anonymous": True, "write_timeout": "2s", "dispatch_timeout": "0s",
                   "heartbeat_interval": "0s"}

    def test_connection_ends_cleanly_within_write_timeout(self):
        start = time.monotonic()
        with self.hub.subscribe(["life"]) as s:
            s.read_until_eof(timeout=10)
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(elapsed, 1.5)   # at least 80% of 2s (minus scheduling)
            self.assertLessEqual(elapsed, 3.0)
            self.assertTrue(getattr(s, "ended_cleanly", False), "stream should end with the last chunk")

    def test_token_expiry_caps_the_connection(self):
        exp = int(time.time()) + 2
        token = mercure_token(subscribe=["*"], exp=exp)
        hub = Hub(allow_anonymous=True, write_timeout="600s").start()
        try:
            start = time.monotonic()
            with hub.subscribe(["life"], token=token) as s:
                self.assertEqual(s.status, 200)
                s.read_until_eof(timeout=10)
                self.assertLessEqual(time.monotonic() - start, 3.5)
        finally:
            self.assertEqual(hub.stop(), 0)


class Reconnection(HubTestCase):
    hub_options = {"allow_anonymous": True, "transport_url": "local://?size=100"}

    def publish_series(self, topic, n, prefix):
        ids = []
        for i in range(n):
            status, uid = self.hub.publish({"topic": topic, "data": f"{prefix}{i}", "id": f"{prefix}{i}"})
            self.assertEqual(status, 200)
            ids.append(uid)
        return ids

    def test_last_event_id_header_replays_what_was_missed(self):
        self.publish_series("r1", 5, "a")
        with self.hub.subscribe(["r1"], headers={"Last-Event-ID": "a1"}) as s:
            self.assertEqual(s.header("last-event-id"), "a1")
            self.assertEqual([s.next_event()["id"] for _ in range(3)], ["a2", "a3", "a4"])
            self.hub.publish({"topic": "r1", "data": "live", "id": "live1"})
            self.assertEqual(s.next_event()["id"], "live1")

    def test_header_takes_precedence_over_query_parameter(self):
        self.publish_series("r2", 4, "b")
        with self.hub.subscribe(["r2"], headers={"Last-Event-ID": "b2"}, query={"lastEventID": "b0"}) as s:
            self.assertEqual(s.next_event()["id"], "b3")

    def test_last_event_id_query_parameter(self):
        self.publish_series("r3", 3, "c")
        with self.hub.subscribe(["r3"], query={"lastEventID": "c1"}) as s:
            self.assertEqual(s.header("last-event-id"), "c1")
            self.assertEqual(s.next_event()["id"], "c2")

    def test_earliest_replays_everything_retained(self):
        self.publish_series("r4", 3, "d")
        with self.hub.subscribe(["r4"], query={"lastEventID": "earliest"}) as s:
            self.assertEqual(s.header("last-event-id"), "earliest")
            self.assertEqual([s.next_event()["id"] for _ in range(3)], ["d0", "d1", "d2"])

    def test_unknown_id_answers_earliest_and_replays_nothing(self):
        self.publish_series("r5", 2, "e")
        with self.hub.subscribe(["r5"], headers={"Last-Event-ID": "never-seen"}) as s:
            self.assertEqual(s.header("last-event-id"), "earliest")
            self.hub.publish({"topic": "r5", "data": "x", "id": "after"})
            self.assertEqual(s.next_event()["id"], "after")

    def test_replay_with_racing_publishes_has_no_gap_and_no_duplicate(self):
        import threading
        self.publish_series("race", 50, "f")
        errors = []

        def publisher():
            for i in range(300):
                status, _ = self.hub.publish({"topic": "race", "data": "g", "id": f"g{i}"})
                if status != 200:
                    errors.append(status)

        t = threading.Thread(target=publisher)
        t.start()
        with self.hub.subscribe(["race"], headers={"Last-Event-ID": "f9"}) as s:
            t.join(60)
            got = [s.next_event()["id"] for _ in range(40 + 300)]
        self.assertFalse(errors)
        self.assertEqual(got, [f"f{i}" for i in range(10, 50)] + [f"g{i}" for i in range(300)])


class Protocol7(HubTestCase):
    hub_options = {"allow_anonymous": True, "protocol_version_compatibility": "7"}

    def test_legacy_last_event_id_query_parameter(self):
        self.hub.publish({"topic": "p7", "data": "1", "id": "h1"})
        self.hub.publish({"topic": "p7", "data": "2", "id": "h2"})
        with self.hub.subscribe(["p7"], query={"Last-Event-ID": "h1"}) as s:
            self.assertEqual(s.next_event()["id"], "h2")

    def test_public_update_with_any_publish_claim(self):
        token = mercure_token(publish=[])
        self.assertEqual(self.hub.publish({"topic": "https://example.com/x", "data": "1"}, token=token)[0], 200)
        self.assertEqual(self.hub.publish({"topic": "x", "private": "on"}, token=token)[0], 401)


if __name__ == "__main__":
    unittest.main()
