#pragma once
// A log several in-process nodes share, for the conformance kit's "generic" engine: a local
// log that declares it cannot resolve ids and has no presence, so the hub's generic parts
// (the id index, presence over the log) run, single- and multi-node, without an engine
// server. Each node gets a view: its listener and gate attach to the shared log, and its
// close() detaches only itself.
#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "transport/local_parts.hpp"
#include "transport/log.hpp"
#include "core/uuid.hpp"
#include "transport/transport.hpp"

namespace herald::test {

class SharedLog final : public LogListener {
 public:
  explicit SharedLog(const std::string& local_url) : inner_(std::move(make_transport(local_url).log)) {}

  Log& inner() { return *inner_; }
  /// Registers the fan-out on the inner log (once).
  Task<Result<void>> start() {
    {
      std::lock_guard lock(mutex_);
      if (started_) co_return Result<void>{};
      started_ = true;
    }
    co_return co_await inner_->listen(*this, gate_);
  }
  void attach(LogListener* l, FlowGate* g) {
    std::lock_guard lock(mutex_);
    views_.push_back({l, g});
  }
  void detach(LogListener* l) {
    std::lock_guard lock(mutex_);
    std::erase_if(views_, [&](const View& v) { return v.listener == l; });
  }
  std::vector<FlowGate*> gates() {
    std::lock_guard lock(mutex_);
    std::vector<FlowGate*> out;
    for (auto& v : views_) out.push_back(v.gate);
    return out;
  }

  void on_update(Stored stored) noexcept override {
    std::lock_guard lock(mutex_);  // the inner log calls under its own lock: one order
    for (auto& v : views_) v.listener->on_update(stored);
  }
  void on_error(boost::system::error_code ec) noexcept override {
    std::lock_guard lock(mutex_);
    for (auto& v : views_) v.listener->on_error(ec);
  }
  void on_gap() noexcept override {
    std::lock_guard lock(mutex_);
    for (auto& v : views_) v.listener->on_gap();
  }

 private:
  struct View {
    LogListener* listener;
    FlowGate* gate;
  };
  std::unique_ptr<Log> inner_;
  FlowGate gate_{1u << 30, 1u << 29};
  std::mutex mutex_;
  bool started_ = false;
  std::vector<View> views_;
};

/// One node's view of a SharedLog.
class SharedLogView final : public Log {
 public:
  explicit SharedLogView(std::shared_ptr<SharedLog> shared) : shared_(std::move(shared)) {}
  LogCapabilities capabilities() const override { return {.resolves_ids = false, .multi_node = true}; }
  Task<Result<Seq>> publish(UpdatePtr u) override {
    if (closed_) co_return make_error_code(Errc::closed);
    for (auto* g : shared_->gates()) co_await g->wait();  // every node's shards have room
    co_return co_await shared_->inner().publish(std::move(u));
  }
  Task<Result<void>> listen(LogListener& l, FlowGate& g) override {
    if (closed_) co_return make_error_code(Errc::closed);
    auto r = co_await shared_->start();
    if (!r) co_return r;
    listener_ = &l;
    shared_->attach(&l, &g);
    co_return Result<void>{};
  }
  Task<Result<Seq>> find(std::string) override { co_return make_error_code(Errc::not_supported); }
  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) override {
    if (closed_) co_return make_error_code(Errc::closed);
    co_return co_await shared_->inner().read_after(after, limit);
  }
  Task<Result<Seq>> head() override {
    if (closed_) co_return make_error_code(Errc::closed);
    co_return co_await shared_->inner().head();
  }
  Task<Result<Seq>> earliest() override {
    if (closed_) co_return make_error_code(Errc::closed);
    co_return co_await shared_->inner().earliest();
  }
  Task<Result<std::string>> last_event_id() override {
    if (closed_) co_return make_error_code(Errc::closed);
    co_return co_await shared_->inner().last_event_id();
  }
  bool healthy() const override { return !closed_; }
  Task<void> close() override {
    closed_ = true;
    if (listener_) shared_->detach(listener_);
    co_return;
  }

 private:
  std::shared_ptr<SharedLog> shared_;
  LogListener* listener_ = nullptr;
  std::atomic<bool> closed_{false};
};

/// Leases every view shares (one table, as one engine would keep), each view acquiring under
/// an owner id of its own.
class SharedLeases final : public Leases {
 public:
  SharedLeases(std::shared_ptr<LocalLeases> inner, std::string owner) : inner_(std::move(inner)), owner_(std::move(owner)) {}
  Task<Result<std::optional<Lease>>> acquire(std::string name, Duration ttl) override {
    co_return inner_->acquire_for(owner_, std::move(name), ttl);
  }
  Task<Result<bool>> renew(const Lease& lease, Duration ttl) override { return inner_->renew(lease, ttl); }
  Task<Result<void>> release(const Lease& lease) override { return inner_->release(lease); }
  Task<Result<std::optional<std::string>>> holder(std::string name) override { return inner_->holder(std::move(name)); }

 private:
  std::shared_ptr<LocalLeases> inner_;
  std::string owner_;
};

/// A node's transport on `shared`: the view, no presence (the hub carries it over the log).
inline Transport shared_log_node(std::shared_ptr<SharedLog> shared, std::shared_ptr<LocalLeases> leases) {
  std::string id = make_urn_uuid_v4().substr(9);
  return {std::make_unique<SharedLogView>(std::move(shared)), nullptr, std::make_unique<SharedLeases>(std::move(leases), id),
          id};
}

/// The same without leases: the hub carries them over the log too (hub/log_leases.hpp).
inline Transport shared_log_node(std::shared_ptr<SharedLog> shared) {
  std::string id = make_urn_uuid_v4().substr(9);
  return {std::make_unique<SharedLogView>(std::move(shared)), nullptr, nullptr, id};
}

}  // namespace herald::test
