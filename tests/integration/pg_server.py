"""A throwaway PostgreSQL on a free loopback port in a temp dir: initdb, then postgres run as
the postgres user when the tests run as root, a database "herald", password authentication
over TCP (postgres / secret). One per test file; a fresh table prefix per test. A missing
server is a test failure, never a skip."""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

from redis_server import free_port

PASSWORD = "secret"


def _bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise AssertionError("PostgreSQL is not installed (scripts/install-deps.sh installs it)")
    return os.path.dirname(found[-1])


class PgServer:
    def __init__(self):
        self.bin = _bin()
        self.dir = tempfile.mkdtemp(prefix="herald-pg-")
        self.port = free_port()
        self.proc = None
        self.as_user = "postgres" if os.geteuid() == 0 else None
        if self.as_user:
            shutil.chown(self.dir, self.as_user, self.as_user)
        with open(os.path.join(self.dir, "pw"), "w") as f:
            f.write(PASSWORD + "\n")
        if self.as_user:
            shutil.chown(os.path.join(self.dir, "pw"), self.as_user, self.as_user)
        subprocess.run([self.bin + "/initdb", "-D", self.dir + "/data", "-U", "postgres", "--pwfile",
                        self.dir + "/pw", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                        "--locale=C", "--no-sync"], user=self.as_user, check=True, capture_output=True, timeout=120)
        self.start()
        self.sql("CREATE DATABASE herald", db="postgres")

    def url(self, table, query=""):
        sep = "&" if query else ""
        return f"postgres://postgres:{PASSWORD}@127.0.0.1:{self.port}/herald?table={table}{sep}{query.lstrip('?')}"

    def start(self, timeout=30):
        with open(os.path.join(self.dir, "postgres.log"), "ab") as log:
            self.proc = subprocess.Popen(
                [self.bin + "/postgres", "-D", self.dir + "/data", "-p", str(self.port), "-k", self.dir,
                 "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
                user=self.as_user, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("postgres exited at start; see " + self.dir + "/postgres.log")
            if self._ready():
                return self
            time.sleep(0.05)  # polling a server we just started: there is no event to await
        raise AssertionError("postgres did not accept connections within %ss" % timeout)

    def _ready(self):
        r = subprocess.run([self.bin + "/pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-d", "postgres"],
                           capture_output=True, timeout=10)
        return r.returncode == 0

    def stop(self, hard=False):
        if self.proc and self.proc.poll() is None:
            if hard:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the postmaster and every backend: a crash
            else:
                self.proc.send_signal(signal.SIGINT)  # fast shutdown
            self.proc.wait(30)
            if hard:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    try:
                        os.killpg(self.proc.pid, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.01)  # waiting for killed backends to be gone

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, statement, db="herald"):
        """Runs SQL through psql; returns the rows as lists of strings."""
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-AtXq",
                            "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", statement],
                           env={**os.environ, "PGPASSWORD": PASSWORD}, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("SQL failed: %s\n%s" % (statement, r.stderr))
        return [line.split("\t") for line in r.stdout.splitlines()]
