#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <random>
#include <thread>
#include <vector>

namespace herald::test {
namespace {

}  // namespace

/// A port below the kernel's ephemeral range (32768 and up by default), so that while a test
/// has its server killed, no outgoing connection can be given the port as its source port and
/// keep the server from binding it again when it restarts.
int RedisServer::free_port() {
  static std::mt19937 random(std::random_device{}());
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int port = std::uniform_int_distribution<int>(20000, 32000)(random);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return port;
  }
  throw std::runtime_error("no free port");
}

namespace {

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

RedisServer::RedisServer(std::string extra) : extra_(std::move(extra)) {
  char tmpl[] = "/tmp/herald-redis-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  port_ = free_port();
  start();
}

RedisServer::~RedisServer() {
  stop(false);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::url(const std::string& stream) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + stream;
}

void RedisServer::start() {
  std::vector<std::string> args{"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                "--dir", dir_, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                                "--daemonize", "no", "--loglevel", "warning", "--logfile",
                                dir_ + "/redis.log"};
  std::istringstream more(extra_);
  for (std::string word; more >> word;) args.push_back(word);
  pid_ = ::fork();
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("redis-server", argv.data());
    std::_Exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis-server exited at start (is the redis-server package installed?)");
    }
    try {
      if (raw_command("*1\r\n$4\r\nPING\r\n").starts_with("+PONG") ||
          raw_command("*1\r\n$4\r\nPING\r\n").starts_with("-NOAUTH"))
        return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a process we just started
  }
  throw std::runtime_error("redis-server did not answer within 10 s");
}

void RedisServer::stop(bool hard) {
  if (pid_ <= 0) return;
  ::kill(pid_, hard ? SIGKILL : SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string RedisServer::raw_command(const std::string& resp) const {
  int fd = connect_to(port_);
  if (fd < 0) throw std::runtime_error("cannot connect to redis-server");
  std::string out;
  if (::write(fd, resp.data(), resp.size()) == static_cast<ssize_t>(resp.size())) {
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) out.assign(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace herald::test
