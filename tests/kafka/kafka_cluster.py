"""Throwaway Apache Kafka brokers for the tests: KRaft mode, every node a combined broker and
controller, on free loopback ports in a temp dir, from the jars scripts/install-kafka.sh
assembles (the broker version is pinned in tests/kafka/pom.xml). A missing Java or jar is a
test failure, never a skip.

As a module: KafkaCluster(brokers=1, security=False). As a program (the C++ tests drive it):
    python3 kafka_cluster.py [--brokers N] [--security]
prints one JSON line when every broker answers ({"bootstrap": "...", "brokers": [...]}), then
reads commands on stdin, each answered by one line: "kill I" (SIGKILL broker I), "stop I"
(SIGTERM), "start I" (start it again, waits until it answers), "leader TOPIC" (the broker
index leading partition 0). End of input stops every broker and removes the directory.

security=True adds listeners SASL_PLAINTEXT (PLAIN), SSL and SASL_SSL beside PLAINTEXT, with a
PKCS12 keystore made by the JDK's keytool for 127.0.0.1; the certificate (PEM, its own CA) is
at `ca_file`. Users: USERS below."""
import base64
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
USERS = {"admin": "admin-secret", "herald": "herald-secret"}
STORE_PASSWORD = "herald-store"


def free_port():
    """A free port below the kernel's ephemeral range (so a killed broker's port cannot be
    taken as the source port of an outgoing connection before it restarts)."""
    for _ in range(1000):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port")


def kafka_lib():
    """The broker's jar directory: $HERALD_KAFKA_LIB, else what scripts/install-kafka.sh
    assembled (it runs once and is idempotent)."""
    lib = os.environ.get("HERALD_KAFKA_LIB")
    if lib:
        return lib
    if not shutil.which("java"):
        raise AssertionError("java is not installed (scripts/install-deps.sh installs it)")
    out = subprocess.run([os.path.join(ROOT, "scripts", "install-kafka.sh")], check=True, capture_output=True,
                         text=True, timeout=600)
    return out.stdout.strip().splitlines()[-1]


