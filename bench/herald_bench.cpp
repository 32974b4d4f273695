// herald-bench: an SSE load client for Herald and peers (nchan, a bare epoll writer).
//
// The parent process forks `--workers` processes; each opens its share of the
// `--subscribers` SSE connections (spread over source addresses 127.0.0.2, .3, ... so one
// destination port is not limited by ephemeral ports; one process holds at most ~19,900
// sockets here). Once every subscription is open the parent publishes updates whose data is
// "B<seq>:<send time ns>", so each worker measures publish-to-receive latency and counts,
// per subscriber, what it received: a lost update is an error, not a statistic.
//
// Scenarios:  idle     connect N subscribers, report connect rate and hub RSS per subscriber
//             fanout   N subscribers on one topic, --rate updates/s for --duration seconds
//             publish  keep-alive POSTs as fast as the hub takes them, for --duration seconds
//
// Publishing is closed-loop by default (each POST waits for its answer). With --open-loop,
// fanout writes its POSTs at the fixed --rate whatever the answers (pipelined, spread over
// --publishers connections), as real publishers do: a hub that falls behind gets the load
// anyway, and what it answers late or not at all is counted.
//
// With --pid, the hub's CPU time (user + system, /proc/PID/stat) over the publishing and
// delivery is reported per delivery (cpu_us_per_delivery) and per publish.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace {

struct Options {
  std::string scenario = "fanout";
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string sub_path = "/.well-known/mercure?topic=bench";  // nchan: /sub?id=bench
  std::string pub_path = "/.well-known/mercure";              // nchan: /pub?id=bench
  std::string pub_body = "topic=bench&data=";                 // nchan: raw body
  std::string token;                                          // publisher JWT (empty: none)
  int subscribers = 1000;
  int workers = 2;
  int sources = 4;
  double rate = 10;
  double duration = 5;
  int pid = 0;  // hub pid, for RSS
  std::string label = "herald";
  bool raw_body = false;  // POST the data as the body (nchan)
  int publishers = 1;     // concurrent keep-alive publishing connections
  int history = 10000;    // replay: updates stored before the measurement
  double hold = 0;        // idle: keep the subscriptions open this long after measuring
  int topics = 1;         // fanout: subscriber i listens to topic i % topics ("%T" in paths and body)
  std::vector<int> sub_ports;  // subscriber i connects to sub_ports[i % n] (cluster nodes); empty: --port
  bool open_loop = false;      // fanout: POSTs at --rate without waiting for answers (pipelined)
  std::string marker = "data: B";  // what precedes "<seq>:<send ns>" in a delivered event
  std::string pub_suffix;          // appended to the body after the data (JSON APIs)
  std::string content_type = "application/x-www-form-urlencoded";
  std::string auth_header;         // a whole "Name: value" header line for publishing (e.g. an API key)
};

/// `text` with every "%T" replaced by `topic`.
std::string with_topic(std::string text, long long topic) {
  for (auto pos = text.find("%T"); pos != std::string::npos; pos = text.find("%T", pos))
    text.replace(pos, 2, std::to_string(topic));
  return text;
}

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

/// CPU seconds (user + system) the process has used, from /proc/PID/stat; -1 if unreadable.
double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state; 14 and 15 are utime and stime
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      return (utime + stime) / double(sysconf(_SC_CLK_TCK));
    }
  }
  return -1;
}

int connect_to(const Options& o, int source_index, int port = 0) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (o.sources > 0) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl((127u << 24) | (2u + unsigned(source_index % o.sources)));
    bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port ? port : o.port));
  inet_pton(AF_INET, o.host.c_str(), &dst.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return false;
    off += std::size_t(n);
  }
  return true;
}

