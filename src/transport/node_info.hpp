#pragma once
// What a node says about itself in the registry: host name, pid, Unix time.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace herald::node_info {

inline std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

inline std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// What a node says of its progress in its heartbeats (PresenceRegistry::report). Any thread.
struct SelfReport {
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<bool> draining{false};
  void set(std::uint64_t d, bool x) {
    delivered = d;
    draining = x;
  }
};

}  // namespace herald::node_info
