#pragma once
// The transport seam. A transport is storage plus a bus between nodes, nothing more:
// topic matching, authorization, replay ordering, fan-out and the slow-reader policy
// live once in src/hub, so every transport stays thin and passes one shared suite
// (tests/unit/transport/transport_suite_test.cpp).
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>
#include <nlohmann/json_fwd.hpp>

#include "core/errors.hpp"
#include "core/task.hpp"
#include "hub/update.hpp"

namespace herald {

/// A subscriber as other nodes see it (presence).
struct SubscriberInfo {
  std::string id;
  std::vector<std::string> topics;
  std::string payload_json;  ///< serialized mercure.payload, empty when absent
};

/// Receives every update of the cluster. Implemented once, by the hub.
class Listener {
 public:
  virtual ~Listener() = default;
  /// Called in seq order (one order for every listener of every node). Must not block.
  virtual void on_update(Stored stored) noexcept = 0;
  /// The bus failed; the hub reports it (health) and the transport retries.
  virtual void on_error(boost::system::error_code ec) noexcept = 0;
  /// The bus skipped updates (trimmed before this node read them, or the backend lost its
  /// data): the hub disconnects its subscribers, which reconnect with their Last-Event-ID
  /// and are told what history still holds, rather than silently missing updates.
  virtual void on_gap() noexcept {}
  /// Cluster presence: subscribers of a node that died without withdrawing them. Exactly
  /// one node of the cluster is handed them (the transport elects it through its backend);
  /// the hub publishes their "inactive" subscription events.
  virtual void on_subscribers_lost(std::vector<SubscriberInfo> subscribers) noexcept { (void)subscribers; }
};

/// Every method may be called from any thread and may suspend; none throws.
class Transport {
 public:
  virtual ~Transport() = default;

  /// Appends the update to the log and broadcasts it to every node's Listener.
  /// Completes (with the assigned seq) once the update is as durable as the transport makes it.
  virtual Task<Result<Seq>> publish(UpdatePtr update) = 0;

  /// Registers the hub's listener. Updates published after this call reach it. The listener
  /// is called from the transport's own thread until close() returns (or the transport is
  /// destroyed), so it must outlive that.
  virtual Task<Result<void>> listen(Listener& listener) = 0;

  /// Resolves a Last-Event-ID to the seq of that update; "earliest" resolves to 0 (before
  /// everything retained). Errc::not_found when the id is unknown or no longer retained.
  virtual Task<Result<Seq>> find(std::string last_event_id) = 0;

  /// Up to `limit` retained updates with seq > `after`, oldest first. Errc::not_found when
  /// updates right after `after` are no longer retained (trimmed): the reader missed some.
  virtual Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) = 0;

  /// The seq of the newest stored update (0 when none).
  virtual Task<Result<Seq>> head() = 0;

  /// The id of the last update dispatched ("earliest" when none).
  virtual Task<Result<std::string>> last_event_id() = 0;

  /// Presence: a subscriber connected (online) or left.
  ///
  /// Contract for cluster transports: presence() on any node lists the subscribers of every
  /// node. A node refreshes its own entries with a heartbeat and the backend expires them
  /// (e.g. a Redis key TTL, a row with a last-seen time), so the subscribers of a node that
  /// crashed without withdrawing them disappear within a documented bound (heartbeat
  /// interval + expiry). Their "inactive" subscription events are then published once, by
  /// one surviving node elected through the backend (a lock), not once per node.
  virtual Task<Result<void>> announce(SubscriberInfo subscriber, bool online) = 0;
  /// Presence: every connected subscriber (of every node), in a stable order.
  virtual Task<Result<std::vector<SubscriberInfo>>> presence() = 0;

  /// The address this node serves HTTP on (host:port), for cluster transports' node registry.
  virtual void describe_node(std::string address) { (void)address; }

  /// Healthy enough to serve (connected to its backend).
  virtual bool healthy() const = 0;

  /// Stops listening and releases resources. Idempotent.
  virtual Task<void> close() = 0;
};

/// Creates the transport named by `url`'s scheme. Throws ConfigError on a bad URL.
std::unique_ptr<Transport> make_transport(const std::string& url);

}  // namespace herald
