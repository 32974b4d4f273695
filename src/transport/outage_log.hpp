#pragma once
// Logs an engine outage once per role (not once per retry) and its end, for the cluster
// transports' connections ("command", "bus", "publish"...); counts the reconnections
// (herald_engine_reconnects_total). Any thread.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "core/metrics.hpp"

namespace herald {

class OutageLog {
 public:
  /// True the first time `role` goes down (the caller logs it); false while it stays down.
  bool down(const std::string& role) {
    std::lock_guard lock(mutex_);
    if (std::find(down_.begin(), down_.end(), role) != down_.end()) return false;
    down_.push_back(role);
    return true;
  }
  /// True when `role` was down (the caller logs that it is back).
  bool up(const std::string& role) {
    std::lock_guard lock(mutex_);
    auto it = std::find(down_.begin(), down_.end(), role);
    if (it == down_.end()) return false;
    down_.erase(it);
    metrics().engine_reconnects.inc();
    return true;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> down_;
};

}  // namespace herald