// ---- latency histogram: 1 µs buckets up to 1 ms, then 10 µs to 10 ms, then 1 ms to 10 s
struct Histogram {
  std::vector<std::uint64_t> buckets = std::vector<std::uint64_t>(1000 + 900 + 9990, 0);
  static std::size_t index(std::int64_t ns) {
    std::int64_t us = std::max<std::int64_t>(0, ns / 1000);
    if (us < 1000) return std::size_t(us);
    if (us < 10000) return 1000 + std::size_t((us - 1000) / 10);
    return std::min<std::size_t>(1900 + std::size_t((us - 10000) / 1000), 1000 + 900 + 9990 - 1);
  }
  static double value_us(std::size_t i) {
    if (i < 1000) return double(i);
    if (i < 1900) return 1000 + double(i - 1000) * 10;
    return 10000 + double(i - 1900) * 1000;
  }
  void add(std::int64_t ns) { ++buckets[index(ns)]; }
  std::uint64_t total() const {
    std::uint64_t t = 0;
    for (auto b : buckets) t += b;
    return t;
  }
  double percentile(double p) const {
    std::uint64_t t = total(), seen = 0;
    if (t == 0) return 0;
    auto target = std::uint64_t(std::ceil(p * double(t)));
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      seen += buckets[i];
      if (seen >= target) return value_us(i);
    }
    return value_us(buckets.size() - 1);
  }
};

struct Conn {
  int fd = -1;
  std::string buf;
  bool ready = false;
  std::uint64_t received = 0;
  std::int64_t last_seq = -1;
  std::uint64_t out_of_order = 0;
};

