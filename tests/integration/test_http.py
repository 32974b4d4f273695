"""HTTP behaviour: routing, security headers, CORS, keep-alive, bad input, shutdown."""
import socket
import time
import unittest

from harness import Hub, HubTestCase, PUBLISHER, SUBSCRIBER_ALL

SECURITY = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "x-xss-protection": "1; mode=block",
            "content-security-policy": "default-src 'self'"}


def raw_exchange(port, payload, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(payload)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head = data.split(b"\r\n\r\n")[0].decode(errors="replace").lower()
                length = [l for l in head.split("\r\n") if l.startswith("content-length:")]
                body = data.split(b"\r\n\r\n", 1)[1]
                if length and len(body) >= int(length[0].split(":")[1]):
                    break
        return data.decode(errors="replace")
    finally:
        s.close()


class Routing(HubTestCase):
    hub_options = {"allow_anonymous": True}

    def test_healthz(self):
        status, body, resp = self.hub.request("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(self.hub.request("HEAD", "/healthz")[0], 200)
        self.assertEqual(self.hub.request("POST", "/healthz")[0], 405)

    def test_unknown_paths_are_404_and_wrong_methods_405(self):
        self.assertEqual(self.hub.request("GET", "/")[0], 404)
        self.assertEqual(self.hub.request("GET", "/.well-known/mercure/unknown")[0], 404)
        self.assertEqual(self.hub.request("GET", "/.well-known/mercureX?topic=a")[0], 404)
        self.assertEqual(self.hub.request("PUT", "/.well-known/mercure")[0], 405)
        self.assertEqual(self.hub.request("DELETE", "/.well-known/mercure")[0], 405)

    def test_security_headers_on_every_response(self):
        for method, path in [("GET", "/healthz"), ("GET", "/nope"), ("PUT", "/.well-known/mercure"),
                             ("POST", "/.well-known/mercure")]:
            _, _, resp = self.hub.request(method, path)
            for name, value in SECURITY.items():
                self.assertEqual(resp.getheader(name), value, f"{name} on {method} {path}")

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.hub.port, timeout=5)
        for i in range(3):
            conn.request("POST", "/.well-known/mercure", f"topic=k&data={i}",
                         {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer " + PUBLISHER})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            resp.read()
        conn.close()

    def test_malformed_http_gets_400_and_the_hub_keeps_serving(self):
        for payload in [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
                        b"POST /.well-known/mercure HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                        b"POST /.well-known/mercure HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]:
            reply = raw_exchange(self.hub.port, payload)
            self.assertTrue(reply.startswith("HTTP/1.1 400"), (payload, reply[:60]))
        self.assertHubStillServes()

    def test_oversized_headers_get_431(self):
        reply = raw_exchange(self.hub.port, b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
        self.assertTrue(reply.startswith("HTTP/1.1 431"), reply[:60])
        self.assertHubStillServes()

    def test_client_that_vanishes_mid_request_does_not_hurt(self):
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", self.hub.port))
            s.sendall(b"POST /.well-known/mercure HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
            s.close()
        self.assertHubStillServes()


class Cors(HubTestCase):
    hub_options = {"allow_anonymous": True, "cors_allowed_origins": "https://app.example.com"}

    def test_preflight_for_an_allowed_origin(self):
        status, _, resp = self.hub.request("OPTIONS", "/.well-known/mercure", headers={
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, last-event-id"})
        self.assertIn(status, (200, 204))
        self.assertEqual(resp.getheader("Access-Control-Allow-Origin"), "https://app.example.com")
        self.assertEqual(resp.getheader("Access-Control-Allow-Credentials"), "true")
        self.assertIn("GET", resp.getheader("Access-Control-Allow-Methods"))
        self.assertIn("last-event-id", resp.getheader("Access-Control-Allow-Headers").lower())

    def test_preflight_for_another_origin_gets_no_cors_headers(self):
        _, _, resp = self.hub.request("OPTIONS", "/.well-known/mercure", headers={
            "Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"})
        self.assertIsNone(resp.getheader("Access-Control-Allow-Origin"))

    def test_stream_carries_cors_headers(self):
        with self.hub.subscribe(["c"], headers={"Origin": "https://app.example.com"}) as s:
            self.assertEqual(s.header("access-control-allow-origin"), "https://app.example.com")
            self.assertEqual(s.header("access-control-allow-credentials"), "true")
        with self.hub.subscribe(["c"], headers={"Origin": "https://evil.example.com"}) as s:
            self.assertIsNone(s.header("access-control-allow-origin"))


class RoutesDependOnKeys(unittest.TestCase):
    def test_subscribe_route_needs_a_subscriber_key_or_anonymous(self):
        with Hub(jwt_key=None, publisher_jwt_key="pubkey-pubkey-pubkey-pubkey") as hub:
            self.assertEqual(hub.request("GET", "/.well-known/mercure?topic=a")[0], 405)


class Shutdown(unittest.TestCase):
    def test_sigterm_closes_streams_and_exits_zero(self):
        hub = Hub(allow_anonymous=True).start()
        streams = [hub.subscribe(["s"]) for _ in range(10)]
        for s in streams:
            self.assertEqual(s.next_block(), ":")
        start = time.monotonic()
        self.assertEqual(hub.stop(), 0)
        self.assertLess(time.monotonic() - start, 10)
        for s in streams:
            s.read_until_eof(timeout=5)
            s.close()
        self.assertIn("stopped", hub.logs())

    def test_sigint_exits_zero(self):
        import signal
        hub = Hub().start()
        self.assertEqual(hub.stop(sig=signal.SIGINT), 0)


if __name__ == "__main__":
    unittest.main()


class ForwardedHeaders(unittest.TestCase):
    """use_forwarded_headers: the client address in the logs comes from Forwarded / X-Forwarded-For."""

    def remote_logged(self, hub, headers):
        with hub.subscribe(["t"], headers=headers) as s:
            s.open()
            self.assertTrue(hub.wait_for_log("subscribed subscriber="))
        line = [l for l in hub.logs().splitlines() if "subscribed subscriber=" in l][0]
        return line.split("remote=")[1].split()[0]

    def test_trusted_only_when_enabled(self):
        with Hub(allow_anonymous=True, debug=True, use_forwarded_headers=True) as hub:
            self.assertEqual(self.remote_logged(hub, {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}), "203.0.113.7")
        with Hub(allow_anonymous=True, debug=True, use_forwarded_headers=True) as hub:
            self.assertEqual(self.remote_logged(hub, {"Forwarded": 'for="198.51.100.2";proto=https'}), "198.51.100.2")
        with Hub(allow_anonymous=True, debug=True, use_forwarded_headers=True) as hub:
            # A malformed value is not trusted: the peer's address is logged.
            self.assertEqual(self.remote_logged(hub, {"X-Forwarded-For": "a" * 200}), "127.0.0.1")
        with Hub(allow_anonymous=True, debug=True) as hub:
            self.assertEqual(self.remote_logged(hub, {"X-Forwarded-For": "203.0.113.7"}), "127.0.0.1")
