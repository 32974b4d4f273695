// Cluster jobs run under leases: one node of two runs a job, and it moves to the other once
// the holder stops renewing (its engine unreachable, as when it dies) or stops cleanly.
#include "hub/cluster_jobs.hpp"

#include <atomic>
#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "support/run_task.hpp"
#include "support/shared_log.hpp"

namespace herald {
namespace {
using namespace std::chrono_literals;

/// A node's view of the shared lease table, which can be cut off from it (every call then
/// fails as an unreachable engine would).
class Reachable final : public Leases {
 public:
  Reachable(std::shared_ptr<LocalLeases> table, std::string owner) : inner_(std::move(table), std::move(owner)) {}
  std::atomic<bool> cut{false};
  Task<Result<std::optional<Lease>>> acquire(std::string name, Duration ttl) override {
    if (cut) co_return make_error_code(Errc::transport_failure);
    co_return co_await inner_.acquire(std::move(name), ttl);
  }
  Task<Result<bool>> renew(const Lease& lease, Duration ttl) override {
    if (cut) co_return Result<bool>(boost::system::in_place_error, make_error_code(Errc::transport_failure));
    co_return co_await inner_.renew(lease, ttl);
  }
  Task<Result<void>> release(const Lease& lease) override {
    if (cut) co_return make_error_code(Errc::transport_failure);
    co_return co_await inner_.release(lease);
  }
  Task<Result<std::optional<std::string>>> holder(std::string name) override { return inner_.holder(std::move(name)); }

 private:
  test::SharedLeases inner_;
};

/// A node: its event loop, its view of the leases, and a runner of one job that counts rounds.
struct JobNode {
  JobNode(std::shared_ptr<LocalLeases> table, std::string id, std::atomic<int>& running, std::atomic<int>& overlaps,
          Duration ttl = 300ms, Duration every = 20ms)
      : leases(std::move(table), id), thread([this] { io.run(); }) {
    ClusterJob job{"reap", every, ttl, [this, &running, &overlaps]() -> Task<void> {
                     if (running.fetch_add(1) != 0) overlaps.fetch_add(1);
                     rounds.fetch_add(1);
                     running.fetch_sub(1);
                     co_return;
                   }};
    std::vector<ClusterJob> jobs;
    jobs.push_back(std::move(job));
    runner = std::make_unique<ClusterJobs>(leases, std::move(jobs), io.get_executor());
  }
  ~JobNode() {
    stop();
    runner.reset();
    work.reset();
    thread.join();
  }
  void stop() {
    boost::asio::co_spawn(io, runner->stop(), boost::asio::use_future).wait_for(10s);
  }
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  Reachable leases;
  std::thread thread;
  std::atomic<int> rounds{0};
  std::unique_ptr<ClusterJobs> runner;
};

template <class F>
bool eventually(F condition, Duration timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);  // the runners work on their own threads: poll their counters
  }
  return true;
}

TEST(ClusterJobs, OneNodeRunsTheJobAndItMovesWhenTheHolderIsCutOff) {
  auto table = std::make_shared<LocalLeases>();
  std::atomic<int> running{0}, overlaps{0};
  JobNode a(table, "node-a", running, overlaps), b(table, "node-b", running, overlaps);
  a.runner->start();
  ASSERT_TRUE(eventually([&] { return a.rounds >= 5; })) << "the first node never ran the job";
  b.runner->start();
  ASSERT_TRUE(eventually([&] { return a.rounds >= 20; }));
  EXPECT_EQ(b.rounds, 0) << "two nodes ran the job";
  EXPECT_TRUE(a.runner->held("reap"));
  EXPECT_FALSE(b.runner->held("reap"));
  boost::asio::io_context io;
  EXPECT_EQ(test::run_task(io, table->holder("reap")).value(), "node-a");

  // The holder loses its engine: it stops at its next renewal, and the other node takes the
  // job once the lease expires (ttl 300 ms), not before.
  auto cut_at = std::chrono::steady_clock::now();
  a.leases.cut = true;
  ASSERT_TRUE(eventually([&] { return b.rounds >= 3; })) << "the job did not move";
  auto moved_after = std::chrono::steady_clock::now() - cut_at;
  EXPECT_GE(moved_after, 250ms) << "taken before the lease expired";
  EXPECT_LT(moved_after, 5s);
  int a_rounds = a.rounds;
  ASSERT_TRUE(eventually([&] { return b.rounds >= 20; }));
  EXPECT_EQ(a.rounds, a_rounds) << "the cut-off node kept running the job";
  EXPECT_FALSE(a.runner->held("reap"));
  EXPECT_TRUE(b.runner->held("reap"));
  EXPECT_EQ(overlaps, 0);
}

TEST(ClusterJobs, AJobRunLessOftenThanItsLeaseLastsKeepsOneHolder) {
  // Rounds every 1.2 s, lease of 500 ms: the lease is renewed every 167 ms all the same.
  // (With a 150 ms lease, a loaded 2-core machine once stalled the renewal past it: the test
  // is about rounds longer than the lease, not about scheduling jitter.)
  auto table = std::make_shared<LocalLeases>();
  std::atomic<int> running{0}, overlaps{0};
  JobNode a(table, "node-a", running, overlaps, 500ms, 1200ms), b(table, "node-b", running, overlaps, 500ms, 1200ms);
  a.runner->start();
  ASSERT_TRUE(eventually([&] { return a.rounds >= 1; }));
  b.runner->start();
  ASSERT_TRUE(eventually([&] { return a.rounds >= 4; }, 15s)) << "the holder stopped running its job";
  EXPECT_EQ(b.rounds, 0) << "the lease lapsed between two rounds and another node took the job";
  EXPECT_TRUE(a.runner->held("reap"));
}

TEST(ClusterJobs, AStoppedHolderReleasesTheJobAtOnce) {
  auto table = std::make_shared<LocalLeases>();
  std::atomic<int> running{0}, overlaps{0};
  JobNode a(table, "node-a", running, overlaps, 30s), b(table, "node-b", running, overlaps, 30s);
  a.runner->start();
  ASSERT_TRUE(eventually([&] { return a.rounds >= 3; }));
  b.runner->start();
  a.stop();
  boost::asio::io_context io;
  EXPECT_NE(test::run_task(io, table->holder("reap")).value(), std::optional<std::string>("node-a"));
  // (ttl 30 s: taken well before, or it was not released)
  ASSERT_TRUE(eventually([&] { return b.rounds >= 3; }, 15s)) << "the released job was not taken before its ttl";
  EXPECT_EQ(test::run_task(io, table->holder("reap")).value(), "node-b");
  EXPECT_EQ(overlaps, 0);
}

}  // namespace
}  // namespace herald
