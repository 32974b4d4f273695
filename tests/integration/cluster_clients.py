"""What the cluster tests share: a subscriber that fails over like EventSource, and a publisher
that remembers what was acknowledged."""
import threading
import time

from harness import SseClient

TOPIC = "https://example.com/orders/1"


class Follower(threading.Thread):
    """A subscriber that behaves like EventSource: when its connection ends it reconnects, to
    the next live node, with the Last-Event-ID of the last event it received."""

    def __init__(self, hubs, first):
        super().__init__(daemon=True)
        self.hubs, self.index = hubs, first
        self.ids = []
        self.reconnects = 0
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.changed = threading.Condition()

    def run(self):
        while not self.stopping.is_set():
            hub = self.hubs[self.index % len(self.hubs)]
            if not hub.alive():
                self.index += 1
                continue
            headers = {"Last-Event-ID": self.ids[-1]} if self.ids else {}
            try:
                client = SseClient(hub, [TOPIC], headers=headers).open(5)
                if client.status != 200:
                    raise OSError("status %s" % client.status)
                self.connected.set()
                while not self.stopping.is_set():
                    try:
                        event = client.next_event(0.2)
                    except TimeoutError:
                        continue
                    with self.changed:
                        self.ids.append(event["id"])
                        self.changed.notify_all()
            except (EOFError, OSError, TimeoutError, ValueError):
                self.index += 1
                self.reconnects += 1
                time.sleep(0.05)  # EventSource's reconnection delay (retry), shortened

    def wait_for(self, ids, timeout=30):
        deadline = time.monotonic() + timeout
        with self.changed:
            while not set(ids) <= set(self.ids):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True

    def stop(self):
        self.stopping.set()
        self.join(10)


class Publisher(threading.Thread):
    """Publishes numbered updates to one node until stopped; remembers which were acknowledged."""

    def __init__(self, hub, name, count, pause=0.0):
        super().__init__(daemon=True)
        self.hub, self.name, self.count, self.pause = hub, name, count, pause
        self.acknowledged, self.attempted = [], []

    def run(self):
        for i in range(self.count):
            event_id = "%s-%d" % (self.name, i)
            self.attempted.append(event_id)
            try:
                status, body = self.hub.publish({"topic": TOPIC, "data": event_id, "id": event_id})
                if status == 200:
                    self.acknowledged.append(body)
            except OSError:
                pass
            if self.pause:
                time.sleep(self.pause)  # pacing, so the failure happens mid-stream


class RotatingPublisher(threading.Thread):
    """Publishes numbered updates until stopped, each to the next node that answers (a load
    balancer's round robin that skips a node it cannot reach); remembers what was
    acknowledged and, in order, what was attempted."""

    def __init__(self, hubs, name, pause=0.005):
        super().__init__(daemon=True)
        self.hubs, self.name, self.pause = hubs, name, pause
        self.acknowledged, self.attempted = [], []
        self.stopping = threading.Event()

    def run(self):
        i = 0
        while not self.stopping.is_set():
            hub = self.hubs[i % len(self.hubs)]
            event_id = "%s-%d" % (self.name, i)
            i += 1
            if not hub.alive() or hub.port is None:
                time.sleep(self.pause)
                continue
            self.attempted.append(event_id)
            try:
                status, body = hub.publish({"topic": TOPIC, "data": event_id, "id": event_id})
                if status == 200:
                    self.acknowledged.append(body)
            except OSError:
                pass
            time.sleep(self.pause)  # pacing: the restarts happen mid-stream

    def stop(self):
        self.stopping.set()
        self.join(30)
