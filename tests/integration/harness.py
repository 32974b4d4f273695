"""Test harness: starts the real herald binary on a free port and talks HTTP to it.

Everything has a deadline; nothing sleeps to wait for an event it can observe.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import tempfile
import time
import unittest

HERALD_BIN = os.path.abspath(os.environ.get("HERALD_BIN") or os.path.join(os.path.dirname(__file__), "../../build/herald"))
SECRET = "!ChangeThisMercureHubJWTSecretKey!"
HUB_PATH = "/.well-known/mercure"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs_token(claims, key=SECRET, alg="HS256", header=None):
    """A JWT signed with HMAC (computed here, independently of herald)."""
    h = header or {"alg": alg, "typ": "JWT"}
    signing_input = b64url(json.dumps(h).encode()) + "." + b64url(json.dumps(claims).encode())
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    sig = hmac.new(key.encode(), signing_input.encode(), digest).digest()
    return signing_input + "." + b64url(sig)


def mercure_token(publish=None, subscribe=None, payload=None, exp=None, key=SECRET, alg="HS256"):
    m = {}
    if publish is not None:
        m["publish"] = publish
    if subscribe is not None:
        m["subscribe"] = subscribe
    if payload is not None:
        m["payload"] = payload
    claims = {"mercure": m}
    if exp is not None:
        claims["exp"] = exp
    return hs_token(claims, key=key, alg=alg)


PUBLISHER = mercure_token(publish=["*"])
SUBSCRIBER_ALL = mercure_token(subscribe=["*"])


def herald_token(key_file, alg, publish=None, subscribe=None, kid=None):
    """A JWT signed by `herald token` (asymmetric algorithms)."""
    cmd = [HERALD_BIN, "token", "--key-file", key_file, "--alg", alg]
    for p in publish or []:
        cmd += ["--publish", p]
    for s in subscribe or []:
        cmd += ["--subscribe", s]
    if kid:
        cmd += ["--kid", kid]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30).stdout.strip()


class Hub:
    """A running herald process. Options are passed as --flags (underscores become dashes)."""

    def __init__(self, env=None, cwd=None, args=None, **options):
        # drain_timeout 0s: a test's hub closes its streams at once when stopped (the drain's
        # own tests set it).
        self.options = {"jwt_key": SECRET, "addr": "127.0.0.1:0", "admin_addr": "127.0.0.1:0", "shards": "2",
                        "transport_url": "local://", "drain_timeout": "0s"}
        self.options.update({k: v for k, v in options.items()})
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("MERCURE_"):
                del self.env[k]
        self.env.update(env or {})
        self.cwd = cwd
        self.extra_args = args or []
        self.proc = None
        self.port = None
        self.stderr_lines = []

    def command(self):
        cmd = [HERALD_BIN, "run"]
        for k, v in self.options.items():
            if v is None:
                continue
            flag = "--" + k.replace("_", "-")
            if v is True:
                cmd.append(flag)
            else:
                cmd.append(f"{flag}={v}")
        return cmd + self.extra_args

    def start(self, timeout=15):
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=self.env, cwd=self.cwd)
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stderr], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stderr.fileno(), 65536)
                if not chunk:
                    break
                buf += chunk
                for line in buf.decode(errors="replace").splitlines():
                    if "listening" in line and "port=" in line:
                        self.port = int(line.split("port=")[1].split()[0])
                        self.stderr_lines = buf.decode(errors="replace").splitlines()
                        self._drain()
                        return self
            if self.proc.poll() is not None:
                break
        self.proc.kill()
        raise RuntimeError("herald did not start: " + buf.decode(errors="replace"))

    def _drain(self):
        """Keeps reading herald's stderr so its logging never blocks on a full pipe."""
        import threading

        def reader():
            for raw in iter(self.proc.stderr.readline, b""):
                self.stderr_lines.append(raw.decode(errors="replace").rstrip("\n"))
        self._reader = threading.Thread(target=reader, daemon=True)
        self._reader.start()

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("herald did not exit within %ss of signal %s" % (timeout, sig))
        if getattr(self, "_reader", None):
            self._reader.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()
        return self.proc.returncode

    def wait_for_log(self, text, timeout=10):
        """True once `text` appears in herald's stderr (bounded wait)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.logs():
                return True
            time.sleep(0.05)  # polling a pipe the drain thread fills; there is no event to await
        return False

    def logs(self):
        """Everything herald has written to stderr so far."""
        return "\n".join(self.stderr_lines)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def alive(self):
        return self.proc.poll() is None

    # ---- HTTP helpers
    def request(self, method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read().decode(errors="replace"), resp
        finally:
            conn.close()

    def publish(self, fields, token=PUBLISHER, headers=None):
        """POSTs form `fields` (a list of (name, value) or a dict). Returns (status, body)."""
        from urllib.parse import urlencode
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        status, body, _ = self.request("POST", HUB_PATH, urlencode(fields), h)
        return status, body

    def admin_port(self, timeout=10):
        """The admin address's port, from herald's log line (logged just after "listening")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.stderr_lines):
                if "admin_port=" in line:
                    return int(line.split("admin_port=")[1].split()[0])
            time.sleep(0.02)  # the log line is written by another process
        raise AssertionError("no admin_api line in herald's log")

    def admin(self, path, timeout=10):
        """GET on the admin address: (status, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port(), timeout=timeout)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def healthy(self):
        status, _, _ = self.request("GET", "/healthz")
        return status == 200

    def subscribe(self, topics, **kw):
        return SseClient(self, topics, **kw).open()


class SseClient:
    """A raw-socket SSE client that decodes chunked transfer encoding and SSE events."""

    def __init__(self, hub, topics, headers=None, query=None, method="GET", token=None, http10=False,
                 source=None):
        from urllib.parse import urlencode
        params = [("topic", t) for t in topics] + list((query or {}).items() if isinstance(query, dict) else query or [])
        self.path = HUB_PATH + ("?" + urlencode(params) if params else "")
        self.hub = hub
        self.headers = dict(headers or {})
        if token:
            self.headers["Authorization"] = "Bearer " + token
        self.method = method
        self.http10 = http10
        self.source = source
        self.sock = None
        self.status = None
        self.response_headers = {}
        self.raw = b""        # undecoded bytes
        self.text = ""        # decoded body text not yet consumed as events
        self.chunked = False
        self.eof = False
        self.comments = 0

    def open(self, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", self.hub.port), timeout=timeout,
                                             source_address=(self.source, 0) if self.source else None)
        lines = [f"{self.method} {self.path} HTTP/{'1.0' if self.http10 else '1.1'}", "Host: 127.0.0.1"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.raw:
            self._recv(deadline)
            if self.eof:
                break
        head, _, rest = self.raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode(errors="replace").split("\r\n")
        self.status = int(status_line.split()[1]) if status_line else 0
        for line in header_lines:
            k, _, v = line.partition(":")
            self.response_headers.setdefault(k.strip().lower(), []).append(v.strip())
        self.chunked = "chunked" in ",".join(self.response_headers.get("transfer-encoding", []))
        self.raw = rest
        self._decode()
        return self

    def header(self, name):
        v = self.response_headers.get(name.lower())
        return v[0] if v else None

    def _recv(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data from hub before the deadline")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            raise TimeoutError("no data from hub before the deadline")
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
        self.raw += data

    def _decode(self):
        if not self.chunked:
            self.text += self.raw.decode(errors="replace")
            self.raw = b""
            return
        while True:
            line_end = self.raw.find(b"\r\n")
            if line_end < 0:
                return
            size = int(self.raw[:line_end].split(b";")[0], 16)
            if size == 0:
                self.ended_cleanly = True
                self.raw = b""
                return
            if len(self.raw) < line_end + 2 + size + 2:
                return
            self.text += self.raw[line_end + 2:line_end + 2 + size].decode(errors="replace")
            self.raw = self.raw[line_end + 2 + size + 2:]

    def _pump(self, deadline):
        self._recv(deadline)
        self._decode()

    def next_block(self, timeout=10):
        """The next SSE block (event or comment), as text without the final blank line."""
        deadline = time.monotonic() + timeout
        while True:
            # A comment line ":\n" is a block on its own; events end with a blank line.
            if self.text.startswith(":\n"):
                self.text = self.text[2:]
                return ":"
            idx = self.text.find("\n\n")
            if idx >= 0:
                block, self.text = self.text[:idx], self.text[idx + 2:]
                return block
            if self.eof:
                raise EOFError("stream ended")
            self._pump(deadline)

    def next_event(self, timeout=10):
        """The next event as a dict (id, data, event, retry); comments are counted and skipped."""
        deadline = time.monotonic() + timeout
        while True:
            block = self.next_block(max(0.01, deadline - time.monotonic()))
            if block == ":":
                self.comments += 1
                continue
            event = {"data": []}
            for line in block.split("\n"):
                k, _, v = line.partition(": ")
                if k == "data":
                    event["data"].append(v)
                else:
                    event[k] = v
            event["data"] = "\n".join(event["data"])
            return event

    def expect_no_event(self, within):
        """Asserts nothing but comments arrives within `within` seconds (used after a later marker)."""
        try:
            e = self.next_event(within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected event {e}")

    def read_until_eof(self, timeout=10):
        deadline = time.monotonic() + timeout
        while not self.eof:
            self._pump(deadline)
        return self.text

    def close(self):
        if self.sock:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class HubTestCase(unittest.TestCase):
    """Starts one hub per test class (options in `hub_options`)."""
    hub_options = {}

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub(**cls.hub_options).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.hub.stop()
        assert code == 0, f"herald exited with {code}"

    def assertHubStillServes(self):
        self.assertTrue(self.hub.alive(), "herald died")
        self.assertTrue(self.hub.healthy())
        with self.hub.subscribe(["check"], token=SUBSCRIBER_ALL) as s:
            self.assertEqual(s.status, 200)
            marker = "check-%f" % time.monotonic()
            self.assertEqual(self.hub.publish({"topic": "check", "data": marker})[0], 200)
            self.assertEqual(s.next_event()["data"], marker)


def temp_dir():
    return tempfile.mkdtemp(prefix="herald-test-")


def raw_request(port, payload, timeout=5):
    """Sends raw bytes; returns everything the hub sent until it closed (or the deadline)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(payload)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                return data, True
            data += chunk
        return data, False
    finally:
        s.close()


def status_of(data):
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    return int(line.split()[1]) if line.startswith("HTTP/") else None
