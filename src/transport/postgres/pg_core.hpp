#pragma once
// What the parts of the PostgreSQL transport share (pg_log, pg_presence, pg_leases): the
// options, one event loop thread, the command connection kept up by a supervisor (which
// migrates the schema on each connection), and a way to open more connections.
//
// Lifecycle: start() makes the first connection (a refused login is a ConfigError); from then
// on the supervisor reconnects with backoff whenever the connection fails. close() stops it;
// the destructor stops the loop and joins its thread (not from that thread).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/async_event.hpp"
#include "core/errors.hpp"
#include "core/task.hpp"
#include "transport/outage_log.hpp"
#include "transport/postgres/pg_connection.hpp"
#include "transport/postgres/pg_options.hpp"

namespace herald {

class PgCore {
 public:
  explicit PgCore(PgOptions options);
  ~PgCore();
  PgCore(const PgCore&) = delete;
  PgCore& operator=(const PgCore&) = delete;

  /// The first connection and migration, awaited (not from the loop's thread). Throws
  /// ConfigError when PostgreSQL refuses the login or the database, or the migration fails;
  /// an unreachable server is not an error (the supervisor keeps trying).
  void start();

  const PgOptions& options() const { return options_; }
  /// "<table>_": the prefix of every name.
  const std::string& t() const { return prefix_; }
  const std::string& node_id() const { return node_id_; }
  boost::asio::io_context& io() { return io_; }
  bool up() const { return up_flag_.load(); }
  bool closing() const { return closing_.load(); }
  /// Completes when the command connection is up (at once when it is) or after `timeout`.
  Task<bool> wait_up(Duration timeout);
  /// Counts the (re)connections of the command connection.
  std::uint64_t generation() const { return generation_.load(); }

  /// A statement on the command connection (any thread; completes on the caller's executor).
  /// Errors: transport_failure (down, or PostgreSQL answered an error, which is logged),
  /// closed after close().
  Task<Result<PgResult>> call(std::string sql, std::vector<std::string> params = {}, bool script = false);

  /// A new connection for `role` (loop thread), or the error, logged once per outage.
  Task<std::shared_ptr<PgConnection>> open(const char* role, const PgPairs& conninfo);
  void report_down(const char* role, const std::string& detail);
  void report_up(const char* role);

  Task<void> close();

 private:
  Task<Result<void>> connect();
  Task<void> supervise();
  Task<Result<PgResult>> call_here(std::string sql, std::vector<std::string> params, bool script);
  std::shared_ptr<PgConnection> current() const;

  PgOptions options_;
  std::string prefix_;
  std::string node_id_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  boost::asio::steady_timer wake_{io_};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::shared_ptr<PgConnection> command_;  ///< guarded by mutex_
  std::atomic<bool> up_flag_{false}, closing_{false};
  std::atomic<std::uint64_t> generation_{0};
  AsyncEvent up_, supervisor_done_;
  OutageLog outages_;
  std::string refusal_;  ///< the first connection's refusal, for the ConfigError
  bool supervising_ = false;
};

}  // namespace herald