// ---- worker: holds subscriptions, reports through a pipe
void worker(const Options& o, int index, int count, int ready_fd, int go_fd, int report_fd) {
  int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<std::size_t>(count));
  int failed = 0;
  for (int i = 0; i < count; ++i) {
    long long global = index + static_cast<long long>(i) * o.workers;  // this subscriber's number
    std::string request = "GET " + with_topic(o.sub_path, global % o.topics) + " HTTP/1.1\r\nHost: " + o.host +
                          "\r\nAccept: text/event-stream\r\n\r\n";
    // Subscribers spread over --sub-ports (cluster nodes) when given; the publisher uses --port.
    int port = o.sub_ports.empty() ? o.port : o.sub_ports[std::size_t(global) % o.sub_ports.size()];
    int fd = connect_to(o, int(global), port);
    if (fd < 0 || !write_all(fd, request)) {
      ++failed;
      continue;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    conns[std::size_t(i)].fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = std::uint32_t(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  Histogram hist;
  int ready = 0, closed = 0;
  bool announced = false;
  std::int64_t published = 0, drain_deadline = 0, last_receive = 0;
  std::vector<epoll_event> events(1024);
  char buf[65536];
  for (;;) {
    if (!announced && ready + failed + closed >= count) {
      int r = ready;
      (void)!write(ready_fd, &r, sizeof r);
      announced = true;
    }
    int n = epoll_wait(ep, events.data(), int(events.size()), 50);
    std::int64_t t = now_ns();
    for (int e = 0; e < n; ++e) {
      Conn& c = conns[events[std::size_t(e)].data.u32];
      ssize_t got = read(c.fd, buf, sizeof buf);
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        c.fd = -1;
        ++closed;
        continue;
      }
      c.buf.append(buf, std::size_t(got));
      if (!c.ready) {
        auto end = c.buf.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        c.ready = true;
        ++ready;
        c.buf.erase(0, end + 4);
      }
      std::size_t start = 0;
      for (;;) {
        auto nl = c.buf.find('\n', start);
        if (nl == std::string::npos) break;
        std::string_view line(c.buf.data() + start, nl - start);
        auto pos = line.find(o.marker);
        if (pos != std::string_view::npos) {
          long long seq = 0, sent = 0;
          const char* p = line.data() + pos + o.marker.size();
          const char* end = line.data() + line.size();
          auto [after_seq, e1] = std::from_chars(p, end, seq);
          bool parsed = e1 == std::errc() && after_seq < end && *after_seq == ':' &&
                        std::from_chars(after_seq + 1, end, sent).ec == std::errc();
          if (parsed) {
            hist.add(t - sent);
            last_receive = t;
            ++c.received;
            if (seq <= c.last_seq) ++c.out_of_order;
            c.last_seq = seq;
          }
        }
        start = nl + 1;
      }
      c.buf.erase(0, start);
    }
    // The parent asks for the report by writing the number of updates it published to
    // go_fd; the report waits (30 s at most) until every open subscriber has all of its own.
    if (!drain_deadline) {
      pollfd pfd{go_fd, POLLIN, 0};
      if (poll(&pfd, 1, 0) > 0) {
        if (read(go_fd, &published, sizeof published) != sizeof published) published = 0;
        drain_deadline = now_ns() + std::int64_t(30e9);
      }
    }
    if (drain_deadline) {
      bool drained = true;
      for (int i = 0; i < count && drained; ++i) {
        const Conn& c = conns[std::size_t(i)];
        if (!c.ready || c.fd < 0) continue;
        long long topic = (index + static_cast<long long>(i) * o.workers) % o.topics;
        long long expected = published > topic ? (published - 1 - topic) / o.topics + 1 : 0;
        if (static_cast<long long>(c.received) < expected) drained = false;
      }
      if (drained || now_ns() > drain_deadline) break;
    }
  }
  nlohmann::json report;
  std::uint64_t min_recv = UINT64_MAX, max_recv = 0, ooo = 0;
  int alive = 0;
  for (auto& c : conns) {
    if (!c.ready) continue;
    min_recv = std::min(min_recv, c.received);
    max_recv = std::max(max_recv, c.received);
    ooo += c.out_of_order;
    if (c.fd >= 0) ++alive;
  }
  report["ready"] = ready;
  report["failed"] = failed;
  report["closed"] = closed;
  report["alive"] = alive;
  report["min_received"] = min_recv == UINT64_MAX ? 0 : min_recv;
  report["max_received"] = max_recv;
  report["out_of_order"] = ooo;
  report["buckets"] = hist.buckets;
  report["last_receive_ns"] = last_receive;
  std::string s = report.dump();
  std::uint32_t len = std::uint32_t(s.size());
  (void)!write(report_fd, &len, sizeof len);
  write_all(report_fd, s);
  _exit(0);
}

/// The request publishing update `seq` (its data carries the send time), with custom id `id` if any.
std::string publish_request(const Options& o, std::int64_t seq, const std::string& id = "") {
  std::string data = "B" + std::to_string(seq) + ":" + std::to_string(now_ns());
  long long topic = seq % o.topics;
  std::string body = o.raw_body ? data
                                : with_topic(o.pub_body, topic) + data + with_topic(o.pub_suffix, topic) +
                                      (id.empty() ? "" : "&id=" + id);
  std::string req = "POST " + with_topic(o.pub_path, topic) + " HTTP/1.1\r\nHost: " + o.host +
                    "\r\nContent-Type: " + o.content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n";
  if (!o.token.empty()) req += "Authorization: Bearer " + o.token + "\r\n";
  if (!o.auth_header.empty()) req += o.auth_header + "\r\n";
  return req + "\r\n" + body;
}

struct Publisher {
  const Options& o;
  int fd = -1;
  std::string inbuf;
  explicit Publisher(const Options& opts) : o(opts) { fd = connect_to(o, 0); }
  ~Publisher() {
    if (fd >= 0) close(fd);
  }
  /// Sends one update and waits for the answer. Returns the status code (0 on error).
  /// A connection the server closed (keep-alive limits, e.g. nginx's 1000 requests) is
  /// reopened once.
  int publish(std::int64_t seq, const std::string& id = "") {
    std::string req = publish_request(o, seq, id);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (attempt > 0 || fd < 0) reconnect();
      if (fd < 0 || !write_all(fd, req)) continue;
      int status = read_response();
      if (status > 0) return status;
    }
    return 0;
  }

 private:
  void reconnect() {
    if (fd >= 0) close(fd);
    inbuf.clear();
    fd = connect_to(o, 0);
  }
  int read_response() {
    char buf[4096];
    for (;;) {
      auto end = inbuf.find("\r\n\r\n");
      if (end != std::string::npos) {
        int status = std::atoi(inbuf.c_str() + 9);
        std::size_t length = 0;
        auto cl = inbuf.find("ontent-Length: ");
        if (cl != std::string::npos && cl < end) length = std::size_t(std::atol(inbuf.c_str() + cl + 15));
        if (inbuf.size() >= end + 4 + length) {
          bool closing = inbuf.find("Connection: close") < end;
          inbuf.erase(0, end + 4 + length);
          if (closing) reconnect();
          return status;
        }
      }
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return 0;
      inbuf.append(buf, std::size_t(n));
    }
  }
};

