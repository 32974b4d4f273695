#pragma once
// Bounded-rate logging for failures that can repeat at request rate (a full store, a
// backend down): at most one line per interval per throttle, and the line says how many
// were left out since the previous one. An attacker who triggers a failure in a loop then
// costs the log a line per interval, not a line per request.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace herald {

class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::milliseconds interval = std::chrono::seconds(10)) : interval_(interval) {}

  /// True when this occurrence may be logged; `suppressed` is then set to the number of
  /// occurrences left out since the last line. Thread-safe, lock-free, never blocks.
  bool allow(std::uint64_t& suppressed) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto next = next_.load(std::memory_order_relaxed);
    if (now < next || !next_.compare_exchange_strong(next, now + std::chrono::steady_clock::duration(interval_).count(),
                                                     std::memory_order_relaxed)) {
      skipped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    suppressed = skipped_.exchange(0, std::memory_order_relaxed);
    return true;
  }

 private:
  const std::chrono::milliseconds interval_;
  std::atomic<std::int64_t> next_{0};
  std::atomic<std::uint64_t> skipped_{0};
};

}  // namespace herald
