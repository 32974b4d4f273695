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
    self.delivered = report_.delivered;
    self.draining = report_.draining;
    co_return std::vector<NodeInfo>{std::move(self)};
  }
  void describe_node(std::string address) override {
    std::lock_guard lock(mutex_);
    address_ = std::move(address);
  }
  void report(std::uint64_t delivered, bool draining) override { report_.set(delivered, draining); }
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
  node_info::SelfReport report_;
};

/// Leases kept in this process: one node, or nodes of one process sharing one table (tests).
class LocalLeases final : public Leases {
 public:
  /// `owner`: the node id holder() names for this table's own acquire().
  explicit LocalLeases(std::string owner = {}) : owner_(std::move(owner)) {}
  Task<Result<std::optional<Lease>>> acquire(std::string name, Duration ttl) override {
    co_return acquire_for(owner_, std::move(name), ttl);
  }
  /// acquire() on behalf of `owner` (a node sharing this table).
  Result<std::optional<Lease>> acquire_for(const std::string& owner, std::string name, Duration ttl) {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    auto& held = held_[name];
    if (held.until > now) return std::optional<Lease>{};
    held = {++token_, now + ttl, owner};
    return std::optional<Lease>{Lease{std::move(name), held.token}};
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
  Task<Result<std::optional<std::string>>> holder(std::string name) override {
    std::lock_guard lock(mutex_);
    auto it = held_.find(name);
    if (it == held_.end() || it->second.until <= Clock::now()) co_return std::optional<std::string>{};
    co_return std::optional<std::string>{it->second.owner};
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Held {
    std::uint64_t token = 0;
    Clock::time_point until{};
    std::string owner;
  };
  const std::string owner_;
  std::mutex mutex_;
  std::uint64_t token_ = 0;
  std::map<std::string, Held> held_;
};

}  // namespace herald
