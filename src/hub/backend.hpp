#pragma once
// The hub's view of the cluster engine: the transport's parts (transport/transport.hpp) and,
// where the engine lacks one, the part the hub supplies generically:
//   - an id -> seq index (hub/id_index.hpp) when the log cannot resolve event ids,
//   - presence carried over the log (hub/log_presence.hpp) when it has no presence registry,
//   - leases carried over the log (hub/log_leases.hpp) when it has no leases of its own.
// Every other file of the hub and of http talks to this, never to a transport's parts.
#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/async_event.hpp"
#include "core/flow_gate.hpp"
#include "hub/cluster_jobs.hpp"
#include "hub/id_index.hpp"
#include "hub/log_leases.hpp"
#include "hub/log_presence.hpp"
#include "transport/transport.hpp"

namespace herald {

/// Receives every update of the cluster (not the control records). Implemented by the hub.
class Listener {
 public:
  virtual ~Listener() = default;
  /// In seq order, from the log's thread (see LogListener::on_update). Must not block.
  virtual void on_update(Stored stored) noexcept = 0;
  virtual void on_error(boost::system::error_code ec) noexcept = 0;
  /// See LogListener::on_gap.
  virtual void on_gap() noexcept = 0;
  /// See PresenceListener::on_subscribers_lost.
  virtual void on_subscribers_lost(std::vector<SubscriberInfo> subscribers) noexcept = 0;
};

struct BackendOptions {
  /// Directory of the id index, for a log that cannot resolve ids (empty: a temporary
  /// directory, removed on close: the index is then rebuilt from the log at each start).
  std::string index_path;
  Duration presence_ttl = std::chrono::seconds(15);  ///< presence over the log: silence before expiry
};

class Backend final : LogListener, PresenceListener {
 public:
  /// Timers and detached work run on `executor`. Throws ConfigError (index path).
  Backend(Transport transport, BackendOptions options, boost::asio::any_io_executor executor);
  ~Backend() override;

  LogCapabilities capabilities() const { return capabilities_; }
  bool generic_index() const { return index_ != nullptr; }
  bool generic_presence() const { return log_presence_ != nullptr; }
  /// This node's id in the cluster (the log-carried presence's and the leases' owner name).
  const std::string& node_id() const { return node_id_; }

  /// Starts delivery to `listener` (records appended from now on), first catching the id
  /// index up with the retained log. `listener` and `gate` must outlive close(). Call once,
  /// before announce().
  Task<Result<void>> listen(Listener& listener, FlowGate& gate);

  /// The seam's operations, with the contract of transport/log.hpp. find("earliest") is
  /// earliest(); find() of an id whose record retention removed is Errc::not_found.
  Task<Result<Seq>> publish(UpdatePtr update);
  Task<Result<Seq>> find(std::string last_event_id);
  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit);
  Task<Result<Seq>> head();
  Task<Result<Seq>> earliest();
  Task<Result<std::string>> last_event_id();

  /// Presence (transport/presence_registry.hpp).
  Task<Result<void>> announce(SubscriberInfo subscriber, bool online);
  Task<Result<std::vector<SubscriberInfo>>> presence();
  /// The live nodes of the cluster, by id (PresenceRegistry::nodes).
  Task<Result<std::vector<NodeInfo>>> nodes();
  void describe_node(std::string address);
  /// What this node's heartbeats say of it (PresenceRegistry::report).
  void report(std::uint64_t delivered, bool draining);
  /// Clears the cluster's registry and presence (PresenceRegistry::reset).
  Task<Result<void>> reset_presence();

  /// The engine's leases, or leases carried over the log (hub/log_leases.hpp).
  Leases& leases() { return *leases_; }
  /// The cluster jobs the parts need (ClusterJob), run under leases from listen() to close().
  const ClusterJobs& jobs() const { return *jobs_; }
  /// Each job's name and the node that holds it now (nullopt: none), asked of the engine.
  Task<Result<std::vector<std::pair<std::string, std::optional<std::string>>>>> job_holders();
  bool healthy() const { return transport_.log->healthy(); }
  /// The last seq delivered to the listener (0 before the first).
  Seq delivered() const { return delivered_.load(); }

  /// The cluster jobs first (their leases released), then presence (this node leaves the
  /// registry), then the log. Idempotent. After it returns, the listener is not called again.
  Task<void> close();

 private:
  void on_update(Stored stored) noexcept override;
  void on_error(boost::system::error_code ec) noexcept override;
  void on_gap() noexcept override;
  void on_subscribers_lost(std::vector<SubscriberInfo> subscribers) noexcept override;
  Task<Result<void>> catch_up();
  /// catch_up() again every second until it succeeds or the backend closes.
  Task<void> retry_catch_up();
  void note_update_id(Seq seq, const std::string& id);
  Task<void> prune_index();

  Transport transport_;
  BackendOptions options_;
  boost::asio::any_io_executor executor_;
  LogCapabilities capabilities_;
  std::string node_id_;
  std::string temporary_index_;  ///< removed on close
  std::unique_ptr<IdIndex> index_;
  std::unique_ptr<LogPresence> log_presence_;
  PresenceRegistry* presence_ = nullptr;  ///< the engine's or log_presence_
  std::unique_ptr<LogLeases> log_leases_;
  Leases* leases_ = nullptr;              ///< the engine's or log_leases_
  std::unique_ptr<ClusterJobs> jobs_;     ///< the log's and the presence part's
  Listener* listener_ = nullptr;
  std::atomic<bool> caught_up_{false}, closed_{false};
  AsyncEvent closing_;         ///< set by close()
  AsyncEvent catch_up_done_;   ///< reset while retry_catch_up() runs
  std::atomic<Seq> delivered_{0};
  std::size_t since_prune_ = 0;  ///< log thread only
  std::mutex last_mutex_;
  std::pair<Seq, std::string> last_update_{0, "earliest"};  ///< guarded by last_mutex_
};

}  // namespace herald
