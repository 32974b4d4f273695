#pragma once
// A flag coroutines can wait for, from any thread: set() wakes every waiter, each on its own
// executor. Used for "the connection is up", "the gate is open", "the loop has ended".
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/duration.hpp"
#include "core/task.hpp"

namespace herald {

class AsyncEvent {
 public:
  /// Any thread. Wakes every waiter.
  void set() {
    std::vector<std::function<void()>> wake;
    {
      std::lock_guard lock(mutex_);
      set_ = true;
      wake.swap(waiters_);
    }
    changed_.notify_all();
    for (auto& w : wake) w();
  }
  /// Any thread.
  void reset() {
    std::lock_guard lock(mutex_);
    set_ = false;
  }
  bool is_set() const {
    std::lock_guard lock(mutex_);
    return set_;
  }
  /// Completes when set, or after `timeout`; returns whether it is set. Resumes on the
  /// caller's executor. A waiter that timed out stays registered (a no-op) until the next set().
  Task<bool> wait_for(Duration timeout) {
    if (is_set()) co_return true;  // the common case (an open gate, a live connection): no timer
    auto executor = co_await boost::asio::this_coro::executor;
    auto timer = std::make_shared<boost::asio::steady_timer>(executor, timeout);
    {
      std::lock_guard lock(mutex_);
      if (set_) co_return true;
      waiters_.push_back([timer] { boost::asio::post(timer->get_executor(), [timer] { timer->cancel(); }); });
    }
    co_await timer->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return is_set();
  }
  /// Blocks the calling thread until set or `timeout` (destructors; never on an event loop
  /// that must run for the event to be set).
  bool wait_blocking(Duration timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return set_; });
  }
  /// Completes when set.
  Task<void> wait() {
    for (;;) {
      // (g++ 12 mis-compiles a co_await inside a loop condition: keep it a statement)
      bool set = co_await wait_for(std::chrono::hours(1));
      if (set) co_return;
    }
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool set_ = false;
  std::vector<std::function<void()>> waiters_;
};

}  // namespace herald
