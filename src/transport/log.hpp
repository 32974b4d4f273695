#pragma once
// The log: the one part every engine provides. An append-only sequence of updates that
// every node of the cluster reads in the same order (see ARCHITECTURE.md, "The seam").
#include <cstddef>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>

#include "core/errors.hpp"
#include "core/flow_gate.hpp"
#include "core/task.hpp"
#include "model/update.hpp"
#include "transport/cluster_job.hpp"

namespace herald {

/// Receives the log's records, on the node that listens. Implemented once, by the hub.
class LogListener {
 public:
  virtual ~LogListener() = default;
  /// Every record appended after listen() began, each once, in strictly increasing seq order
  /// (the same order on every node). Called from the log's own thread, never concurrently,
  /// and never after close() has returned. Must not block.
  virtual void on_update(Stored stored) noexcept = 0;
  /// The engine failed (connection lost...). The log keeps retrying on its own.
  virtual void on_error(boost::system::error_code ec) noexcept = 0;
  /// Records were skipped: retention removed them before this node read them, or the engine
  /// lost its data. Delivery continues after the hole; the hub disconnects its subscribers so
  /// that they reconnect with Last-Event-ID and are told what history still holds.
  virtual void on_gap() noexcept = 0;
};

/// What an engine's log does natively. Where it does not, the hub supplies the part.
struct LogCapabilities {
  bool resolves_ids = false;  ///< find() works (a native id index); else the hub keeps one
  bool multi_node = false;    ///< several nodes may share the engine (a cluster)
};

/// The contract (every log holds to it; tests/unit/transport/conformance holds them to it):
/// - Seqs strictly increase from 1 and need not be dense (holes: deleted subscription events,
///   rolled-back sequence values, offsets of control records). A seq names one record forever.
/// - `earliest()` is the seq just before the oldest retained record (0 when nothing was ever
///   removed): read_after(earliest()) replays exactly what is retained.
/// - read_after(after) answers Errc::not_found when records after `after` were removed by
///   retention (after < earliest(), allowing for the holes of subscription events that gave
///   way): the reader missed some and must be told, never silently skipped forward.
/// - Threads: every method may be called from any thread and may suspend; none throws.
/// - After close(): every method answers Errc::closed (head/earliest too), no listener call
///   happens once close() has returned; close() is idempotent.
/// - Errors: Errc::transport_failure when the engine could not answer (the caller fails its
///   request so the client retries; it never takes it for "unknown" or "empty").
class Log {
 public:
  virtual ~Log() = default;
  virtual LogCapabilities capabilities() const = 0;

  /// Appends; completes with the record's seq once it is as durable as the engine makes it
  /// (the same seq every listener is handed with it). Subscription events are retained under
  /// a bound of their own, apart from the updates' retention.
  virtual Task<Result<Seq>> publish(UpdatePtr update) = 0;

  /// Starts delivery to `listener`: every record appended after this call completes reaches
  /// it. Before delivering more, the log awaits `gate` (FlowGate::wait): while the hub's
  /// shards are behind, the log stops consuming rather than buffer without limit. Call once.
  /// `listener` and `gate` must outlive close().
  virtual Task<Result<void>> listen(LogListener& listener, FlowGate& gate) = 0;

  /// A Last-Event-ID to its seq (the newest record with that id). Only when
  /// capabilities().resolves_ids; otherwise Errc::not_supported. Errc::not_found when unknown
  /// or no longer retained.
  virtual Task<Result<Seq>> find(std::string id) = 0;

  /// Up to `limit` retained records with seq > `after`, oldest first; empty when after >= head.
  /// A page shorter than `limit` holds every record up to at least the last one this log had
  /// handed its listener when the read began (the replay's handover to live delivery relies on
  /// it): an engine whose reads can lag its own delivery waits, or fails, rather than answer short.
  virtual Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) = 0;
  /// The seq of the newest record (0 when none).
  virtual Task<Result<Seq>> head() = 0;
  /// See the contract above.
  virtual Task<Result<Seq>> earliest() = 0;
  /// The id of the newest update ("earliest" when none).
  virtual Task<Result<std::string>> last_event_id() = 0;

  /// Connected to the engine and delivering.
  virtual bool healthy() const = 0;
  /// The work this log needs done by one node of the cluster at a time (retention by age on
  /// an engine that does not expire records itself); the hub runs each under a lease.
  /// Called once, before listen(). Default: none.
  virtual std::vector<ClusterJob> jobs() { return {}; }
  virtual Task<void> close() = 0;
};

}  // namespace herald
