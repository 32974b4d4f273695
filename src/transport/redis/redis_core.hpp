#pragma once
// What the parts of the Redis transport share (redis_log, redis_presence, redis_leases): the
// options, one event loop thread, the command connection kept up by a supervisor, and the
// runner of commands and scripts on it.
//
// Lifecycle: starting -> up <-> down -> closed. start() makes the first connection (refused
// credentials are a ConfigError); from then on a supervisor reconnects with backoff whenever
// the connection fails, and signals each (re)connection (wait_up, generation). close() stops
// the supervisor and closes the connection without blocking its caller; the destructor stops
// the loop and joins its thread (not from that thread).
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
#include "transport/redis/redis_connection.hpp"
#include "transport/redis/redis_options.hpp"
#include "transport/redis/redis_script.hpp"
#include "transport/redis/redis_value.hpp"

namespace herald {

class RedisCore {
 public:
  using Args = std::vector<std::string>;
  enum class State { starting, up, down, closed };

  explicit RedisCore(RedisOptions options);
  ~RedisCore();
  RedisCore(const RedisCore&) = delete;
  RedisCore& operator=(const RedisCore&) = delete;

  /// The first connection, awaited (not from the loop's thread). Throws ConfigError when
  /// Redis refuses the credentials or the database; an unreachable Redis is not an error
  /// (the supervisor keeps trying, the transport reports unhealthy meanwhile).
  void start();

  const RedisOptions& options() const { return options_; }
  /// "<stream>:", the prefix of every key but the stream's.
  const std::string& prefix() const { return prefix_; }
  const std::string& node_id() const { return node_id_; }
  boost::asio::io_context& io() { return io_; }
  State state() const { return state_.load(); }
  bool up() const { return state_.load() == State::up; }
  /// Completes when the command connection is up (at once when it is) or after `timeout`.
  Task<bool> wait_up(Duration timeout);
  /// Counts the (re)connections: a part that sees it change knows Redis may have lost its
  /// records (a restart without persistence) and writes them again.
  std::uint64_t generation() const { return generation_.load(); }

  /// A command on the command connection. Errors: not_connected when nothing was sent,
  /// transport_failure otherwise (an error reply is logged and is a transport_failure).
  Task<Result<RedisValue>> call(Args args);
  /// A script by digest (its text only when Redis lacks it): KEYS are the first `keys` args.
  Task<Result<RedisValue>> eval(const RedisScript& script, std::size_t keys, Args keys_then_args);

  /// Logs an outage of `role` once (not once per retry); report_up logs its end.
  void report_down(const char* role, boost::system::error_code ec, const std::string& detail);
  void report_up(const char* role, const std::string& detail);

  /// Stops the supervisor and closes the connection; completes on the caller's executor.
  /// Idempotent. Calls in flight fail; later calls answer not_connected.
  Task<void> close();

 private:
  Task<Result<void>> connect();
  Task<void> supervise();
  std::shared_ptr<RedisConnection> current() const;

  RedisOptions options_;
  std::string prefix_;
  std::string node_id_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  boost::asio::steady_timer wake_{io_};  ///< the supervisor's sleep; cancelled when the connection fails
  std::thread thread_;
  mutable std::mutex mutex_;
  std::shared_ptr<RedisConnection> command_;  ///< guarded by mutex_
  std::atomic<State> state_{State::starting};
  std::atomic<bool> closing_{false};
  std::atomic<std::uint64_t> generation_{0};
  AsyncEvent up_;
  AsyncEvent supervisor_done_;
  OutageLog outages_;
  std::string auth_error_;
  bool supervising_ = false;
};

}  // namespace herald