/// What an open-loop run published and how the hub answered.
struct OpenLoopResult {
  std::int64_t sent = 0;      ///< POSTs written
  std::int64_t answered = 0;  ///< 2xx answers
  std::int64_t errors = 0;    ///< other answers, and POSTs never answered (connection lost, 30 s)
  double elapsed = 0;         ///< seconds of publishing
  Histogram answer;           ///< POST written to answer read
};

/// Writes POSTs at `o.rate` for `o.duration` seconds over `o.publishers` keep-alive
/// connections (round robin), never waiting for answers; then waits (30 s at most) for the
/// answers still due.
OpenLoopResult publish_open_loop(const Options& o) {
  struct Pipe {
    int fd = -1;
    std::string out, in;
    std::vector<std::int64_t> pending;  // send times of the POSTs not answered yet, in order
    std::size_t pending_head = 0;
  };
  OpenLoopResult r;
  std::vector<Pipe> pipes(std::size_t(std::max(1, o.publishers)));
  for (auto& p : pipes) {
    p.fd = connect_to(o, 0);
    if (p.fd >= 0) fcntl(p.fd, F_SETFL, O_NONBLOCK);
  }
  auto start = now_ns();
  auto end = start + std::int64_t(o.duration * 1e9);
  double interval_ns = 1e9 / o.rate;
  auto outstanding = [&] {
    std::size_t n = 0;
    for (auto& p : pipes) n += p.fd >= 0 ? p.pending.size() - p.pending_head : 0;
    return n;
  };
  auto give_up = end + std::int64_t(30e9);
  std::vector<pollfd> pfds(pipes.size());
  char buf[65536];
  for (;;) {
    auto t = now_ns();
    // Every POST due before `end` is sent, late ones as soon as the loop gets to them.
    auto due = [&] { return start + std::int64_t(double(r.sent) * interval_ns); };
    while (due() < end && due() <= t) {
      Pipe& p = pipes[std::size_t(r.sent) % pipes.size()];
      if (p.fd >= 0) {
        p.out += publish_request(o, r.sent);
        p.pending.push_back(now_ns());
      } else {
        ++r.errors;
      }
      ++r.sent;
    }
    if (due() >= end && t >= end && (outstanding() == 0 || t >= give_up)) break;
    for (std::size_t i = 0; i < pipes.size(); ++i) {
      Pipe& p = pipes[i];
      if (p.fd >= 0 && !p.out.empty()) {
        ssize_t n = write(p.fd, p.out.data(), p.out.size());
        if (n > 0) p.out.erase(0, std::size_t(n));
      }
      pfds[i] = {p.fd, short(POLLIN | (p.out.empty() ? 0 : POLLOUT)), 0};
    }
    int wait_ms = due() < end ? int(std::clamp<std::int64_t>((due() - t) / 1000000, 0, 5)) : 5;
    if (poll(pfds.data(), pfds.size(), wait_ms) <= 0) continue;
    for (std::size_t i = 0; i < pipes.size(); ++i) {
      Pipe& p = pipes[i];
      if (p.fd < 0 || !(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(p.fd, buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        r.errors += std::int64_t(p.pending.size() - p.pending_head);  // lost with the connection
        close(p.fd);
        p.fd = -1;
        continue;
      }
      p.in.append(buf, std::size_t(n));
      std::int64_t now = now_ns();
      for (;;) {
        auto head_end = p.in.find("\r\n\r\n");
        if (head_end == std::string::npos) break;
        std::size_t length = 0;
        auto cl = p.in.find("ontent-Length: ");
        if (cl != std::string::npos && cl < head_end) length = std::size_t(std::atol(p.in.c_str() + cl + 15));
        if (p.in.size() < head_end + 4 + length) break;
        int status = std::atoi(p.in.c_str() + 9);
        p.in.erase(0, head_end + 4 + length);
        if (p.pending_head < p.pending.size()) r.answer.add(now - p.pending[p.pending_head++]);
        if (status >= 200 && status < 300) ++r.answered;
        else ++r.errors;
      }
    }
  }
  r.errors += std::int64_t(outstanding());  // never answered
  r.elapsed = double(std::min(now_ns(), end) - start) / 1e9;
  for (auto& p : pipes)
    if (p.fd >= 0) close(p.fd);
  return r;
}

/// Opens a subscription with Last-Event-ID `cursor`; returns (seconds to the first event,
/// seconds to `expect` events), or negative values on failure.
std::pair<double, double> timed_replay(const Options& o, const std::string& cursor, std::int64_t expect) {
  int fd = connect_to(o, 0);
  if (fd < 0) return {-1, -1};
  timeval tv{30, 0};  // never hang: a replay that stalls for 30 s is a failure
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string req = "GET " + o.sub_path + " HTTP/1.1\r\nHost: " + o.host + "\r\nLast-Event-ID: " + cursor + "\r\n\r\n";
  auto start = now_ns();
  if (!write_all(fd, req)) return {-1, -1};
  std::string buf;
  char chunk[1 << 16];
  std::int64_t got = 0;
  double first = -1;
  std::size_t scanned = 0;
  while (got < expect) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, std::size_t(n));
    for (;;) {
      auto pos = buf.find("data: B", scanned);
      if (pos == std::string::npos) break;
      if (first < 0) first = double(now_ns() - start) / 1e9;
      ++got;
      scanned = pos + 7;
    }
    if (scanned > (1 << 20)) {
      buf.erase(0, scanned);
      scanned = 0;
    }
  }
  double all = double(now_ns() - start) / 1e9;
  close(fd);
  return {first, got >= expect ? all : -1};
}

