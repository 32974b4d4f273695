#pragma once
// The presence and lease parts of transports that serve one node (local, LMDB): nothing to
// share, so in-process tables. Thread-safe.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>

#include "core/uuid.hpp"
#include "transport/leases.hpp"
#include "transport/local_presence.hpp"
#include "transport/node_info.hpp"
#include "transport/presence_registry.hpp"

namespace herald {

class LocalPresenceRegistry final : public PresenceRegistry {
 public:
  Task<Result<void>> announce(SubscriberInfo subscriber, bool online) override {
    if (closed_) co_return make_error_code(Errc::closed);
    list_.announce(std::move(subscriber), online);
    co_return Result<void>{};
  }
  Task<Result<std::vector<SubscriberInfo>>> list() override {
    if (closed_) co_return make_error_code(Errc::closed);
    co_return list_.list();
  }
  void watch(PresenceListener&) override {}  // one node: no other node can die
  std::string node_id() const override { return id_; }
  /// One node: this one, always live.
  Task<Result<std::vector<NodeInfo>>> nodes() override {
    if (closed_) co_return make_error_code(Errc::closed);
    NodeInfo self;
    {
      std::lock_guard lock(mutex_);
      self.address = address_;
    }
    self.id = id_;
    self.host = node_info::host_name();
    self.pid = ::getpid();
    self.started_at_ms = started_at_ms_;
    self.last_heartbeat_ms = node_info::unix_ms();
    self.subscribers = list_.size();
    co_return std::vector<NodeInfo>{std::move(self)};
  }
  void describe_node(std::string address) override {
    std::lock_guard lock(mutex_);
    address_ = std::move(address);
  }
  /// One node, whose records are its own memory: nothing else to clear.
  Task<Result<void>> reset() override {
    if (closed_) co_return make_error_code(Errc::closed);
    co_return Result<void>{};
  }
  Task<void> close() override {
    closed_ = true;
    co_return;
  }

 private:
  LocalPresence list_;
  std::atomic<bool> closed_{false};
  const std::string id_ = make_urn_uuid_v4().substr(9);
  const std::int64_t started_at_ms_ = node_info::unix_ms();
  std::mutex mutex_;
  std::string address_;  ///< guarded by mutex_
};

class LocalLeases final : public Leases {
 public:
  Task<Result<std::optional<Lease>>> acquire(std::string name, Duration ttl) override {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    auto& held = held_[name];
    if (held.until > now) co_return std::optional<Lease>{};
    held = {++token_, now + ttl};
    co_return std::optional<Lease>{Lease{std::move(name), held.token}};
  }
  Task<Result<bool>> renew(const Lease& lease, Duration ttl) override {
    std::lock_guard lock(mutex_);
    auto it = held_.find(lease.name);
    auto now = Clock::now();
    if (it == held_.end() || it->second.token != lease.token || it->second.until <= now) co_return false;
    it->second.until = now + ttl;
    co_return true;
  }
  Task<Result<void>> release(const Lease& lease) override {
    std::lock_guard lock(mutex_);
    if (auto it = held_.find(lease.name); it != held_.end() && it->second.token == lease.token) held_.erase(it);
    co_return Result<void>{};
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Held {
    std::uint64_t token = 0;
    Clock::time_point until{};
  };
  std::mutex mutex_;
  std::uint64_t token_ = 0;
  std::map<std::string, Held> held_;
};

}  // namespace herald
