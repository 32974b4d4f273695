#pragma once
// One libpq connection driven by Asio, without blocking its event loop: the socket
// (PQsocket) is watched for readiness, libpq does the protocol (PQconnectPoll,
// PQsendQueryParams, PQflush, PQconsumeInput, PQisBusy, PQgetResult, PQnotifies).
//
// Threads: every method on the io_context's one thread. Queries on one connection run one at
// a time, in the order they were called (a later caller waits for the earlier to finish).
// Lifetime: held by shared_ptr; close() fails what is in flight; the destructor PQfinish-es.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "core/async_event.hpp"
#include "core/duration.hpp"
#include "core/errors.hpp"
#include "core/task.hpp"

struct pg_conn;
struct pg_result;

namespace herald {

/// A result set (text values), owning its PGresult.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* r);
  int rows() const;
  bool null(int row, int col) const;
  std::string text(int row, int col) const;
  std::int64_t integer(int row, int col) const;  ///< 0 when null or not a number
  bool boolean(int row, int col) const;          ///< PostgreSQL's "t"

 private:
  std::shared_ptr<pg_result> result_;
};

using PgPairs = std::vector<std::pair<std::string, std::string>>;

class PgConnection : public std::enable_shared_from_this<PgConnection> {
 public:
  PgConnection(boost::asio::io_context& io, PgPairs conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  /// Connects within `timeout`. Errors: Errc::unauthorized when the server refused this
  /// login (password, user or database: error_text() says which), timed_out, or
  /// transport_failure (unreachable, refused, TLS...), with error_text() set.
  Task<Result<void>> connect(Duration timeout);
  /// Runs `sql` with text parameters $1..$n (or, with `script`, several statements without
  /// parameters); completes with the last statement's result. Errors: transport_failure when
  /// PostgreSQL answered with an error (error_text(), sqlstate(); the connection stays up),
  /// not_connected when the connection failed or was closed (it stays failed).
  Task<Result<PgResult>> query(std::string sql, std::vector<std::string> params = {}, bool script = false);
  /// Completes when a NOTIFY arrived (true) or after `timeout` (false). Notifications that
  /// arrived during a query count. Errors: not_connected.
  Task<Result<bool>> wait_notification(Duration timeout);

  bool connected() const { return connected_ && !failed_; }
  /// connected(), after reading what the socket holds without waiting: a connection the
  /// server closed while it was idle reports false here rather than fail the next query.
  bool alive();
  /// Called once, on the loop thread, when the connection fails after it was up.
  void on_fail(std::function<void()> f) { on_fail_ = std::move(f); }
  void close();
  const std::string& error_text() const { return error_text_; }
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  Task<bool> wait_socket(bool write, Duration timeout);
  bool adopt_socket();
  void fail(const char* what);
  void drain_notifications();

  boost::asio::io_context& io_;
  PgPairs conninfo_;
  pg_conn* conn_ = nullptr;
  int socket_ = -1;  ///< the PQsocket the descriptor duplicates
  std::unique_ptr<boost::asio::posix::stream_descriptor> descriptor_;
  bool connected_ = false, failed_ = false, busy_ = false, notified_ = false;
  AsyncEvent idle_;
  std::function<void()> on_fail_;
  std::string error_text_, sqlstate_;
};

}  // namespace herald
