"""A throwaway redis-server on a free loopback port in a temp dir (append-only file with
fsync always, so an acknowledged write survives kill -9). A missing binary fails the test."""
import os
import shutil
import signal
import random
import socket
import subprocess
import tempfile
import time


def free_port():
    """A free port below the kernel's ephemeral range (32768 and up by default): while a test
    has its server killed, no outgoing connection can take the port as its source port and
    keep the server from binding it again when it restarts."""
    for _ in range(1000):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port")


class RedisServer:
    def __init__(self, *extra):
        if not shutil.which("redis-server"):
            raise AssertionError("redis-server is not installed (scripts/install-deps.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="herald-redis-")
        self.port = free_port()
        self.extra = list(extra)
        self.proc = None
        self.start()

    def url(self, stream="mercure-ha", query=""):
        return f"redis://127.0.0.1:{self.port}/{stream}{query}"

    def start(self, timeout=10):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--loglevel", "warning",
             "--logfile", os.path.join(self.dir, "redis.log"), *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited at start")
            try:
                if self.command("PING") in (b"+PONG", b"-NOAUTH Authentication required."):
                    return self
            except OSError:
                pass
            time.sleep(0.02)  # polling a server we just started: there is no event to await
        raise AssertionError("redis-server did not answer within %ss" % timeout)

    def stop(self, hard=False):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            self.proc.wait(15)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def values(self, *args):
        """One command over a fresh connection; the reply parsed (bulk strings, integers, arrays)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(self._encode(args))
            reader = s.makefile("rb")

            def parse():
                line = reader.readline().rstrip(b"\r\n")
                kind, rest = line[:1], line[1:]
                if kind in (b"+", b"-"):
                    return rest.decode()
                if kind == b":":
                    return int(rest)
                if kind == b"$":
                    n = int(rest)
                    if n < 0:
                        return None
                    data = reader.read(n + 2)[:n]
                    return data.decode(errors="replace")
                if kind == b"*":
                    return [parse() for _ in range(int(rest))]
                raise AssertionError("unexpected reply %r" % line)
            return parse()

    @staticmethod
    def _encode(args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        return out

    def command(self, *args):
        """One command over a fresh connection; the first line of the reply."""
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(out)
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return data.split(b"\r\n")[0]
