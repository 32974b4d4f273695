#pragma once
// Runs the transport's cluster jobs (transport/cluster_job.hpp) at most once at a time in the
// cluster: each job's round runs only on the node that holds the job's lease (Leases),
// acquired and renewed through the engine. A node that dies stops renewing; its leases expire
// after the job's ttl and another node takes each one at its next attempt, so a job moves
// within ttl + every. Leases are released on a clean stop, so a job moves at once then.
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/async_event.hpp"
#include "transport/cluster_job.hpp"
#include "transport/leases.hpp"

namespace herald {

class ClusterJobs {
 public:
  /// `leases` must outlive stop(). Rounds run on `executor`.
  ClusterJobs(Leases& leases, std::vector<ClusterJob> jobs, boost::asio::any_io_executor executor);
  ~ClusterJobs();
  ClusterJobs(const ClusterJobs&) = delete;
  ClusterJobs& operator=(const ClusterJobs&) = delete;

  /// Starts a loop per job (any thread; once).
  void start();
  /// Ends the loops (awaited, bounded) and releases the leases held. Idempotent.
  Task<void> stop();
  /// The jobs' names, in the order given.
  std::vector<std::string> names() const;
  /// Whether this node holds `name`'s lease now (any thread).
  bool held(const std::string& name) const;

 private:
  struct Running {
    ClusterJob job;
    std::atomic<bool> held{false};
    AsyncEvent done;
  };
  Task<void> loop(Running& r);
  /// Holds r's lease after this call when it can: acquires it, or renews the one held.
  Task<std::optional<Lease>> keep(Running& r, std::optional<Lease> lease);

  Leases& leases_;
  boost::asio::any_io_executor executor_;
  std::vector<std::unique_ptr<Running>> jobs_;
  AsyncEvent stopping_;
  bool started_ = false;
};

}  // namespace herald
