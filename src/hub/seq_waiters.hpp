#pragma once
// "This node's consumer has passed seq N": the log-carried parts (log_presence, log_leases)
// append a record, then wait until their own consumer reads it back before they answer.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/async_event.hpp"
#include "model/update.hpp"

namespace herald {

/// Any thread. advance() comes from the log's thread, in seq order; wait() from coroutines.
class SeqWaiters {
 public:
  /// The consumer has read every record up to `seq`: wakes the waiters of those.
  void advance(Seq seq) {
    std::vector<std::shared_ptr<AsyncEvent>> wake;
    {
      std::lock_guard lock(mutex_);
      consumed_ = std::max(consumed_, seq);
      auto end = waiters_.upper_bound(consumed_);
      for (auto it = waiters_.begin(); it != end; ++it) wake.push_back(it->second);
      waiters_.erase(waiters_.begin(), end);
    }
    for (auto& w : wake) w->set();
  }
  /// Completes when advance() has passed `seq`, or after `timeout`; true when it has.
  Task<bool> wait(Seq seq, Duration timeout) {
    auto done = std::make_shared<AsyncEvent>();
    {
      std::lock_guard lock(mutex_);
      if (consumed_ >= seq) co_return true;
      waiters_.emplace(seq, done);
    }
    co_return co_await done->wait_for(timeout);
  }

 private:
  std::mutex mutex_;
  Seq consumed_ = 0;
  std::multimap<Seq, std::shared_ptr<AsyncEvent>> waiters_;
};

}  // namespace herald
