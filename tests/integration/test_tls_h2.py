"""TLS (cert_file, key_file) with HTTP/2 by ALPN and HTTP/1.1, and HTTP/2 in clear text with prior
knowledge (h2c), driven by curl (--http2, --http1.1, --http2-prior-knowledge): publishing,
SSE streams, several streams on one connection, limits and errors as over HTTP/1.1."""
import os
import select
import subprocess
import time
import unittest

from harness import HUB_PATH, PUBLISHER, HERALD_BIN, Hub, SECRET, mercure_token, temp_dir
from tls_certs import make_test_ca

CA, CERT, KEY = make_test_ca()


def curl(args, timeout=20):
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout - 5)] + args, capture_output=True, text=True,
                          timeout=timeout)


class Stream:
    """A `curl -N` SSE stream: its output is read as it comes, with deadlines."""

    def __init__(self, args):
        self.proc = subprocess.Popen(["curl", "-sS", "-N", "--max-time", "60"] + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.out = b""

    def wait_for(self, text, timeout=15):
        deadline = time.monotonic() + timeout
        while text.encode() not in self.out:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and not select.select([self.proc.stdout], [], [], 0)[0]:
                return False
            if select.select([self.proc.stdout], [], [], left)[0]:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    return text.encode() in self.out
                self.out += chunk
        return True

    def close(self):
        self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(cert_file=CERT, key_file=KEY, allow_anonymous=True).start()
        cls.url = f"https://127.0.0.1:{cls.hub.port}"

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def tls(self, *args):
        return ["--cacert", CA] + list(args)

    def publish_args(self, topic, data, version="--http2"):
        return self.tls(version, "-w", "\n%{http_code} %{http_version}", "-H", "Authorization: Bearer " + PUBLISHER,
                        "-d", "topic=" + topic, "-d", "data=" + data, self.url + HUB_PATH)

    def test_alpn_chooses_h2_and_http11_still_works(self):
        for version, expect in (("--http2", "2"), ("--http1.1", "1.1")):
            r = curl(self.tls(version, "-o", "/dev/null", "-w", "%{http_code} %{http_version}", self.url + "/healthz"))
            self.assertEqual(r.stdout, "200 " + expect, r.stderr)

    def test_publish_and_stream_over_h2_and_http11(self):
        for version in ("--http2", "--http1.1"):
            topic = "https://example.com/tls" + version
            s = Stream(self.tls(version, self.url + HUB_PATH + "?topic=" + topic))
            try:
                self.assertTrue(s.wait_for(":"), s.out)  # the stream's opening comment
                r = curl(self.publish_args(topic, "over-tls", version))
                body, status = r.stdout.rsplit("\n", 1)
                self.assertEqual(status, "200 " + ("2" if version == "--http2" else "1.1"), r.stderr)
                self.assertTrue(body.startswith("urn:uuid:"), body)
                self.assertTrue(s.wait_for("data: over-tls"), s.out)
                self.assertIn(("id: " + body).encode(), s.out)
            finally:
                s.close()

    def test_many_streams_on_one_h2_connection(self):
        # curl multiplexes parallel transfers to one origin on one HTTP/2 connection.
        topics = [f"https://example.com/mux/{i}" for i in range(10)]
        urls = [self.url + HUB_PATH + "?topic=" + t for t in topics]
        s = Stream(self.tls("--http2", "--parallel", "--parallel-immediate", "--parallel-max", "20",
                            "-w", "%{num_connects}\n", *urls))
        try:
            self.assertTrue(s.wait_for(":\n"), s.out)
            deadline = time.monotonic() + 15
            # Every stream has opened once each has had the update meant for it.
            for i, t in enumerate(topics):
                r = curl(self.publish_args(t, f"mux-{i}"))
                self.assertTrue(r.stdout.endswith("200 2"), r.stdout + r.stderr)
            for i in range(10):
                self.assertTrue(s.wait_for(f"data: mux-{i}", timeout=max(1, deadline - time.monotonic())), s.out)
        finally:
            s.close()
        status, body = self.hub.admin("/metrics")
        self.assertEqual(status, 200)

    def test_limits_and_errors_are_those_of_http11(self):
        big = "x" * (10 * 1024 * 1024 + 10)
        path = os.path.join(temp_dir(), "big")
        with open(path, "w") as f:
            f.write("topic=t&data=" + big)
        r = curl(self.tls("--http2", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer " + PUBLISHER,
                          "--data-binary", "@" + path, self.url + HUB_PATH))
        self.assertEqual(r.stdout, "413", r.stderr)
        r = curl(self.tls("--http2", "-w", "\n%{http_code}", self.url + HUB_PATH))
        self.assertTrue(r.stdout.endswith("400"), r.stdout)  # no topic
        r = curl(self.tls("--http2", "-o", "/dev/null", "-w", "%{http_code}", "-d", "topic=t", self.url + HUB_PATH))
        self.assertEqual(r.stdout, "401")
        r = curl(self.tls("--http2", "-o", "/dev/null", "-w", "%{http_code}", self.url + "/nope"))
        self.assertEqual(r.stdout, "404")
        r = curl(self.tls("--http2", "-I", self.url + "/healthz"))
        self.assertIn("HTTP/2 200", r.stdout)

    def test_plain_http_and_garbage_on_the_tls_port_do_not_hurt_the_hub(self):
        r = curl(["--http1.1", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{self.hub.port}/healthz"])
        self.assertNotEqual(r.stdout, "200")
        import socket
        with socket.create_connection(("127.0.0.1", self.hub.port), timeout=5) as s:
            s.sendall(b"\x16\x03\x01\x00\x05hello" * 10)
            s.settimeout(10)
            try:
                while s.recv(4096):
                    pass
            except (ConnectionResetError, TimeoutError):
                pass
        r = curl(self.tls("--http2", "-o", "/dev/null", "-w", "%{http_code}", self.url + "/healthz"))
        self.assertEqual(r.stdout, "200")
        self.assertTrue(self.hub.alive())


class H2c(unittest.TestCase):
    def test_prior_knowledge_publish_and_stream(self):
        with Hub(allow_anonymous=True) as hub:
            url = f"http://127.0.0.1:{hub.port}"
            s = Stream(["--http2-prior-knowledge", url + HUB_PATH + "?topic=h2c"])
            try:
                self.assertTrue(s.wait_for(":"), s.out)
                r = curl(["--http2-prior-knowledge", "-w", "\n%{http_code} %{http_version}", "-H",
                          "Authorization: Bearer " + PUBLISHER, "-d", "topic=h2c", "-d", "data=clear", url + HUB_PATH])
                self.assertTrue(r.stdout.endswith("200 2"), r.stdout + r.stderr)
                self.assertTrue(s.wait_for("data: clear"), s.out)
            finally:
                s.close()
            # A broken HTTP/2 connection gets a GOAWAY (frame type 7) and is closed; the hub serves on.
            import socket
            with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as sock:
                sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x04\xff\x00\x00\x00\x00\x00junk" * 4)
                received = b""
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    try:
                        chunk = sock.recv(4096)
                    except ConnectionResetError:
                        break
                    if not chunk:
                        break
                    received += chunk
                frames, i = [], 0
                while i + 9 <= len(received):
                    length = int.from_bytes(received[i:i + 3], "big")
                    frames.append(received[i + 3])
                    i += 9 + length
                self.assertIn(7, frames, received)
            self.assertTrue(hub.alive())
            # HTTP/1.1 on the same port is unchanged.
            r = curl(["--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", url + "/healthz"])
            self.assertEqual(r.stdout, "200 1.1")


class H2BodyBudget(unittest.TestCase):
    """Frame by frame with the h2 package (Debian python3-h2): three streams' bodies grow together
    past the connection's 16 MiB budget; one stream is reset, the hub serves on."""

    def test_interleaved_bodies_past_the_connection_budget_reset_a_stream(self):
        import socket
        import h2.config
        import h2.connection
        import h2.events
        with Hub() as hub:
            sock = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            streams, per_stream, chunk = [1, 3, 5], 6 * 1024 * 1024, b"x" * 16384
            for sid in streams:
                conn.send_headers(sid, [(":method", "POST"), (":path", HUB_PATH), (":scheme", "http"),
                                        (":authority", "127.0.0.1"), ("authorization", "Bearer " + PUBLISHER),
                                        ("content-type", "application/x-www-form-urlencoded")])
            sock.sendall(conn.data_to_send())
            sent, reset = {sid: 0 for sid in streams}, {}
            deadline = time.monotonic() + 60
            while not reset and time.monotonic() < deadline and any(v < per_stream for v in sent.values()):
                progressed = False
                for sid in streams:  # round robin: the three bodies grow together
                    window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
                    n = min(window, len(chunk), per_stream - sent[sid])
                    if n > 0:
                        conn.send_data(sid, chunk[:n])
                        sent[sid] += n
                        progressed = True
                sock.sendall(conn.data_to_send())
                if not progressed or select.select([sock], [], [], 0)[0]:
                    data = sock.recv(65536)  # window updates, or the reset
                    if not data:
                        break
                    for event in conn.receive_data(data):
                        if isinstance(event, h2.events.StreamReset):
                            reset[event.stream_id] = event.error_code
                    sock.sendall(conn.data_to_send())
            sock.close()
            self.assertEqual(list(reset.values()), [0xB], (reset, sent))  # ENHANCE_YOUR_CALM, one stream
            self.assertLessEqual(sum(sent.values()), 16 * 1024 * 1024 + 3 * 65536, sent)
            self.assertEqual(hub.publish({"topic": "after"})[0], 200)
            self.assertTrue(hub.alive())


class ImageCaddyfileWithTls(unittest.TestCase):
    def test_the_images_caddyfile_with_tls_in_the_server_directives(self):
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
        env = {"SERVER_NAME": "127.0.0.1:0", "MERCURE_PUBLISHER_JWT_KEY": SECRET, "MERCURE_EXTRA_DIRECTIVES": "anonymous",
               "CADDY_SERVER_EXTRA_DIRECTIVES": f"tls {CERT} {KEY}"}
        with Hub(jwt_key=None, addr=None, env=env, args=["--config", os.path.join(root, "deploy/docker/Caddyfile")]) as hub:
            url = f"https://127.0.0.1:{hub.port}"
            r = curl(["--cacert", CA, "--http2", "-w", "\n%{http_code} %{http_version}", "-H",
                      "Authorization: Bearer " + PUBLISHER, "-d", "topic=c", url + HUB_PATH])
            self.assertTrue(r.stdout.endswith("200 2"), r.stdout + r.stderr)


class TlsConfig(unittest.TestCase):
    def run_herald(self, args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MERCURE_")}
        return subprocess.run([HERALD_BIN, "run", "--addr", "127.0.0.1:0", "--jwt-key", SECRET, "--transport-url",
                               "local://"] + args, capture_output=True, text=True, timeout=30, env=env, cwd=temp_dir())

    def test_bad_certificate_settings_exit_2_with_one_line(self):
        for args, what in ((["--cert-file", CERT], "key_file"),
                           (["--cert-file", CERT, "--key-file", "/nonexistent.key"], "key_file"),
                           (["--cert-file", KEY, "--key-file", KEY], "cert_file"),
                           (["--cert-file", CERT, "--key-file", make_test_ca()[2]], "key values mismatch")):
            r = self.run_herald(args)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn(what, r.stderr)

    def test_a_token_still_needed(self):
        token = mercure_token(publish=["*"], key="another-key-another-key-another-key")
        with Hub(cert_file=CERT, key_file=KEY) as hub:
            r = curl(["--cacert", CA, "--http2", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                      "Authorization: Bearer " + token, "-d", "topic=t", f"https://127.0.0.1:{hub.port}{HUB_PATH}"])
            self.assertEqual(r.stdout, "401")


if __name__ == "__main__":
    unittest.main()
