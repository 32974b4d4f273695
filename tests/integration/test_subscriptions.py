"""Presence: subscription events and the subscriptions API (`subscriptions` on)."""
import json
import time
import unittest
from urllib.parse import quote_plus

from harness import Hub, HubTestCase, SseClient, mercure_token

API = "/.well-known/mercure/subscriptions"
ALL_EVENTS = "/.well-known/mercure/subscriptions{/topic}{/subscriber}"
API_TOKEN = mercure_token(subscribe=[ALL_EVENTS])


def next_presence(watcher, topic, timeout=10):
    """The next subscription event about `topic` (events of earlier tests' clients are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        doc = json.loads(watcher.next_event(max(0.01, deadline - time.monotonic()))["data"])
        if doc["topic"] == topic:
            return doc


class SubscriptionsApi(HubTestCase):
    hub_options = {"allow_anonymous": True, "subscriptions": True}

    def get(self, path, token=API_TOKEN, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        return self.hub.request("GET", path, headers=h)

    def wait_count(self, path, n, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            status, body, _ = self.get(path)
            count = len(json.loads(body)["subscriptions"]) if status == 200 else -1
            if count == n:
                return
            self.assertLess(time.monotonic(), deadline, f"{path}: {count} subscriptions, expected {n}")
            time.sleep(0.05)  # disconnections are processed asynchronously; poll the API

    def test_listing_shapes_and_single_subscription(self):
        token = mercure_token(subscribe=["*"], payload={"user": "https://example.com/users/1"})
        with self.hub.subscribe(["https://example.com/books/1", "https://example.com/b/{id}"], token=token) as s:
            self.assertEqual(s.status, 200)
            status, body, resp = self.get(API + "/" + quote_plus("https://example.com/books/1"))
            self.assertEqual(status, 200)
            self.assertEqual(resp.getheader("Content-Type"), "application/ld+json")
            doc = json.loads(body)
            self.assertEqual(list(doc), ["@context", "id", "type", "lastEventID", "subscriptions"])
            self.assertEqual(doc["type"], "Subscriptions")
            self.assertEqual(resp.getheader("ETag"), doc["lastEventID"])
            self.assertEqual(len(doc["subscriptions"]), 1)
            item = doc["subscriptions"][0]
            self.assertEqual(list(item), ["id", "type", "subscriber", "topic", "active", "payload"])
            self.assertEqual(item["payload"], {"user": "https://example.com/users/1"})
            self.assertTrue(item["active"])
            self.assertIn('\n  "@context": "https://mercure.rocks/",\n', body)  # 2-space indentation
            # The single subscription, with %2F-encoded segments.
            status, body, _ = self.get(API + "/" + quote_plus("https://example.com/b/{id}") + "/" +
                                       quote_plus(item["subscriber"]))
            self.assertEqual(status, 200)
            single = json.loads(body)
            self.assertEqual(list(single), ["@context", "id", "type", "subscriber", "topic", "active", "payload",
                                            "lastEventID"])
            self.assertEqual(single["topic"], "https://example.com/b/{id}")
            self.assertEqual(self.get(API + "/" + quote_plus("https://example.com/books/1") + "/nobody")[0], 404)
            self.assertEqual(self.get(API + "/a/b/c")[0], 404)

    def test_etag_and_304(self):
        self.hub.publish({"topic": "etag", "id": "etag-1"})
        status, _, resp = self.get(API)
        self.assertEqual(resp.getheader("ETag"), "etag-1")
        self.assertEqual(self.get(API, headers={"If-None-Match": "etag-1"})[0], 304)
        self.assertEqual(self.get(API, headers={"If-None-Match": "other"})[0], 200)

    def test_api_authorization(self):
        self.assertEqual(self.get(API, token=None)[0], 401)
        self.assertEqual(self.get(API, token=mercure_token(subscribe=["https://example.com/{x}"]))[0], 401)
        scoped = mercure_token(subscribe=["/.well-known/mercure/subscriptions/ABCD{/subscriber}"])
        self.assertEqual(self.get(API + "/ABCD", token=scoped)[0], 200)
        self.assertEqual(self.get(API + "/EFGH", token=scoped)[0], 401)
        self.assertEqual(self.hub.request("POST", API, headers={"Authorization": "Bearer " + API_TOKEN})[0], 405)

    def test_events_when_another_subscriber_comes_and_goes(self):
        with self.hub.subscribe([ALL_EVENTS], token=API_TOKEN) as watcher:
            other = self.hub.subscribe(["https://example.com/watched"])
            active = next_presence(watcher, "https://example.com/watched")
            self.assertEqual(active["topic"], "https://example.com/watched")
            self.assertTrue(active["active"])
            other.close()
            inactive = next_presence(watcher, "https://example.com/watched")
            self.assertFalse(inactive["active"])
            self.assertEqual(inactive["subscriber"], active["subscriber"])
            self.assertEqual(active["id"], "/.well-known/mercure/subscriptions/" +
                             quote_plus("https://example.com/watched") + "/" + quote_plus(active["subscriber"]))

    def test_subscriber_never_sees_its_own_connect_event(self):
        with self.hub.subscribe([ALL_EVENTS, "me-unique"], token=API_TOKEN) as me:
            with self.hub.subscribe(["later"]):
                pass
            # Events arrive in publish order; my own connect event was published first.
            deadline = time.monotonic() + 10
            while True:
                doc = json.loads(me.next_event(max(0.01, deadline - time.monotonic()))["data"])
                self.assertNotEqual(doc["topic"], "me-unique", "received my own connect event")
                if doc["topic"] == "later" and not doc["active"]:
                    break

    def test_last_event_id_replays_everything_after_the_cursor(self):
        # The connect event is published before the replay: it must not move the cursor forward.
        for i in range(3):
            self.assertEqual(self.hub.publish({"topic": "replayed", "id": "r%d" % i, "data": str(i)})[0], 200)
        with self.hub.subscribe(["replayed"], headers={"Last-Event-ID": "r0"}) as s:
            self.assertEqual([s.next_event()["id"] for _ in range(2)], ["r1", "r2"])

    def test_scoped_watcher_only_sees_its_scope(self):
        scoped = mercure_token(subscribe=["/.well-known/mercure/subscriptions/ABCD{/subscriber}"])
        with self.hub.subscribe([ALL_EVENTS], token=scoped) as watcher:
            with self.hub.subscribe(["EFGH"]):
                pass
            with self.hub.subscribe(["ABCD"]):
                event = json.loads(watcher.next_event()["data"])
            self.assertEqual(event["topic"], "ABCD")  # the EFGH events were never delivered

    def test_anonymous_subscribers_get_no_subscription_events(self):
        with self.hub.subscribe([ALL_EVENTS, "plain"]) as anonymous:
            with self.hub.subscribe(["x"]):
                pass
            self.hub.publish({"topic": "plain", "id": "public-marker"})
            self.assertEqual(anonymous.next_event()["id"], "public-marker")

    def test_many_subscribers_connect_and_disconnect(self):
        clients = [self.hub.subscribe(["crowd"]) for _ in range(50)]
        self.wait_count(API + "/crowd", 50)
        for c in clients:
            c.close()
        self.wait_count(API + "/crowd", 0)


class SubscriptionsOff(HubTestCase):
    hub_options = {"allow_anonymous": True}

    def test_api_is_404_when_off(self):
        self.assertEqual(self.hub.request("GET", API)[0], 404)


class OpenApiWithoutSubscriberKey(unittest.TestCase):
    def test_api_is_open_without_a_subscriber_key(self):
        with Hub(jwt_key=None, publisher_jwt_key="pub-key-pub-key-pub-key-pub-key", allow_anonymous=True,
                 subscriptions=True) as hub:
            self.assertEqual(hub.request("GET", API)[0], 200)


if __name__ == "__main__":
    unittest.main()
