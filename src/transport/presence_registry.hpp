#pragma once
// Presence and the node registry: the part an engine provides when it can keep records that
// expire (Redis keys with a TTL, rows with a last-seen time). An engine that cannot leaves it
// to the hub, which carries presence over the log itself (hub/log_presence.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/task.hpp"
#include "transport/cluster_job.hpp"

namespace herald {

/// A subscriber as every node sees it.
struct SubscriberInfo {
  std::string id;
  std::vector<std::string> topics;
  std::string payload_json;  ///< serialized mercure.payload, empty when absent
};

/// How a node's heartbeats look to the registry (a node beats every TTL/3).
enum class NodeState {
  alive,    ///< heard from within two beat periods
  suspect,  ///< two beats missed, still within the TTL: counted alive
  dead,     ///< silent for longer than the TTL and not reaped yet (the "reap" cluster job removes it)
};

/// The state of a node last heard from `age_ms` ago, with the registry's `ttl_ms`.
inline NodeState node_state(std::int64_t age_ms, std::int64_t ttl_ms) {
  if (age_ms > ttl_ms) return NodeState::dead;
  if (age_ms * 3 > ttl_ms * 2) return NodeState::suspect;
  return NodeState::alive;
}

inline const char* to_string(NodeState s) {
  return s == NodeState::alive ? "alive" : s == NodeState::suspect ? "suspect" : "dead";
}

/// The "reap" cluster job of a registry whose nodes beat every presence_ttl/3: a round per
/// beat period, on a lease that outlives three of them.
inline ClusterJob reap_job(Duration presence_ttl, std::function<Task<void>()> round) {
  return ClusterJob{"reap", presence_ttl / 3, presence_ttl, std::move(round)};
}

/// A node of the cluster as the registry knows it.
struct NodeInfo {
  std::string id;
  std::string address;  ///< host:port it serves HTTP on (advertised)
  std::string host;     ///< its machine's host name
  long pid = 0;
  std::int64_t started_at_ms = 0;     ///< Unix time, milliseconds
  std::int64_t last_heartbeat_ms = 0;  ///< Unix time, milliseconds (the engine's clock where it has one)
  std::uint64_t subscribers = 0;
  std::uint64_t delivered = 0;  ///< the last seq it delivered, as of its last heartbeat (PresenceRegistry::report)
  bool draining = false;        ///< shutting down, as of its last heartbeat
  NodeState state = NodeState::alive;
};

/// Told when a node died without withdrawing its subscribers. Implemented by the hub.
class PresenceListener {
 public:
  virtual ~PresenceListener() = default;
  /// The subscribers of a node that stopped heartbeating. Exactly one node of the cluster
  /// is handed each dead node's subscribers (elected through the engine), once; it publishes
  /// their "inactive" subscription events. Called from the registry's thread; must not block.
  virtual void on_subscribers_lost(std::vector<SubscriberInfo> subscribers) noexcept = 0;
};

/// Contract:
/// - list() on any node lists the subscribers of every live node, node by node, each node's
///   in the order they connected; announcing an id again replaces its record.
/// - A node refreshes its own records by heartbeat; the records of a node silent for longer
///   than its TTL disappear from list() and are handed to one PresenceListener (above).
/// - Threads: any thread, may suspend, never throws. After close(): Errc::closed, no
///   listener call once close() returned; close() withdraws this node (best effort).
class PresenceRegistry {
 public:
  virtual ~PresenceRegistry() = default;
  /// A subscriber of this node connected (`online`) or left.
  virtual Task<Result<void>> announce(SubscriberInfo subscriber, bool online) = 0;
  virtual Task<Result<std::vector<SubscriberInfo>>> list() = 0;
  /// Where this node's dead-node notifications go (call before the first announce).
  virtual void watch(PresenceListener& listener) = 0;
  /// The id this node registers under (what nodes() lists for it).
  virtual std::string node_id() const = 0;
  /// The registered nodes, by id, each with its NodeState (dead ones until they are reaped);
  /// this node included once it has registered.
  virtual Task<Result<std::vector<NodeInfo>>> nodes() = 0;
  /// The address this node serves HTTP on (host:port), published in the node registry.
  virtual void describe_node(std::string address) = 0;
  /// What this node's next heartbeats say of it: the last seq it delivered, and whether it is
  /// draining (any thread; the health probe calls it every second).
  virtual void report(std::uint64_t delivered, bool draining) = 0;
  /// Clears the cluster's registry and presence records in the engine, never the history
  /// (`herald cluster reset`): every live node registers again and rewrites its own
  /// subscribers on its next heartbeat. No subscription event is published.
  virtual Task<Result<void>> reset() = 0;
  /// The work one node of the cluster does at a time (reaping the nodes that went silent:
  /// their records removed, their subscribers handed to the PresenceListener); the hub runs
  /// each under a lease (hub/cluster_jobs). Called once, after watch(). Default: none.
  virtual std::vector<ClusterJob> jobs() { return {}; }
  virtual Task<void> close() = 0;
};

}  // namespace herald