/// replay: stores --history updates (ids h0..hN-1), then times replays from the start,
/// middle and end of the history (time to first event) and the full replay throughput.
int run_replay(const Options& o) {
  nlohmann::json result;
  result["hub"] = o.label;
  result["scenario"] = "replay";
  result["history"] = o.history;
  std::atomic<std::int64_t> next{0}, errs{0};
  auto fill_start = now_ns();
  std::vector<std::thread> threads;
  for (int p = 0; p < std::max(1, o.publishers); ++p)
    threads.emplace_back([&] {
      Publisher pub(o);
      for (std::int64_t i = next.fetch_add(1); i < o.history; i = next.fetch_add(1))
        if (pub.publish(i, "h" + std::to_string(i)) != 200) errs.fetch_add(1);
    });
  for (auto& t : threads) t.join();
  result["fill_per_s"] = double(o.history) / (double(now_ns() - fill_start) / 1e9);
  // A last update after all the others, so every cursor below has something after it (the
  // concurrent publishers make the order of h0..hN-1 only approximate).
  if (Publisher(o).publish(o.history, "end") != 200) errs.fetch_add(1);
  result["publish_errors"] = errs.load();
  auto [f0, _a] = timed_replay(o, "h0", 1);
  auto [fm, _b] = timed_replay(o, "h" + std::to_string(o.history / 2), 1);
  auto [fe, _c] = timed_replay(o, "h" + std::to_string(o.history - 1), 1);
  result["first_event_ms_from_start"] = f0 * 1e3;
  result["first_event_ms_from_middle"] = fm * 1e3;
  result["first_event_ms_from_end"] = fe * 1e3;
  auto [ffirst, fall] = timed_replay(o, "earliest", o.history + 1);
  result["full_replay_s"] = fall;
  result["full_replay_per_s"] = fall > 0 ? double(o.history) / fall : 0;
  std::printf("%s\n", result.dump().c_str());
  bool ok = errs.load() == 0 && fall > 0 && f0 >= 0 && fm >= 0 && fe >= 0;
  if (!ok) std::fprintf(stderr, "herald-bench: FAILED (publish errors or incomplete replay)\n");
  return ok ? 0 : 3;
}

