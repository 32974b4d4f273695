#pragma once
// The hub: owns the backend (the transport's parts and the generic ones) and the shards, and
// is the backend's Listener. An update's path:
//   http (publish_handler) -> Hub::publish -> Backend -> the transport's log ->
//   (every node) Hub::on_update -> every Shard::enqueue -> subscribers' queues -> http (SSE writers).
#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>

#include "config/config.hpp"
#include "core/flow_gate.hpp"
#include "hub/backend.hpp"
#include "hub/shard.hpp"

namespace herald {

class Hub final : public Listener {
 public:
  /// Throws ConfigError (the backend's id index path).
  Hub(const Config& config, Transport transport);
  ~Hub() override;

  const Config& config() const { return config_; }
  Backend& backend() { return *backend_; }
  std::size_t shard_count() const { return shards_.size(); }
  Shard& shard(std::size_t i) { return *shards_[i]; }
  FlowGate& flow() { return gate_; }

  /// Appends an update to the cluster's log; completes with its seq once the transport has
  /// accepted it (as durable as the transport makes it). Any thread; never throws.
  /// Authorization is the caller's (hub/authorization.hpp): this publishes what it is given.
  /// `received`: when the request came (publish-to-write latency of updates published here).
  Task<Result<Seq>> publish(UpdatePtr update, std::chrono::steady_clock::time_point received = {});

  /// Starts the shards' threads and the backend's delivery. Throws when delivery cannot start.
  void start();
  /// Graceful drain, first step (any thread): new subscriptions are refused (503) from now on.
  void refuse_subscriptions() { draining_ = true; }
  bool draining() const { return draining_; }
  /// The subscribers open on every shard (blocking; not from a shard's thread).
  std::size_t subscriber_count();
  /// Closes up to `n` open subscribers, spread evenly over the shards (blocking; not from a
  /// shard's thread); their clients reconnect with Last-Event-ID. Returns how many it closed.
  std::size_t close_subscribers(std::size_t n);

  /// Closes every subscriber and connection, lets the streams end (bounded), closes the
  /// backend, joins the threads. Idempotent; not from a shard's thread.
  void stop();

  void on_update(Stored stored) noexcept override;
  void on_error(boost::system::error_code ec) noexcept override;
  void on_gap() noexcept override;
  void on_subscribers_lost(std::vector<SubscriberInfo> subscribers) noexcept override;

 private:
  Task<void> drain_and_close();

  const Config& config_;
  FlowGate gate_;  ///< outlives the shards and the backend (both hold it)
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<Backend> backend_;
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::vector<std::future<void>> ended_;  ///< one per thread: its loop returned
  bool stopped_ = false;
  std::atomic<bool> draining_{false};
  /// Updates published through this node and not yet delivered back by the bus: id ->
  /// received (bounded: cleared past kMaxPending, losing only the latency samples).
  std::mutex pending_mutex_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> pending_;
};

}  // namespace herald