def _die_with_parent():
    """In the broker's child before exec: SIGKILL it when this process dies (a test killed by
    its deadline must not leave JVMs behind)."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _cluster_id():
    # (It may start with "-": passed as --cluster-id=ID, never as a separate argument.)
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _string(s):
    data = s.encode()
    return struct.pack(">h", len(data)) + data


class Broker:
    def __init__(self, index, dir):
        self.index = index
        self.node_id = index + 1
        self.dir = dir
        self.port = free_port()
        self.controller_port = free_port()
        self.sasl_port = free_port()
        self.ssl_port = free_port()
        self.sasl_ssl_port = free_port()
        self.proc = None


class KafkaCluster:
    def __init__(self, brokers=1, security=False, heap="384m"):
        self.lib = kafka_lib()
        self.dir = tempfile.mkdtemp(prefix="herald-kafka-")
        self.security = security
        self.heap = heap
        self.brokers = [Broker(i, os.path.join(self.dir, "b%d" % i)) for i in range(brokers)]
        if security:
            self._make_keystore()
        cluster_id = _cluster_id()
        formats = []
        for b in self.brokers:
            os.makedirs(b.dir)
            self._write_config(b)
            formats.append(subprocess.Popen(
                self._java("128m") + ["kafka.tools.StorageTool", "format", "--cluster-id=" + cluster_id, "-c", b.config],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        for f in formats:
            out, _ = f.communicate(timeout=120)
            if f.returncode != 0:
                raise AssertionError("kafka StorageTool format failed: " + out.decode(errors="replace")[-2000:])
        for b in self.brokers:
            self._spawn(b)
        self.wait_ready()

    # Addresses
    def bootstrap(self, listener="plain", brokers=None):
        port = {"plain": "port", "sasl": "sasl_port", "ssl": "ssl_port", "sasl_ssl": "sasl_ssl_port"}[listener]
        chosen = self.brokers if brokers is None else [self.brokers[i] for i in brokers]
        return ",".join("127.0.0.1:%d" % getattr(b, port) for b in chosen)

    def url(self, topic, query="", listener="plain"):
        addrs = "&".join("addr=" + a for a in self.bootstrap(listener).split(","))
        return "kafka://kafka/?%s&topic=%s%s" % (addrs, topic, ("&" + query.lstrip("&?")) if query else "")

    def pids(self):
        """The running brokers' process ids (benchmarks count their CPU time)."""
        return [b.proc.pid for b in self.brokers if b.proc and b.proc.poll() is None]

    # Life cycle
    def kill(self, index):
        self.stop(index, hard=True)

    def stop(self, index, hard=False):
        b = self.brokers[index]
        if b.proc and b.proc.poll() is None:
            b.proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            b.proc.wait(60)

    def start(self, index, timeout=90):
        self._spawn(self.brokers[index])
        self.wait_ready(timeout)

    def close(self):
        for i in range(len(self.brokers)):
            self.stop(i, hard=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, index=0, lines=30):
        try:
            with open(os.path.join(self.brokers[index].dir, "server.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout=90):
        """Every running broker answers a metadata request that lists every running broker."""
        running = [b for b in self.brokers if b.proc and b.proc.poll() is None]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for b in self.brokers:
                if b.proc and b.proc.poll() is not None and b in running:
                    raise AssertionError("kafka broker %d exited at start:\n%s" % (b.index, self.log_tail(b.index)))
            try:
                if all(len(self.metadata(b)["brokers"]) >= len(running) for b in running):
                    return self
            except (OSError, ValueError, struct.error):
                pass
            time.sleep(0.2)  # polling a JVM we just started: there is no event to await
        raise AssertionError("kafka did not answer within %ss:\n%s" % (timeout, self.log_tail()))

    def leader(self, topic):
        """The index of the broker leading partition 0 of `topic` (None when it has none)."""
        for b in self.brokers:
            if not b.proc or b.proc.poll() is not None:
                continue
            try:
                meta = self.metadata(b, [topic])
            except (OSError, ValueError, struct.error):
                continue
            for name, partitions in meta["topics"].items():
                if name == topic and 0 in partitions:
                    leader = partitions[0]
                    return next((x.index for x in self.brokers if x.node_id == leader), None)
        return None

    def in_sync(self, topic):
        """How many replicas of partition 0 of `topic` are in sync, as a running broker says (0 when
        none answers)."""
        for b in self.brokers:
            if not b.proc or b.proc.poll() is not None:
                continue
            try:
                return len(self.metadata(b, [topic])["isr"].get(topic, {}).get(0, []))
            except (OSError, ValueError, struct.error):
                continue
        return 0

    # A Metadata request (v1) over a plain socket: the one question the fixture asks a broker.
    def metadata(self, broker, topics=None, timeout=2):
        body = struct.pack(">hhi", 3, 1, 7) + _string("herald-tests")
        if topics is None:
            body += struct.pack(">i", -1)
        else:
            body += struct.pack(">i", len(topics)) + b"".join(_string(t) for t in topics)
        with socket.create_connection(("127.0.0.1", broker.port), timeout=timeout) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", self._recv(s, 4))[0]
            data = self._recv(s, size)
        return _parse_metadata_v1(data)

    @staticmethod
    def _recv(s, n):
        out = b""
        while len(out) < n:
            chunk = s.recv(n - len(out))
            if not chunk:
                raise OSError("closed")
            out += chunk
        return out

    # Files
    def _java(self, heap):
        return ["java", "-Xms%s" % heap, "-Xmx%s" % heap, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true", "-cp", os.path.join(self.lib, "*")]

    def _spawn(self, b):
        log = open(os.path.join(b.dir, "stdout.log"), "ab")
        b.proc = subprocess.Popen(
            self._java(self.heap) + ["-Dlog4j.configuration=file:" + os.path.join(b.dir, "log4j.properties"),
                                     "kafka.Kafka", b.config],
            stdout=log, stderr=log, start_new_session=True, preexec_fn=_die_with_parent)
        log.close()

    def _write_config(self, b):
        n = len(self.brokers)
        voters = ",".join("%d@127.0.0.1:%d" % (x.node_id, x.controller_port) for x in self.brokers)
        listeners = ["PLAINTEXT://127.0.0.1:%d" % b.port]
        protocols = ["CONTROLLER:PLAINTEXT", "PLAINTEXT:PLAINTEXT"]
        if self.security:
            listeners += ["SASL_PLAINTEXT://127.0.0.1:%d" % b.sasl_port, "SSL://127.0.0.1:%d" % b.ssl_port,
                          "SASL_SSL://127.0.0.1:%d" % b.sasl_ssl_port]
            protocols += ["SASL_PLAINTEXT:SASL_PLAINTEXT", "SSL:SSL", "SASL_SSL:SASL_SSL"]
        replication = min(n, 3)
        props = {
            "process.roles": "broker,controller",
            "node.id": b.node_id,
            "controller.quorum.voters": voters,
            "listeners": ",".join(listeners + ["CONTROLLER://127.0.0.1:%d" % b.controller_port]),
            "advertised.listeners": ",".join(listeners),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": ",".join(protocols),
            "log.dirs": os.path.join(b.dir, "data"),
            "num.partitions": 1,
            "default.replication.factor": replication,
            "min.insync.replicas": 2 if n >= 3 else 1,
            "unclean.leader.election.enable": "false",
            "offsets.topic.replication.factor": replication,
            "offsets.topic.num.partitions": 1,
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
            "auto.create.topics.enable": "true",
            # A SIGKILLed broker is noticed, and its partitions led elsewhere, within seconds.
            "broker.heartbeat.interval.ms": 500,
            "broker.session.timeout.ms": 3000,
        }
        if self.security:
            jaas = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
                    'username="admin" password="admin-secret" '
                    + " ".join('user_%s="%s"' % kv for kv in USERS.items()) + ";")
            props.update({
                "sasl.enabled.mechanisms": "PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas,
                "listener.name.sasl_ssl.plain.sasl.jaas.config": jaas,
                "ssl.keystore.type": "PKCS12",
                "ssl.keystore.location": self.keystore,
                "ssl.keystore.password": STORE_PASSWORD,
                "ssl.key.password": STORE_PASSWORD,
            })
        b.config = os.path.join(b.dir, "server.properties")
        with open(b.config, "w") as f:
            f.writelines("%s=%s\n" % kv for kv in props.items())
        with open(os.path.join(b.dir, "log4j.properties"), "w") as f:
            f.write("log4j.rootLogger=INFO, file\n"
                    "log4j.appender.file=org.apache.log4j.FileAppender\n"
                    "log4j.appender.file.File=%s\n"
                    "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.file.layout.ConversionPattern=[%%d] %%p %%m (%%c)%%n\n"
                    "log4j.logger.kafka.request.logger=WARN\n"
                    % os.path.join(b.dir, "server.log"))

    def _make_keystore(self):
        self.keystore = os.path.join(self.dir, "broker.p12")
        self.ca_file = os.path.join(self.dir, "broker-ca.pem")
        subprocess.run(["keytool", "-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048",
                        "-validity", "30", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
                        "-ext", "BC:c=ca:true", "-keystore", self.keystore, "-storetype", "PKCS12",
                        "-storepass", STORE_PASSWORD, "-keypass", STORE_PASSWORD],
                       check=True, capture_output=True, timeout=60)
        subprocess.run(["keytool", "-exportcert", "-rfc", "-alias", "broker", "-keystore", self.keystore,
                        "-storepass", STORE_PASSWORD, "-file", self.ca_file],
                       check=True, capture_output=True, timeout=60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _parse_metadata_v1(data):
    pos = 4  # correlation id

    def take(fmt):
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value[0]

    def string():
        nonlocal pos
        n = take(">h")
        if n < 0:
            return None
        s = data[pos:pos + n].decode()
        pos += n
        return s

    brokers = []
    for _ in range(take(">i")):
        node, _host, _port, _rack = take(">i"), string(), take(">i"), string()
        brokers.append(node)
    take(">i")  # controller id
    topics, isr = {}, {}
    for _ in range(take(">i")):
        error, name, _internal = take(">h"), string(), take(">b")
        partitions, in_sync = {}, {}
        for _ in range(take(">i")):
            _perr, pid, leader = take(">h"), take(">i"), take(">i")
            for _ in range(take(">i")):  # replicas
                take(">i")
            in_sync[pid] = [take(">i") for _ in range(take(">i"))]
            if leader >= 0:
                partitions[pid] = leader
        if error == 0:
            topics[name] = partitions
            isr[name] = in_sync
    return {"brokers": brokers, "topics": topics, "isr": isr}


def main():
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", type=int, default=1)
    parser.add_argument("--security", action="store_true")
    args = parser.parse_args()
    cluster = KafkaCluster(args.brokers, args.security)
    try:
        print(json.dumps({"bootstrap": cluster.bootstrap(), "dir": cluster.dir,
                          "brokers": [b.port for b in cluster.brokers]}), flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            try:
                if words[0] == "kill":
                    cluster.kill(int(words[1]))
                elif words[0] == "stop":
                    cluster.stop(int(words[1]))
                elif words[0] == "start":
                    cluster.start(int(words[1]))
                elif words[0] == "leader":
                    print(json.dumps(cluster.leader(words[1])), flush=True)
                    continue
                else:
                    raise ValueError("unknown command " + words[0])
                print("ok", flush=True)
            except Exception as e:  # the C++ test reads the line and fails with it
                print("error " + str(e).replace("\n", " | ")[:2000], flush=True)
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
