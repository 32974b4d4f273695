#pragma once
// What operators and load balancers ask of a node: is it ready (engine connected, bus
// delivering, enough nodes alive, not draining), is it alive, which nodes make the cluster.
// A probe on shard 0 evaluates it every probe_interval; the answers are the latest probe's,
// so a health check never waits on the engine.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "core/async_event.hpp"
#include "core/duration.hpp"
#include "core/task.hpp"
#include "model/update.hpp"
#include "transport/presence_registry.hpp"

namespace herald {

class Hub;

struct HealthOptions {
  std::size_t min_nodes = 1;  ///< ready only while at least this many nodes are alive
  Duration live_grace = std::chrono::seconds(60);  ///< live fails after being unready this long
  Duration probe_interval = std::chrono::seconds(1);
  Duration stall = std::chrono::seconds(5);  ///< behind the head without progress this long: the bus is stuck
};

/// The latest probe's findings.
struct HealthReport {
  bool probed = false;  ///< false until the first probe completed
  bool engine = false;  ///< the transport reports itself connected
  bool bus = false;     ///< delivered is at the head, or moving toward it
  bool registry = false;  ///< the node registry answered
  std::size_t nodes_alive = 0;  ///< alive or suspect
  std::size_t min_nodes = 1;
  bool draining = false;
  Seq delivered = 0, head = 0;
  std::vector<NodeInfo> nodes;  ///< the registry's nodes, by id (dead ones until reaped)
  /// Each cluster job and the node holding its lease (nullopt: none), as the engine answered.
  std::vector<std::pair<std::string, std::optional<std::string>>> jobs;
  bool ready() const { return probed && engine && bus && registry && nodes_alive >= min_nodes && !draining; }
  /// {"status": "ready"|"unavailable", "checks": {...}}
  std::string json() const;
};

/// Threads: start()/stop() from the main thread; the getters from any thread.
class Health {
 public:
  Health(Hub& hub, HealthOptions options);
  ~Health();
  Health(const Health&) = delete;
  Health& operator=(const Health&) = delete;

  void start();
  /// Ends the probe (bounded); blocking, not on shard 0.
  void stop();
  HealthReport report() const;
  /// Ready, or unready for less than live_grace.
  bool live() const;
  /// Readiness turns red at once (graceful drain).
  void set_draining();

 private:
  Task<void> probe_loop();
  Task<void> probe_once();

  Hub& hub_;
  HealthOptions options_;
  mutable std::mutex mutex_;
  HealthReport report_;  ///< guarded by mutex_
  std::chrono::steady_clock::time_point ready_since_ = std::chrono::steady_clock::now();  ///< last time ready (or start)
  std::chrono::steady_clock::time_point progress_at_ = std::chrono::steady_clock::now();  ///< probe thread only
  Seq last_delivered_ = 0;  ///< probe thread only
  std::atomic<bool> draining_{false}, stopping_{false};
  AsyncEvent done_;
  std::shared_ptr<void> timer_;  ///< the probe's steady_timer (kept out of this header)
};

}  // namespace herald
