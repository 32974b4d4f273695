#pragma once
// Accepts connections: one exclusively bound listening socket, accepted on by every shard
// through its own duplicate descriptor, so each connection lives on one shard's thread.
#include <memory>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "hub/health.hpp"
#include "hub/hub.hpp"

namespace herald {

class Server {
 public:
  /// The main address (`config.addr`); `health`, when given, feeds the debug UI's cluster page.
  Server(Hub& hub, Authenticator& auth, const Config& config, Health* health = nullptr);
  /// The admin address (`addr`): health, readiness, cluster status (http/admin_handler.cpp).
  Server(Hub& hub, Authenticator& auth, const Config& config, std::string addr, Health& admin);
  ~Server();

  /// Binds the address (`config.addr`, or the admin one) on every shard and starts accepting. Returns the bound port
  /// (useful with port 0). Throws std::runtime_error when the address cannot be bound.
  unsigned short listen();

  /// Checks `addr` (host:port) without binding it: a bad port or a host that does not
  /// resolve throws ConfigError. Called before anything is opened (the store, sockets).
  static void validate_addr(const std::string& addr, const std::string& what = "addr");

  /// Stops accepting (posted to every shard). Existing connections are closed by Hub::stop.
  void stop_accepting();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Fetches a document from a file://, http:// or https:// URL (blocking; call it off the
/// shards). https verifies the server certificate against the system store. `post`: an
/// empty POST instead of a GET (http(s) only).
Result<std::string> fetch_document(const std::string& url, std::string* why, bool post = false);

}  // namespace herald
