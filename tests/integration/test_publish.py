"""POST /.well-known/mercure: the reference hub's answers, and delivery rules."""
import re
import unittest

from harness import HubTestCase, PUBLISHER, SUBSCRIBER_ALL, mercure_token

UUID7 = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Publish(HubTestCase):
    hub_options = {"allow_anonymous": True, "max_body_size": str(64 * 1024)}

    def test_success_is_200_text_plain_with_the_generated_id(self):
        status, body, resp = self.hub.request(
            "POST", "/.well-known/mercure", "topic=https%3A%2F%2Fexample.com%2Fa&data=x",
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer " + PUBLISHER})
        self.assertEqual(status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/plain"))
        self.assertRegex(body, UUID7)

    def test_custom_id_is_used_verbatim(self):
        with self.hub.subscribe(["c"]) as s:
            self.assertEqual(self.hub.publish({"topic": "c", "id": "my id/1", "data": "d"}), (200, "my id/1"))
            self.assertEqual(s.next_event()["id"], "my id/1")

    def test_raw_unencoded_bytes_in_the_form_are_accepted_like_go(self):
        with self.hub.subscribe(["raw"]) as s:
            status, _, _ = self.hub.request("POST", "/.well-known/mercure", "topic=raw&data=hello world\nline2",
                                            {"Content-Type": "application/x-www-form-urlencoded",
                                             "Authorization": "Bearer " + PUBLISHER})
            self.assertEqual(status, 200)
            self.assertEqual(s.next_event()["data"], "hello world\nline2")

    def test_empty_and_missing_data_publish_an_empty_data_line(self):
        with self.hub.subscribe(["empty"]) as s:
            self.hub.publish({"topic": "empty", "id": "e1"})
            self.assertEqual(s.next_block(), ":")
            self.assertEqual(s.next_block(), "id: e1\ndata: ")

    def test_alternate_topics_deliver_once(self):
        with self.hub.subscribe(["https://example.com/alt", "https://example.com/canonical"]) as s:
            self.assertEqual(self.hub.publish([("topic", "https://example.com/canonical"),
                                               ("topic", "https://example.com/alt"), ("data", "both"),
                                               ("id", "alt1")]), (200, "alt1"))
            self.assertEqual(self.hub.publish({"topic": "https://example.com/alt", "data": "next", "id": "alt2"}),
                             (200, "alt2"))
            self.assertEqual(s.next_event()["id"], "alt1")
            self.assertEqual(s.next_event()["id"], "alt2")

    def test_private_update_reaches_only_authorized_subscribers(self):
        allowed = mercure_token(subscribe=["https://example.com/users/foo/{?topic}"])
        denied = mercure_token(subscribe=["https://example.com/users/bar/{?topic}"])
        topic = "https://example.com/books/1"
        alternate = "https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1"
        with self.hub.subscribe([topic]) as anon, self.hub.subscribe([topic], token=allowed) as ok, \
                self.hub.subscribe([topic], token=denied) as no:
            self.hub.publish([("topic", topic), ("topic", alternate), ("data", "secret"), ("private", "on"),
                              ("id", "p1")])
            self.hub.publish({"topic": topic, "data": "public", "id": "p2"})
            self.assertEqual(ok.next_event()["id"], "p1")
            self.assertEqual(ok.next_event()["id"], "p2")
            self.assertEqual(anon.next_event()["id"], "p2")
            self.assertEqual(no.next_event()["id"], "p2")

    def test_private_field_value_does_not_matter(self):
        with self.hub.subscribe(["pv"]) as anon:
            self.hub.publish([("topic", "pv"), ("private", ""), ("id", "hidden")])
            self.hub.publish([("topic", "pv"), ("id", "shown")])
            self.assertEqual(anon.next_event()["id"], "shown")

    def test_bad_requests_are_400(self):
        cases = [
            ({"data": "no topic"}, 'Missing "topic"'),
            ([("topic", "t%d" % i) for i in range(1001)], 'Too many "topic"'),
            ({"topic": "t", "retry": "soon"}, 'Invalid "retry"'),
            ({"topic": "t", "retry": "-1"}, 'Invalid "retry"'),
            ({"topic": "t", "id": "a\nb"}, ""),
            ({"topic": "t", "id": "a\rb"}, ""),
            ({"topic": "t", "id": "a\x00b"}, ""),
            ({"topic": "t", "type": "x\ny"}, ""),
        ]
        for fields, message in cases:
            status, body = self.hub.publish(fields)
            self.assertEqual(status, 400, fields if isinstance(fields, dict) else "1001 topics")
            self.assertIn(message, body)
        status, _, _ = self.hub.request("POST", "/.well-known/mercure", "topic=%zz",
                                        {"Content-Type": "application/x-www-form-urlencoded",
                                         "Authorization": "Bearer " + PUBLISHER})
        self.assertEqual(status, 400)
        status, body, _ = self.hub.request("POST", "/.well-known/mercure", '{"topic":"t"}',
                                           {"Content-Type": "application/json", "Authorization": "Bearer " + PUBLISHER})
        self.assertEqual((status, 'Missing "topic"' in body), (400, True))
        self.assertHubStillServes()

    def test_reserved_topics_are_403(self):
        for topic in ["/.well-known/mercure/subscriptions/x", "https://example.com/.well-known/mercure"]:
            self.assertEqual(self.hub.publish({"topic": topic})[0], 403)

    def test_body_over_the_limit_is_413(self):
        status, _ = self.hub.publish({"topic": "big", "data": "x" * (65 * 1024)})
        self.assertEqual(status, 413)
        self.assertHubStillServes()

    def test_publisher_authorization_failures_are_401(self):
        cases = {
            "no token": None,
            "bad signature": mercure_token(publish=["*"], key="wrong key wrong key wrong key"),
            "no publish claim": mercure_token(subscribe=["*"]),
            "empty publish claim": mercure_token(publish=[]),
            "topic not allowed": mercure_token(publish=["https://example.com/allowed/{id}"]),
            "expired": mercure_token(publish=["*"], exp=1000),
            "garbage": "x" * 60,
        }
        for name, token in cases.items():
            status, _ = self.hub.publish({"topic": "https://example.com/denied/1"}, token=token)
            self.assertEqual(status, 401, name)
        scoped = mercure_token(publish=["https://example.com/allowed/{id}"])
        self.assertEqual(self.hub.publish({"topic": "https://example.com/allowed/1"}, token=scoped)[0], 200)
        # Every topic, alternate ones included, must be allowed.
        self.assertEqual(self.hub.publish([("topic", "https://example.com/allowed/1"),
                                           ("topic", "https://example.com/other")], token=scoped)[0], 401)
        self.assertHubStillServes()

    def test_publish_reaches_subscribers_on_every_shard(self):
        clients = [self.hub.subscribe(["fan"]) for _ in range(40)]
        try:
            self.hub.publish({"topic": "fan", "data": "all", "id": "fan1"})
            for c in clients:
                self.assertEqual(c.next_event()["id"], "fan1")
        finally:
            for c in clients:
                c.close()


if __name__ == "__main__":
    unittest.main()
