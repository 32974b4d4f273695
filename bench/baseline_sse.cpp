// baseline-sse: the machine's ceiling for SSE fan-out. A single-threaded epoll server with
// no protocol logic: GET (any path) registers an SSE stream; POST (any path) writes
// "data: <body>\n\n" to every stream and answers 200. No matching, no auth, no queues.
// herald-bench measures it with --raw-body, exactly like the hubs.
//
// Two modes: `baseline-sse PORT` writes each frame to each stream at once (one write per
// delivery); `baseline-sse PORT coalesce` appends the frames of the POSTs read in one
// epoll round to each stream's buffer and writes each buffer once after the round (one
// write per stream per round, however many frames).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {
struct Client {
  std::string in;
  bool streaming = false;
};

struct Stream {
  int fd;
  std::string pending;  // coalesce mode: frames of this round not written yet
};

bool send_all(int fd, const char* data, std::size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // a slow or gone stream is dropped: the ceiling, not a hub
    data += n;
    len -= std::size_t(n);
  }
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  int port = argc > 1 ? std::atoi(argv[1]) : 8090;
  bool coalesce = argc > 2 && std::string(argv[2]) == "coalesce";
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 4096) != 0) {
    std::perror("baseline-sse: listen");
    return 1;
  }
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::unordered_map<int, Client> clients;
  std::vector<Stream> streams;
  bool round_has_frames = false;
  std::vector<epoll_event> events(1024);
  char buf[65536];
  std::fprintf(stderr, "baseline-sse listening port=%d mode=%s\n", port, coalesce ? "coalesce" : "direct");
  for (;;) {
    int n = epoll_wait(ep, events.data(), int(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[std::size_t(i)].data.fd;
      if (fd == lfd) {
        for (;;) {
          int c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          clients[c];
        }
        continue;
      }
      ssize_t got = read(fd, buf, sizeof buf);
      auto it = clients.find(fd);
      if (got <= 0 || it == clients.end()) {
        if (got < 0 && errno == EAGAIN) continue;
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        clients.erase(fd);
        for (auto& s : streams)
          if (s.fd == fd) s.fd = -1;
        continue;
      }
      Client& c = it->second;
      c.in.append(buf, std::size_t(got));
      for (;;) {
        auto end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) break;
        if (c.in.rfind("GET", 0) == 0) {
          static const char kHead[] =
              "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n:\n";
          send_all(fd, kHead, sizeof kHead - 1);
          c.streaming = true;
          streams.push_back({fd, {}});
          c.in.clear();
          break;
        }
        std::size_t length = 0;
        auto cl = c.in.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) length = std::strtoul(c.in.c_str() + cl + 16, nullptr, 10);
        if (c.in.size() < end + 4 + length) break;
        std::string frame = "data: " + c.in.substr(end + 4, length) + "\n\n";
        c.in.erase(0, end + 4 + length);
        if (coalesce) {
          for (auto& s : streams)
            if (s.fd >= 0) s.pending += frame;
          round_has_frames = true;
        } else {
          for (auto& s : streams)
            if (s.fd >= 0 && !send_all(s.fd, frame.data(), frame.size())) shutdown(s.fd, SHUT_RDWR);
        }
        static const char kOk[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        send_all(fd, kOk, sizeof kOk - 1);
      }
      if (streams.size() > 2 * clients.size() + 64) {
        std::vector<Stream> live;
        for (auto& s : streams)
          if (s.fd >= 0) live.push_back(std::move(s));
        streams.swap(live);
      }
    }
    if (round_has_frames) {
      for (auto& s : streams) {
        if (s.fd >= 0 && !s.pending.empty() && !send_all(s.fd, s.pending.data(), s.pending.size()))
          shutdown(s.fd, SHUT_RDWR);
        s.pending.clear();
      }
      round_has_frames = false;
    }
  }
}
