#pragma once
// Cluster leases carried over the log itself, for engines without a lock or an expiring key
// (Kafka, Pulsar): a node appends a claim, and every node applies the claims it reads in the
// one order of the log, so every node derives the same holder for every lease.
//
// Records (JSON in Update::data; topic "herald:leases"):
//   acq   {l, n, ttl, at}     node n asks for lease l for ttl ms, at its clock's time `at`
//   renew {l, n, t, ttl, at}  node n extends the lease it holds under token t
//   rel   {l, n, t}           node n lets the lease go
// Rules, applied in log order: an `acq` is granted when the lease is free or expired at
// `at` (as a lock: not again to its holder, which renews instead); a grant takes the record's
// seq as its fencing token (seqs strictly increase, so tokens do). A `renew` succeeds only for the current holder and
// token, before expiry. The writer answers once its own consumer has read its record back.
// Expiry compares writers' clocks, so the contract's "clocks stay within the TTL" applies.
// holder() first reads the log's head and waits until this node has read that far, so it
// sees every claim written before it was asked.
#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "hub/seq_waiters.hpp"
#include "transport/leases.hpp"
#include "transport/log.hpp"

namespace herald {

class LogLeases final : public Leases {
 public:
  /// `log` must outlive this. `node_id` names this node as the holder.
  LogLeases(Log& log, std::string node_id) : log_(log), node_id_(std::move(node_id)) {}

  /// Every lease record the node's log delivers, in log order (the log's thread).
  void consume(const Stored& stored);
  /// Every other record the node's log delivers (the log's thread): holder() waits for them.
  void passed(Seq seq) { applied_.advance(seq); }
  /// True for the records this class writes.
  static bool is_lease_record(const Update& update);

  Task<Result<std::optional<Lease>>> acquire(std::string name, Duration ttl) override;
  Task<Result<bool>> renew(const Lease& lease, Duration ttl) override;
  Task<Result<void>> release(const Lease& lease) override;
  Task<Result<std::optional<std::string>>> holder(std::string name) override;
  /// Later calls answer Errc::closed.
  void close() { closed_ = true; }

 private:
  struct Held {
    std::string holder;
    std::uint64_t token = 0;
    std::int64_t expires_at_ms = 0;
  };
  /// Appends a record and waits until this node has applied it: the token the record left
  /// this node holding (0: refused).
  Task<Result<std::uint64_t>> append(std::string json);

  Log& log_;
  const std::string node_id_;
  std::mutex mutex_;
  std::map<std::string, Held> held_;    ///< guarded by mutex_
  std::map<Seq, std::uint64_t> outcomes_;  ///< this node's records applied, not yet answered; mutex_
  SeqWaiters applied_;
  std::atomic<bool> closed_{false};
};

}  // namespace herald
