#pragma once
// Presence for transports that serve one node (local, LMDB): connected subscribers in
// connection order. Thread-safe.
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "transport/presence_registry.hpp"

namespace herald {

class LocalPresence {
 public:
  void announce(SubscriberInfo subscriber, bool online) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(subscriber.id);
    if (it != index_.end()) {
      list_.erase(it->second);
      index_.erase(it);
    }
    if (online) {
      std::string id = subscriber.id;
      list_.push_back(std::move(subscriber));
      index_.emplace(std::move(id), std::prev(list_.end()));
    }
  }

  void clear() {
    std::lock_guard lock(mutex_);
    list_.clear();
    index_.clear();
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return list_.size();
  }

  std::vector<SubscriberInfo> list() const {
    std::lock_guard lock(mutex_);
    return {list_.begin(), list_.end()};
  }

 private:
  mutable std::mutex mutex_;
  std::list<SubscriberInfo> list_;
  std::unordered_map<std::string, std::list<SubscriberInfo>::iterator> index_;
};

}  // namespace herald
