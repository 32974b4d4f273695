"""Starts a throwaway Apache Pulsar standalone (RocksDB metadata, one in-process bookie, no
ZooKeeper, no functions worker) from the jars scripts/install-pulsar.sh assembles, on free loopback
ports in a fresh temp dir, and waits until public/default exists. Retention is kept (no time or
size quota) and idle topics are never deleted: Mercure history lives in the topic.

Checked by hand on 2026-12-07 (for the Pulsar transport's tests, issue 16): ready in about 9 s;
the official Python client (pulsar-client on PyPI) produced and read back three messages.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))

CONFIG = """clusterName=standalone
brokerServicePort={broker}
webServicePort={web}
bindAddress=127.0.0.1
advertisedAddress=127.0.0.1
managedLedgerDefaultEnsembleSize=1
managedLedgerDefaultWriteQuorum=1
managedLedgerDefaultAckQuorum=1
loadManagerClassName=org.apache.pulsar.broker.loadbalance.NoopLoadManager
loadBalancerEnabled=false
allowAutoTopicCreation=true
allowAutoTopicCreationType=non-partitioned
brokerDeleteInactiveTopicsEnabled=false
defaultRetentionTimeInMinutes=-1
defaultRetentionSizeInMB=-1
transactionCoordinatorEnabled=false
functionsWorkerEnabled=false
ledgerStorageClass=org.apache.bookkeeper.bookie.storage.ldb.DbLedgerStorage
journalSyncData=false
allowLoopback=true
diskUsageThreshold=0.99
diskUsageWarnThreshold=0.99
dbStorage_writeCacheMaxSizeMb=16
dbStorage_readAheadCacheMaxSizeMb=16
managedLedgerCacheSizeMB=64
numIOThreads=2
numHttpServerThreads=4
"""

LOG4J = """rootLogger.level = warn
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d %p %c{1} %m%n
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PulsarStandalone:
    def __init__(self):
        self.lib = subprocess.run([os.path.join(ROOT, "scripts/install-pulsar.sh")], check=True, capture_output=True,
                                  text=True, timeout=900).stdout.strip()
        self.dir = tempfile.mkdtemp(prefix="herald-pulsar-")
        self.broker_port, self.web_port = free_port(), free_port()
        self.proc = None

    @property
    def url(self):
        return f"pulsar://127.0.0.1:{self.broker_port}"

    def start(self, timeout=180):
        conf, log4j = os.path.join(self.dir, "standalone.conf"), os.path.join(self.dir, "log4j2.properties")
        with open(conf, "w") as f:
            f.write(CONFIG.format(broker=self.broker_port, web=self.web_port))
        with open(log4j, "w") as f:
            f.write(LOG4J)
        opens = ["java.base/java.io", "java.base/java.util.zip", "java.base/java.nio", "java.base/jdk.internal.misc",
                 "java.base/sun.net", "java.management/sun.management"]
        cmd = ["java", "-Xms512m", "-Xmx512m", "-XX:MaxDirectMemorySize=512m", "-XX:+UseG1GC",
               "-Djava.net.preferIPv4Stack=true", "-Dio.netty.tryReflectionSetAccessible=true"]
        for o in opens:
            cmd += ["--add-opens", o + "=ALL-UNNAMED"]
        cmd += ["-Dbookkeeper.metadata.bookie.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataBookieDriver",
                "-Dbookkeeper.metadata.client.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataClientDriver",
                "-Dlog4j2.configurationFile=" + log4j, "-cp", os.path.join(self.lib, "*"),
                "org.apache.pulsar.PulsarStandaloneStarter", "--config", conf, "-nfw", "-nss", "-a", "127.0.0.1",
                "--metadata-dir", os.path.join(self.dir, "metadata"), "--bookkeeper-dir", os.path.join(self.dir, "bk"),
                "--bookkeeper-port", "0"]
        self.log = open(os.path.join(self.dir, "pulsar.log"), "w")
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("pulsar exited: see " + self.log.name)
            try:
                url = f"http://127.0.0.1:{self.web_port}/admin/v2/namespaces/public"
                with urllib.request.urlopen(url, timeout=2) as r:
                    if b"public/default" in r.read():
                        return self
            except OSError:
                pass
            time.sleep(0.5)  # polling another process's admin API
        raise RuntimeError("pulsar did not become ready within %ss" % timeout)

    def halt(self, kill=False):
        """Stops the broker process (SIGKILL with kill=True), keeping its data for start()."""
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def stop(self):
        self.halt()
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    """The C++ tests' fixture (tests/unit/support/pulsar_standalone.cpp): prints one JSON line
    {"url", "web"} once the standalone is ready, then answers each command line ("stop",
    "kill", "start") with "ok" or the error; at the end of its input it stops and cleans up."""
    import json
    import sys
    try:
        p = PulsarStandalone().start()
    except Exception as e:  # the first line says why (missing Java or jars is a failure, not a skip)
        print(json.dumps({"error": str(e)}), flush=True)
        return 1
    print(json.dumps({"url": p.url, "web": f"http://127.0.0.1:{p.web_port}"}), flush=True)
    try:
        for line in sys.stdin:
            cmd = line.strip()
            try:
                if cmd == "stop":
                    p.halt()
                elif cmd == "kill":
                    p.halt(kill=True)
                elif cmd == "start":
                    p.start()
                else:
                    raise ValueError("unknown command " + cmd)
                print("ok", flush=True)
            except Exception as e:
                print("error: " + str(e).replace("\n", " "), flush=True)
    finally:
        p.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
