#pragma once
// Presence carried over the log itself, for engines without expiring records (Kafka,
// Pulsar): heartbeats and subscriber records are appended to the log as control records
// (Update::control), and every node derives the presence table from the one order it reads,
// so every node derives the same table.
//
// Records (JSON in Update::data; topic "herald:presence"):
//   hello {n}            a node started: every other node answers with its snapshot
//   beat  {n, a, d, x}   node n is alive (every ttl/3), serving HTTP on a, delivered d, draining x
//   on    {n, s}         subscriber s of node n connected (replaces an entry with its id)
//   off   {n, i}         subscriber i of node n left
//   snap  {n, subs}      node n's whole subscriber list (replaces n's entries)
//   gone  {n, by}        node `by` saw node n silent for longer than ttl
// Expiry needs no lock: the first `gone` record for a node in the log is the one that counts
// (later ones find the node already removed), and only its writer publishes the "inactive"
// events (PresenceListener), so they are published once. A node that reads a `gone` record
// for itself (it was only slow) writes its snapshot again.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/async_event.hpp"
#include "hub/seq_waiters.hpp"
#include "transport/log.hpp"
#include "transport/local_presence.hpp"
#include "transport/node_info.hpp"
#include "transport/presence_registry.hpp"

namespace herald {

class LogPresence final : public PresenceRegistry {
 public:
  /// `log` must outlive this. Timers run on `executor`.
  LogPresence(Log& log, std::string node_id, Duration ttl, boost::asio::any_io_executor executor);
  ~LogPresence() override;

  /// Starts heartbeating (call once the log delivers to consume()).
  void start();
  /// Every control record the node's log delivers, in log order (the log's thread).
  void consume(const Stored& stored);
  /// Every other record the node's log delivers (its seq only), so that list() knows when it
  /// has read up to the head.
  void passed(Seq seq) { consumed_.advance(seq); }
  /// True for the records this class writes.
  static bool is_presence_record(const Update& update);

  /// Completes once this node has read its own record: list() then shows it.
  Task<Result<void>> announce(SubscriberInfo subscriber, bool online) override;
  Task<Result<std::vector<SubscriberInfo>>> list() override;
  void watch(PresenceListener& listener) override;
  std::string node_id() const override { return node_id_; }
  /// The nodes whose beat this node read within the TTL (a node is listed from its first beat).
  Task<Result<std::vector<NodeInfo>>> nodes() override;
  void describe_node(std::string address) override;
  void report(std::uint64_t delivered, bool draining) override { report_.set(delivered, draining); }
  /// Not yet: the tables are rebuilt from the log by every node (Errc::not_supported).
  Task<Result<void>> reset() override { co_return make_error_code(Errc::not_supported); }
  Task<void> close() override;

 private:
  /// A subscriber as the table knows it: the version of the record that set it (each node
  /// numbers its own changes), so a snapshot written before a later change cannot undo it.
  struct Entry {
    SubscriberInfo info;
    std::uint64_t version = 0;
    bool online = false;
  };
  struct Node {
    std::map<std::string, Entry> subscribers;  ///< listed online ones, by version
    std::chrono::steady_clock::time_point last_seen;
    bool gone_sent = false;  ///< this node already wrote a `gone` record for it
    std::string address, host;  ///< from its last beat
    long pid = 0;
    std::int64_t started_at_ms = 0, last_heartbeat_ms = 0;  ///< last: when this node read the beat
    std::uint64_t delivered = 0;  ///< from its last beat
    bool draining = false;        ///< from its last beat
  };
  Task<Result<Seq>> append(std::string json);
  Task<void> beat_loop();
  /// Writes this node's snapshot, taken when it is written (not when it was asked for).
  void publish_snapshot_detached();
  Task<Result<Seq>> append_snapshot();
  static std::vector<SubscriberInfo> online(const Node& node);
  /// Completes when consume() has passed `seq` (bounded).
  Task<void> await_consumed(Seq seq);
  std::string snapshot_json();

  Log& log_;
  const std::string node_id_;
  const std::string host_ = node_info::host_name();
  const std::int64_t started_at_ms_ = node_info::unix_ms();
  const Duration ttl_;
  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer timer_;
  std::mutex mutex_;
  std::map<std::string, Node> nodes_;   ///< guarded by mutex_
  SeqWaiters consumed_;                 ///< what consume() has passed
  std::mutex own_mutex_;
  LocalPresence own_;                   ///< this node's subscribers (for snapshots); own_mutex_
  std::uint64_t own_version_ = 0;       ///< counts this node's presence changes; own_mutex_
  PresenceListener* listener_ = nullptr;
  std::string address_;                 ///< guarded by mutex_
  node_info::SelfReport report_;
  std::atomic<bool> closed_{false};
  AsyncEvent loop_done_;
  AsyncEvent idle_;                     ///< set while no detached append is in flight
  std::size_t in_flight_ = 0;           ///< guarded by mutex_
  bool started_ = false;
};

}  // namespace herald
