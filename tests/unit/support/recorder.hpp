#pragma once
// A hub stand-in for transport tests: records what the backend delivers, with bounded waits.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "hub/backend.hpp"

namespace herald::test {

class Recorder final : public Listener {
 public:
  void on_update(Stored stored) noexcept override {
    std::lock_guard lock(mutex);
    seen.push_back(std::move(stored));
    changed.notify_all();
  }
  void on_error(boost::system::error_code) noexcept override {
    std::lock_guard lock(mutex);
    ++errors;
    changed.notify_all();
  }
  void on_gap() noexcept override {
    std::lock_guard lock(mutex);
    ++gaps;
    changed.notify_all();
  }
  void on_subscribers_lost(std::vector<SubscriberInfo> subscribers) noexcept override {
    std::lock_guard lock(mutex);
    for (auto& s : subscribers) lost.push_back(s.id);
    changed.notify_all();
  }
  /// Waits (`seconds` at most) for `done` to hold, under the lock.
  template <class Pred>
  bool wait(Pred done, int seconds = 15) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(seconds), done);
  }
  /// Waits until `n` updates were seen; returns a copy of what was.
  std::vector<Stored> wait_seen(std::size_t n, int seconds = 15) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, std::chrono::seconds(seconds), [&] { return seen.size() >= n; });
    return seen;
  }
  std::vector<Stored> snapshot() {
    std::lock_guard lock(mutex);
    return seen;
  }

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Stored> seen;
  std::vector<std::string> lost;
  int gaps = 0;
  int errors = 0;
};

}  // namespace herald::test