int run(const Options& o) {
  struct rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  long rss_before = o.pid ? rss_kib(o.pid) : -1;
  int ready_pipe[2], go_pipe[2];
  if (pipe(ready_pipe) || pipe(go_pipe)) return 1;
  std::vector<pid_t> children;
  // One report pipe per worker: reports are larger than PIPE_BUF, so writes from several
  // workers into one pipe could interleave.
  std::vector<int> report_fds;
  if (o.scenario == "replay") return run_replay(o);
  int subs = o.scenario == "publish" ? 0 : o.subscribers;
  auto t0 = now_ns();
  for (int w = 0; w < o.workers && subs > 0; ++w) {
    int count = subs / o.workers + (w < subs % o.workers ? 1 : 0);
    int report_pipe[2];
    if (pipe(report_pipe)) return 1;
    pid_t pid = fork();
    if (pid == 0) worker(o, w, count, ready_pipe[1], go_pipe[0], report_pipe[1]);
    close(report_pipe[1]);
    report_fds.push_back(report_pipe[0]);
    children.push_back(pid);
  }
  int total_ready = 0;
  for (std::size_t i = 0; i < children.size(); ++i) {
    int r = 0;
    if (read(ready_pipe[0], &r, sizeof r) != sizeof r) return 1;
    total_ready += r;
  }
  double connect_s = double(now_ns() - t0) / 1e9;
  // Let the hub settle (lazy allocations) before reading its memory.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long rss_after = o.pid ? rss_kib(o.pid) : -1;
  if (o.scenario == "idle" && o.hold > 0) {
    std::fprintf(stderr, "herald-bench: %d subscriptions open, holding for %.0f s\n", total_ready, o.hold);
    std::this_thread::sleep_for(std::chrono::duration<double>(o.hold));
  }

  nlohmann::json result;
  result["hub"] = o.label;
  result["scenario"] = o.scenario;
  result["subscribers"] = total_ready;
  result["connect_per_s"] = subs ? double(total_ready) / connect_s : 0;
  if (o.pid) {
    result["rss_kib_before"] = rss_before;
    result["rss_kib_after"] = rss_after;
    if (total_ready > 0) result["rss_bytes_per_subscriber"] = double(rss_after - rss_before) * 1024 / total_ready;
  }

  std::int64_t published = 0, errors = 0, pub_start = 0, last_receive = 0;
  double pub_elapsed = 0, cpu_start = -1;
  if (o.scenario == "publish" && o.publishers > 1) {
    std::atomic<std::int64_t> count{0}, errs{0};
    auto start = now_ns();
    auto end = start + std::int64_t(o.duration * 1e9);
    std::vector<std::thread> threads;
    for (int p = 0; p < o.publishers; ++p)
      threads.emplace_back([&] {
        Publisher pub(o);
        while (now_ns() < end) {
          int st = pub.publish(count.fetch_add(1));
          if (st < 200 || st >= 300) errs.fetch_add(1);
        }
      });
    for (auto& t : threads) t.join();
    pub_elapsed = double(now_ns() - start) / 1e9;
    published = count.load();
    errors = errs.load();
    result["publishers"] = o.publishers;
    result["published"] = published;
    result["publish_errors"] = errors;
    result["publish_per_s"] = double(published) / pub_elapsed;
  } else if (o.scenario == "fanout" && o.open_loop) {
    cpu_start = o.pid ? cpu_seconds(o.pid) : -1;
    pub_start = now_ns();
    auto r = publish_open_loop(o);
    pub_elapsed = r.elapsed;
    published = r.sent;
    errors = r.errors;
    result["open_loop"] = true;
    result["publishers"] = o.publishers;
    result["published"] = published;
    result["publish_answered"] = r.answered;
    result["publish_errors"] = errors;
    result["publish_per_s"] = double(published) / pub_elapsed;
    result["answer_us_p50"] = r.answer.percentile(0.50);
    result["answer_us_p99"] = r.answer.percentile(0.99);
  } else if (o.scenario == "fanout" || o.scenario == "publish") {
    cpu_start = o.pid ? cpu_seconds(o.pid) : -1;
    Publisher pub(o);
    auto start = now_ns();
    pub_start = start;
    auto end = start + std::int64_t(o.duration * 1e9);
    double interval_ns = o.scenario == "fanout" ? 1e9 / o.rate : 0;
    while (now_ns() < end) {
      if (interval_ns > 0) {
        auto due = start + std::int64_t(double(published) * interval_ns);
        while (now_ns() < due) std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      int status = pub.publish(published);
      if (status < 200 || status >= 300) ++errors;
      ++published;
    }
    pub_elapsed = double(now_ns() - start) / 1e9;
    result["published"] = published;
    result["publish_errors"] = errors;
    result["publish_per_s"] = double(published) / pub_elapsed;
  }

  Histogram hist;
  std::uint64_t min_received = UINT64_MAX, out_of_order = 0;
  int closed = 0;
  // Each worker drains (bounded) until its subscribers have every update published to them.
  std::int64_t sent = o.scenario == "fanout" ? published : 0;
  for (std::size_t i = 0; i < children.size(); ++i) (void)!write(go_pipe[1], &sent, sizeof sent);
  for (std::size_t i = 0; i < children.size(); ++i) {
    int report_fd = report_fds[i];
    std::uint32_t len = 0;
    if (read(report_fd, &len, sizeof len) != sizeof len) return 1;
    std::string s(len, '\0');
    std::size_t off = 0;
    while (off < len) {
      ssize_t n = read(report_fd, s.data() + off, len - off);
      if (n <= 0) return 1;
      off += std::size_t(n);
    }
    auto r = nlohmann::json::parse(s);
    auto b = r["buckets"].get<std::vector<std::uint64_t>>();
    for (std::size_t k = 0; k < b.size(); ++k) hist.buckets[k] += b[k];
    min_received = std::min<std::uint64_t>(min_received, r["min_received"].get<std::uint64_t>());
    out_of_order += r["out_of_order"].get<std::uint64_t>();
    last_receive = std::max(last_receive, r.value("last_receive_ns", std::int64_t(0)));
    closed += r["closed"].get<int>();
  }
  for (auto pid : children) waitpid(pid, nullptr, 0);
  double cpu_used = cpu_start >= 0 ? cpu_seconds(o.pid) - cpu_start : -1;
  if (cpu_used >= 0) {
    result["server_cpu_s"] = cpu_used;
    if (published > 0) result["cpu_us_per_publish"] = cpu_used * 1e6 / double(published);
  }
  if (o.scenario == "fanout") {
    auto deliveries = hist.total();
    result["deliveries"] = deliveries;
    // Over the time from the first publish to the last delivery: a hub that falls behind
    // delivers late (the report waits for every update), and that time counts.
    double span = std::max(pub_elapsed, double(last_receive - pub_start) / 1e9);
    result["deliveries_per_s"] = double(deliveries) / span;
    result["delivery_span_s"] = span;
    result["latency_us_p50"] = hist.percentile(0.50);
    result["latency_us_p99"] = hist.percentile(0.99);
    result["latency_us_p999"] = hist.percentile(0.999);
    result["min_received_per_subscriber"] = min_received;
    // Subscriber i gets the updates of topic i % topics; update s goes to topic s % topics.
    std::int64_t expected = 0;
    for (long long i = 0; i < total_ready; ++i) {
      long long t = i % o.topics;
      expected += published > t ? (published - 1 - t) / o.topics + 1 : 0;
    }
    result["topics"] = o.topics;
    result["lost"] = expected - std::int64_t(deliveries);
    result["out_of_order"] = out_of_order;
    result["closed_by_hub"] = closed;
    if (cpu_used >= 0 && deliveries > 0) result["cpu_us_per_delivery"] = cpu_used * 1e6 / double(deliveries);
  }
  std::printf("%s\n", result.dump().c_str());
  bool ok = total_ready == subs && errors == 0 &&
            (o.scenario != "fanout" || (result["lost"] == 0 && out_of_order == 0));
  if (!ok) std::fprintf(stderr, "herald-bench: FAILED (lost updates, errors or missing subscribers)\n");
  return ok ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"herald-bench: SSE load client (subscribers, fan-out latency, publish rate)"};
  app.add_option("scenario", o.scenario, "idle | fanout | publish | replay")->required();
  app.add_option("--publishers", o.publishers, "publish/replay/open-loop fanout: concurrent publishing connections");
  app.add_flag("--open-loop", o.open_loop, "fanout: POST at --rate without waiting for answers (pipelined)");
  app.add_option("--marker", o.marker, "text before \"<seq>:<ns>\" in a delivered event (default \"data: B\")");
  app.add_option("--pub-suffix", o.pub_suffix, "text after the data in the publish body (JSON APIs)");
  app.add_option("--content-type", o.content_type, "Content-Type of the publish body");
  app.add_option("--auth-header", o.auth_header, "a header line added to publish requests (\"Name: value\")");
  app.add_option("--history", o.history, "replay: updates stored before measuring");
  app.add_option("--hold", o.hold, "idle: seconds to keep the subscriptions open after measuring");
  app.add_option("--topics", o.topics, "fanout: subscriber i on topic i % N (\"%T\" in --sub-path/--pub-path/--pub-body)")
      ->check(CLI::PositiveNumber);
  app.add_option("--host", o.host, "hub address");
  app.add_option("--port", o.port, "hub port")->required();
  app.add_option("--sub-ports", o.sub_ports, "fanout/idle: subscribers spread over these ports (cluster nodes)")
      ->delimiter(',');
  app.add_option("--sub-path", o.sub_path, "subscribe path and query");
  app.add_option("--pub-path", o.pub_path, "publish path");
  app.add_option("--pub-body", o.pub_body, "form prefix before the data");
  app.add_flag("--raw-body", o.raw_body, "POST the data itself as the body (nchan)");
  app.add_option("--token", o.token, "publisher JWT");
  app.add_option("--subscribers,-n", o.subscribers, "subscriptions to open");
  app.add_option("--workers,-w", o.workers, "worker processes holding subscriptions");
  app.add_option("--sources", o.sources, "source addresses 127.0.0.2 ... (0: let the kernel pick)");
  app.add_option("--rate", o.rate, "fanout: updates per second");
  app.add_option("--duration", o.duration, "seconds of publishing");
  app.add_option("--pid", o.pid, "hub pid, to read its RSS");
  app.add_option("--label", o.label, "name of the hub in the report");
  CLI11_PARSE(app, argc, argv);
  if (o.scenario != "idle" && o.scenario != "fanout" && o.scenario != "publish" && o.scenario != "replay") {
    std::fprintf(stderr, "herald-bench: unknown scenario %s\n", o.scenario.c_str());
    return 2;
  }
  return run(o);
}
