"""Bad input and abuse: each defect of issue 9, reproduced as a user or an attacker would.

Every test here failed on the code before its fix; they stay so the defects cannot return.
"""
import json
import os
import socket
import subprocess
import time
import unittest
from urllib.parse import quote

from harness import (HERALD_BIN, HUB_PATH, PUBLISHER, SECRET, Hub, SseClient, b64url, hs_token, mercure_token,
                     raw_request, status_of, temp_dir)

ALL_EVENTS = "/.well-known/mercure/subscriptions{/topic}{/subscriber}"
WATCHER = mercure_token(subscribe=[ALL_EVENTS])


def connect_and_leave(port, topics):
    """Opens a stream on `topics` (raw, quoted as given), waits for the opening comment, closes."""
    query = "&".join("topic=" + t for t in topics)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(f"GET {HUB_PATH}?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return status_of(data)
    finally:
        s.close()


def next_doc(watcher, timeout=10):
    return json.loads(watcher.next_event(timeout)["data"])


class SubscriptionEventsCannotFillTheStore(unittest.TestCase):
    """Defect 1: anonymous connect/disconnect churn filled the LMDB store until every publish failed."""

    def test_churn_neither_fills_the_store_nor_crowds_out_history(self):
        store = temp_dir()
        # 4 MiB map: before the fix about 10,000 subscription events filled it (a few hundred cycles).
        with Hub(transport_url=f"lmdb://{store}/data?map_size=4194304", allow_anonymous=True,
                 subscriptions=True) as hub:
            self.assertEqual(hub.publish({"topic": "https://a.example/first", "data": "first", "id": "first"})[0],
                             200)
            topics = [quote(f"https://a.example/churn/{i}", safe="") for i in range(100)]
            for _ in range(150):  # 150 cycles x 100 topics x 2 = 30,000 events (~12 MB of documents)
                self.assertEqual(connect_and_leave(hub.port, topics), 200)
            status, body = hub.publish({"topic": "https://a.example/first", "data": "after", "id": "after"})
            self.assertEqual(status, 200, body)
            # The update published before the churn is still in the history.
            with hub.subscribe(["https://a.example/first"], query={"lastEventID": "earliest"}) as s:
                self.assertEqual(s.next_event()["data"], "first")
                self.assertEqual(s.next_event()["data"], "after")
            # Failures, if any, are logged at a bounded rate (not one line per event).
            self.assertLess(hub.logs().count("subscription_event_failed"), 5)
            self.assertNotIn("MDB_MAP_FULL", hub.logs())

    def test_history_is_bounded_by_the_store_and_publishes_keep_succeeding(self):
        store = temp_dir()
        with Hub(transport_url=f"lmdb://{store}/data?map_size=2097152", allow_anonymous=True) as hub:
            payload = "x" * 100_000
            for i in range(60):  # 6 MB into a 2 MiB store
                status, body = hub.publish({"topic": "https://a.example/big", "data": f"{i}:{payload}", "id": f"b{i}"})
                self.assertEqual(status, 200, f"publish {i}: {body}")
            with hub.subscribe(["https://a.example/big"], query={"lastEventID": "b58"}) as s:
                self.assertEqual(s.header("Last-Event-ID"), "b58")
                self.assertTrue(s.next_event()["data"].startswith("59:"))
            with hub.subscribe(["https://a.example/big"], query={"lastEventID": "b0"}) as s:
                self.assertEqual(s.header("Last-Event-ID"), "earliest")  # the oldest gave way

    def test_local_transport_keeps_updates_apart_from_subscription_events(self):
        with Hub(transport_url="local://?size=10", allow_anonymous=True, subscriptions=True) as hub:
            self.assertEqual(hub.publish({"topic": "https://a.example/kept", "data": "kept", "id": "kept"})[0], 200)
            topics = [quote(f"https://a.example/c/{i}", safe="") for i in range(20)]
            for _ in range(5):
                self.assertEqual(connect_and_leave(hub.port, topics), 200)
            with hub.subscribe(["https://a.example/kept"], query={"lastEventID": "earliest"}) as s:
                self.assertEqual(s.next_event()["data"], "kept")


class InvalidUtf8Topics(unittest.TestCase):
    """Defect 2: a topic that is not UTF-8 got no response and left ghost presence."""

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(allow_anonymous=True, subscriptions=True).start()

    @classmethod
    def tearDownClass(cls):
        assert cls.hub.stop() == 0

    def test_invalid_bytes_are_served_and_rendered_as_replacement_characters(self):
        for raw in ["%FF", "%C0%AF", "\xff"]:
            target = f"{HUB_PATH}?topic={raw}".encode("latin-1")
            data, _ = raw_request(self.hub.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n", timeout=1)
            self.assertEqual(status_of(data), 200, (raw, data[:200]))
        s = SseClient(self.hub, [])
        s.path = HUB_PATH + "?topic=%FF"
        with s.open():
            self.assertEqual(s.status, 200)
            status, body, _ = self.hub.request("GET", "/.well-known/mercure/subscriptions",
                                               headers={"Authorization": "Bearer " + WATCHER})
            self.assertEqual(status, 200)
            self.assertIn("\ufffd", [x["topic"] for x in json.loads(body)["subscriptions"]])

    def test_watchers_see_every_topic_come_and_go(self):
        with self.hub.subscribe([ALL_EVENTS], token=WATCHER) as watcher:
            s = SseClient(self.hub, [])
            s.path = HUB_PATH + "?topic=" + quote("https://a.example/x", safe="") + "&topic=%FF"
            s.open()
            self.assertEqual(s.status, 200)
            seen = {(d["topic"], d["active"]) for d in (next_doc(watcher), next_doc(watcher))}
            self.assertEqual(seen, {("https://a.example/x", True), ("\ufffd", True)})
            s.close()
            seen = {(d["topic"], d["active"]) for d in (next_doc(watcher), next_doc(watcher))}
            self.assertEqual(seen, {("https://a.example/x", False), ("\ufffd", False)})

    def test_subscriptions_api_with_invalid_bytes_in_the_query(self):
        req = b"GET /.well-known/mercure/subscriptions?x=\xff HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + \
            mercure_token(subscribe=["*"]).encode() + b"\r\nConnection: close\r\n\r\n"
        data, closed = raw_request(self.hub.port, req)
        self.assertEqual(status_of(data), 200, data[:300])
        doc = json.loads(data.split(b"\r\n\r\n", 1)[1].decode())
        self.assertEqual(doc["type"], "Subscriptions")
        self.assertIn("\ufffd", doc["id"])


class TransferEncodingSmuggling(unittest.TestCase):
    """Defect 3: a body behind Transfer-Encoding other than chunked ran as a second request."""

    def test_unsupported_transfer_encodings_are_refused_and_nothing_is_smuggled(self):
        with Hub(allow_anonymous=True) as hub:
            body = "topic=smuggled&data=smuggled"
            hidden = (f"POST {HUB_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {PUBLISHER}\r\n"
                      "Content-Type: application/x-www-form-urlencoded\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n{body}")
            with hub.subscribe(["smuggled"]) as s:
                for te in ["gzip", "identity", "chunked, gzip", "gzip, chunked", "chunked\r\nTransfer-Encoding: chunked"]:
                    req = f"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {te}\r\n\r\n{hidden}".encode()
                    data, closed = raw_request(hub.port, req)
                    self.assertIn(status_of(data), (400, 501), (te, data[:200]))
                    if "\r\n" not in te:
                        self.assertEqual(status_of(data), 501, (te, data[:200]))
                    self.assertEqual(data.count(b"HTTP/1.1 "), 1, f"{te}: a second request was answered")
                    self.assertTrue(closed, te)
                req = f"POST {HUB_PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n".encode()
                data, closed = raw_request(hub.port, req)
                self.assertEqual(status_of(data), 400)
                self.assertTrue(closed)
                # A genuine chunked publish still works, and it is the only event.
                chunk = "topic=smuggled&data=real"
                req = (f"POST {HUB_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {PUBLISHER}\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
                       f"Connection: close\r\n\r\n{len(chunk):x}\r\n{chunk}\r\n0\r\n\r\n").encode()
                data, _ = raw_request(hub.port, req)
                self.assertEqual(status_of(data), 200, data[:200])
                self.assertEqual(s.next_event()["data"], "real")


def nested(depth):
    return json.loads("[" * depth + "0" + "]" * depth)


class DeepTokens(unittest.TestCase):
    """Defect 4: a token nested 20,000 levels took seconds, gigabytes and froze a shard."""

    def test_deep_tokens_are_refused_at_once_and_moderate_ones_work(self):
        with Hub(allow_anonymous=False, subscriptions=True, shards="1") as hub:
            header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            deep = '{"mercure":{"subscribe":["*"],"payload":' + "[" * 20000 + "]" * 20000 + "}}"
            import hashlib, hmac
            signing = header + "." + b64url(deep.encode())
            token = signing + "." + b64url(hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest())
            started = time.monotonic()
            with hub.subscribe(["https://a.example/deep"], token=token) as s:
                self.assertEqual(s.status, 401)
            self.assertLess(time.monotonic() - started, 5)
            self.assertTrue(hub.wait_for_log("nested too deeply"), hub.logs())
            ok = mercure_token(subscribe=["*"], payload=nested(50))
            with hub.subscribe(["https://a.example/deep"], token=ok) as s:
                self.assertEqual(s.status, 200)
                self.assertEqual(hub.publish({"topic": "https://a.example/deep", "data": "d"})[0], 200)
                self.assertEqual(s.next_event()["data"], "d")

    def test_a_large_payload_is_left_out_of_subscription_events(self):
        with Hub(allow_anonymous=False, subscriptions=True) as hub:
            # 8 KB compact; indented as the documents render it, about 150 KB.
            big = {"k%d" % i: nested(10) for i in range(400)}
            token = mercure_token(subscribe=["*"], payload=big)
            with hub.subscribe([ALL_EVENTS], token=WATCHER) as watcher:
                with hub.subscribe(["https://a.example/p"], token=token) as s:
                    self.assertEqual(s.status, 200)
                    raw = watcher.next_event()["data"]
                    self.assertLess(len(raw), 64 * 1024)
                    self.assertNotIn("payload", json.loads(raw))
            self.assertTrue(hub.wait_for_log("subscription_payload_omitted"), hub.logs())


def run_herald(args, env=None, cwd=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("MERCURE_")}
    e.update(env or {})
    return subprocess.run([HERALD_BIN, "run"] + args, capture_output=True, text=True, timeout=30, env=e,
                          cwd=cwd or temp_dir())


class ConfigRefusals(unittest.TestCase):
    """Defects 5 and 6: a PEM key as an HMAC secret; validation after the store was created."""

    def assertOneLine(self, r, *needles):
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        for n in needles:
            self.assertIn(n, lines[0])

    def test_pem_public_key_with_an_hmac_algorithm_is_refused(self):
        d = temp_dir()
        for kind, gen, meant in [("rsa", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], "RS256"),
                                 ("ec", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], "ES256")]:
            priv, pub = os.path.join(d, kind + ".pem"), os.path.join(d, kind + ".pub")
            subprocess.run(["openssl"] + gen + ["-out", priv], check=True, capture_output=True, timeout=60)
            subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True, capture_output=True,
                           timeout=60)
            pem = open(pub).read()
            self.assertOneLine(run_herald(["--addr", "127.0.0.1:0"], env={"MERCURE_JWT_KEY": pem}), "jwt_key", meant)
            self.assertOneLine(run_herald(["--addr", "127.0.0.1:0", "--publisher-jwt-key", pem,
                                           "--publisher-jwt-algorithm", "HS512"]), "publisher_jwt_key", meant)

    def test_a_bad_addr_or_map_size_leaves_no_store_behind(self):
        for args in (["--addr", ":99999"], ["--addr", "127.0.0.1:0", "--transport-url", "lmdb://herald-data?map_size=999999999999999999"]):
            cwd = temp_dir()
            r = run_herald(["--jwt-key", SECRET] + args, cwd=cwd)
            self.assertOneLine(r, "addr" if "--addr" == args[0] and args[1] == ":99999" else "map_size")
            self.assertEqual(os.listdir(cwd), [], f"{args} left {os.listdir(cwd)}")

    def test_yaml_that_yaml_cpp_cannot_convert_is_a_config_error(self):
        # Found by the config fuzzer: a mapping used as an option name escaped as a yaml-cpp
        # exception (exit 1, not the one-line error with exit 2).
        for text in ["{}: 1\n", "[a]: b\n", "? {x: 1}\n: 2\n"]:
            cwd = temp_dir()
            path = os.path.join(cwd, "mercure.yaml")
            with open(path, "w") as f:
                f.write(text)
            self.assertOneLine(run_herald(["--jwt-key", SECRET, "--addr", "127.0.0.1:0", "--config", path], cwd=cwd),
                               "invalid config")

    def test_a_redis_port_that_is_not_a_number_is_named_so(self):
        r = run_herald(["--jwt-key", SECRET, "--addr", "127.0.0.1:0", "--transport-url", "redis://host:notaport/s"])
        self.assertOneLine(r, "transport_url", "not a number")


if __name__ == "__main__":
    unittest.main()
