#pragma once
// Cluster leases: at-most-once jobs (retention, reaping a dead node; hub/cluster_jobs). Redis:
// SET NX PX with an INCR fencing token; PostgreSQL: a row with an expiry and a sequence for the
// token; in-process for one node.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/duration.hpp"
#include "core/errors.hpp"
#include "core/task.hpp"

namespace herald {

/// A held lease. `token` is a fencing token: it strictly increases each time the lease is
/// granted to anyone, so a write tagged with it can be refused once a newer holder exists.
struct Lease {
  std::string name;
  std::uint64_t token = 0;
};

/// Contract: at most one holder per name at any time (while the engine keeps its promise and
/// clocks stay within the TTL); a holder that stops renewing loses the lease after `ttl`.
/// Any thread, may suspend, never throws; Errc::transport_failure when the engine failed
/// (the job is skipped this round), Errc::closed after close().
class Leases {
 public:
  virtual ~Leases() = default;
  /// The lease when granted to this node; nullopt when another holder has it.
  virtual Task<Result<std::optional<Lease>>> acquire(std::string name, Duration ttl) = 0;
  /// Extends a held lease; false when it was lost (expired and taken, or released).
  virtual Task<Result<bool>> renew(const Lease& lease, Duration ttl) = 0;
  virtual Task<Result<void>> release(const Lease& lease) = 0;
  /// The id of the node that holds `name` now (the registry's node id), nullopt when no one
  /// does (never granted, released, or expired). For operators (the cluster status).
  virtual Task<Result<std::optional<std::string>>> holder(std::string name) = 0;
};

}  // namespace herald
