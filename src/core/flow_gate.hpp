#pragma once
// Flow control between a log's consumer and the hub's shards: the shards count what waits
// in their inboxes, and the consumer awaits the gate before it takes more from the engine.
// The gate closes at `high` waiting records and opens again at `low` (hysteresis, so a
// consumer resumes with room for a whole batch). Thread-safe.
#include <cstddef>
#include <mutex>

#include "core/async_event.hpp"

namespace herald {

class FlowGate {
 public:
  FlowGate(std::size_t high, std::size_t low) : high_(high), low_(low) { open_.set(); }

  /// Records were queued (any thread).
  void add(std::size_t n) {
    std::lock_guard lock(mutex_);
    waiting_ += n;
    if (waiting_ >= high_ && open_.is_set()) {
      open_.reset();
      ++closings_;
    }
  }
  /// Records were handled (any thread). Opens the gate at `low`.
  void remove(std::size_t n) {
    std::lock_guard lock(mutex_);
    waiting_ -= std::min(n, waiting_);
    if (waiting_ <= low_ && !open_.is_set()) open_.set();
  }
  /// Completes when the gate is open (at once when it is), on the caller's executor.
  Task<void> wait() { return open_.wait(); }
  /// Completes when the gate is open or after `timeout`: whether it is open.
  Task<bool> wait_for(Duration timeout) { return open_.wait_for(timeout); }
  /// Whether a consumer may take more now.
  bool is_open() const { return open_.is_set(); }
  /// Opens the gate for good (shutdown: nobody may stay paused).
  void release_all() {
    std::lock_guard lock(mutex_);
    high_ = static_cast<std::size_t>(-1);
    open_.set();
  }

  std::size_t waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
  }
  /// How often the gate closed (a consumer was paused): for tests and metrics.
  std::size_t closings() const {
    std::lock_guard lock(mutex_);
    return closings_;
  }

 private:
  mutable std::mutex mutex_;
  std::size_t high_, low_;
  std::size_t waiting_ = 0;
  std::size_t closings_ = 0;
  AsyncEvent open_;
};

}  // namespace herald
