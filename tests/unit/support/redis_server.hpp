#pragma once
// A throwaway redis-server for tests: its own port on the loopback interface and its own
// temp directory, stopped (SIGTERM, then SIGKILL) when the object goes. A missing
// redis-server binary is a test failure, never a skip.
#include <string>

#include <sys/types.h>

namespace herald::test {

class RedisServer {
 public:
  /// Starts redis-server and waits (bounded) until it answers PING. `extra` are more
  /// command-line arguments (e.g. "--requirepass secret"). Throws on failure.
  explicit RedisServer(std::string extra = "");
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  /// A port nothing listens on now (for a second listener, e.g. --tls-port).
  static int free_port();
  std::string url(const std::string& stream = "herald-test") const;
  /// Sends one command over a fresh connection and returns the raw RESP reply.
  std::string raw_command(const std::string& resp) const;
  /// Stops the server (SIGKILL when `hard`); start() brings it back on the same port and dir.
  void stop(bool hard = false);
  void start();

 private:
  std::string dir_;
  std::string extra_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace herald::test
