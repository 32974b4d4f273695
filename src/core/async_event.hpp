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
  /// caller's executor. A waiter that timed out stays registered (a no-op) until the next
  /// set(); it holds no I/O object, so it may outlive the caller's event loop.
  Task<bool> wait_for(Duration timeout) {
    if (is_set()) co_return true;  // the common case (an open gate, a live connection): no timer
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer(executor, timeout);
    auto wait = std::make_shared<Wait>();
    wait->timer = &timer;
    wait->executor = executor;
    Waiting waiting{wait};  // the timer is gone once this frame is: the waiter must know
    {
      std::lock_guard lock(mutex_);
      if (set_) co_return true;
      waiters_.push_back([wait] {
        std::lock_guard w(wait->mutex);
        if (!wait->timer) return;  // the wait ended (and its loop may be gone): nothing to wake
        boost::asio::post(wait->executor, [wait] {
          std::lock_guard again(wait->mutex);
          if (wait->timer) wait->timer->cancel();
        });
      });
    }
    co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
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
  /// One wait_for in progress: its timer while the wait lasts (null after), under `mutex`.
  struct Wait {
    std::mutex mutex;
    boost::asio::steady_timer* timer = nullptr;
    boost::asio::any_io_executor executor;
  };
  struct Waiting {
    std::shared_ptr<Wait> wait;
    ~Waiting() {
      std::lock_guard lock(wait->mutex);
      wait->timer = nullptr;
    }
  };

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool set_ = false;
  std::vector<std::function<void()>> waiters_;
};

}  // namespace herald
