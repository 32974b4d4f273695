#include "hub/cluster_jobs.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "core/logging.hpp"

namespace herald {
namespace asio = boost::asio;

ClusterJobs::ClusterJobs(Leases& leases, std::vector<ClusterJob> jobs, asio::any_io_executor executor)
    : leases_(leases), executor_(std::move(executor)) {
  for (auto& job : jobs) {
    auto r = std::make_unique<Running>();
    r->job = std::move(job);
    r->done.set();
    jobs_.push_back(std::move(r));
  }
}

ClusterJobs::~ClusterJobs() {
  stopping_.set();
  for (auto& r : jobs_) r->done.wait_blocking(std::chrono::seconds(5));
}

void ClusterJobs::start() {
  if (started_) return;
  started_ = true;
  for (auto& r : jobs_) {
    r->done.reset();
    asio::co_spawn(executor_, loop(*r), asio::detached);
  }
}

Task<void> ClusterJobs::stop() {
  stopping_.set();
  for (auto& r : jobs_) co_await r->done.wait_for(std::chrono::seconds(5));
}

std::vector<std::string> ClusterJobs::names() const {
  std::vector<std::string> out;
  for (const auto& r : jobs_) out.push_back(r->job.name);
  return out;
}

bool ClusterJobs::held(const std::string& name) const {
  for (const auto& r : jobs_)
    if (r->job.name == name) return r->held.load();
  return false;
}

Task<std::optional<Lease>> ClusterJobs::keep(Running& r, std::optional<Lease> lease) {
  const std::string& name = r.job.name;
  if (lease) {
    auto renewed = co_await leases_.renew(*lease, r.job.ttl);
    if (renewed && *renewed) co_return lease;
    // Lost, or the engine did not answer: this node may no longer hold it, so it stops
    // running the job (another node may take it once the lease expires).
    logger("jobs")->warn("cluster_job_lost job={} token={} reason={}", name, lease->token,
                         renewed ? "taken" : "engine");
    co_return std::nullopt;
  }
  auto acquired = co_await leases_.acquire(name, r.job.ttl);
  if (!acquired || !*acquired) co_return std::nullopt;
  logger("jobs")->info("cluster_job_elected job={} token={}", name, (*acquired)->token);
  co_return std::move(*acquired);
}

Task<void> ClusterJobs::loop(Running& r) {
  using Clock = std::chrono::steady_clock;
  // The lease is renewed three times per ttl whatever the job's period, and the round runs
  // every `every` while held (at once when the lease is taken).
  const Duration tick = std::min<Duration>(r.job.every, r.job.ttl / 3);
  std::optional<Lease> lease;
  Clock::time_point next_round{};
  while (!stopping_.is_set()) {
    bool had = lease.has_value();
    lease = co_await keep(r, std::move(lease));
    r.held = lease.has_value();
    if (lease && !had) next_round = Clock::now();
    if (lease && !stopping_.is_set() && Clock::now() >= next_round) {
      next_round = Clock::now() + r.job.every;
      co_await r.job.round();
    }
    // (A statement, not a loop condition: g++ 12 mis-compiles a co_await there.)
    bool stop = co_await stopping_.wait_for(tick);
    if (stop) break;
  }
  r.held = false;
  if (lease) {
    co_await leases_.release(*lease);
    logger("jobs")->info("cluster_job_released job={} token={}", r.job.name, lease->token);
  }
  r.done.set();
}

}  // namespace herald
