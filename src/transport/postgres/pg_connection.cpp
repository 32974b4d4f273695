#include "transport/postgres/pg_connection.hpp"

#include <poll.h>
#include <unistd.h>

#include <charconv>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <libpq-fe.h>

#include "core/logging.hpp"

namespace herald {
namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {
/// A query that has not answered within this is taken for a dead connection.
constexpr auto kQueryTimeout = std::chrono::seconds(60);

/// Server messages that mean "this login is refused" rather than "not reachable".
bool is_refusal(const std::string& message) {
  for (const char* s : {"password authentication failed", "no password supplied", "does not exist",
                        "no pg_hba.conf entry", "authentication failed", "permission denied for database"})
    if (message.find(s) != std::string::npos) return true;
  return false;
}

std::string one_line(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return s;
}
}  // namespace

PgResult::PgResult(pg_result* r) : result_(r, PQclear) {}
int PgResult::rows() const { return result_ ? PQntuples(result_.get()) : 0; }
bool PgResult::null(int row, int col) const { return !result_ || PQgetisnull(result_.get(), row, col); }
std::string PgResult::text(int row, int col) const {
  if (null(row, col)) return {};
  return std::string(PQgetvalue(result_.get(), row, col), PQgetlength(result_.get(), row, col));
}
std::int64_t PgResult::integer(int row, int col) const {
  if (null(row, col)) return 0;
  const char* v = PQgetvalue(result_.get(), row, col);
  std::int64_t n = 0;
  std::from_chars(v, v + PQgetlength(result_.get(), row, col), n);
  return n;
}
bool PgResult::boolean(int row, int col) const { return !null(row, col) && PQgetvalue(result_.get(), row, col)[0] == 't'; }

PgConnection::PgConnection(asio::io_context& io, PgPairs conninfo) : io_(io), conninfo_(std::move(conninfo)) {
  idle_.set();
}

PgConnection::~PgConnection() {
  if (descriptor_) descriptor_->close();
  if (conn_) PQfinish(conn_);
}

void PgConnection::close() {
  if (!failed_ && connected_) failed_ = true;
  failed_ = true;
  if (descriptor_) descriptor_->cancel();
}

void PgConnection::fail(const char* what) {
  if (failed_) return;
  failed_ = true;
  if (conn_ && error_text_.empty()) error_text_ = one_line(PQerrorMessage(conn_));
  logger("postgres")->debug("pg_connection_failed during={} error=\"{}\"", what, error_text_);
  if (descriptor_) descriptor_->cancel();
  if (connected_ && on_fail_) {
    auto f = std::move(on_fail_);
    f();
  }
}

/// Watches PQsocket() through a duplicate the descriptor owns (libpq keeps its own).
bool PgConnection::adopt_socket() {
  int s = PQsocket(conn_);
  if (s < 0) return false;
  if (s == socket_ && descriptor_) return true;
  if (descriptor_) descriptor_->close();
  int fd = ::dup(s);
  if (fd < 0) return false;
  descriptor_ = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
  socket_ = s;
  return true;
}

Task<bool> PgConnection::wait_socket(bool write, Duration timeout) {
  if (failed_ || !descriptor_) co_return false;
  asio::steady_timer timer(io_, timeout);
  auto which = write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read;
  auto r = co_await (descriptor_->async_wait(which, asio::as_tuple(asio::use_awaitable)) ||
                     timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (failed_) co_return false;
  if (r.index() != 0) co_return false;
  co_return !std::get<0>(std::get<0>(r));
}

Task<Result<void>> PgConnection::connect(Duration timeout) {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : conninfo_) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectStartParams(keys.data(), values.data(), 0);
  if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) {
    // libpq checks the parameters before it connects: a bad value is a refusal of the settings.
    error_text_ = conn_ ? one_line(PQerrorMessage(conn_)) : "out of memory";
    failed_ = true;
    co_return make_error_code(conn_ ? Errc::unauthorized : Errc::transport_failure);
  }
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto status = PQconnectPoll(conn_);
    if (status == PGRES_POLLING_OK) break;
    if (status == PGRES_POLLING_FAILED) {
      error_text_ = one_line(PQerrorMessage(conn_));
      failed_ = true;
      co_return make_error_code(is_refusal(error_text_) ? Errc::unauthorized : Errc::transport_failure);
    }
    auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
    if (left <= Duration::zero() || !adopt_socket() ||
        !co_await wait_socket(status == PGRES_POLLING_WRITING, left)) {
      error_text_ = "timed out after " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) + " ms";
      failed_ = true;
      co_return make_error_code(Errc::transport_failure);
    }
  }
  // Server notices (NOTICE: relation ... already exists) are not errors: debug log only.
  PQsetNoticeProcessor(
      conn_, [](void*, const char* message) { logger("postgres")->debug("pg_notice {}", one_line(message)); }, nullptr);
  if (PQsetnonblocking(conn_, 1) != 0 || !adopt_socket()) {
    error_text_ = one_line(PQerrorMessage(conn_));
    failed_ = true;
    co_return make_error_code(Errc::transport_failure);
  }
  connected_ = true;
  co_return Result<void>{};
}

bool PgConnection::alive() {
  if (!connected() || busy_) return connected();
  pollfd p{PQsocket(conn_), POLLIN, 0};
  if (::poll(&p, 1, 0) > 0) {
    if (!PQconsumeInput(conn_) || PQstatus(conn_) != CONNECTION_OK) fail("idle");
    else drain_notifications();
  }
  return connected();
}

void PgConnection::drain_notifications() {
  while (PGnotify* n = PQnotifies(conn_)) {
    notified_ = true;
    PQfreemem(n);
  }
}

Task<Result<PgResult>> PgConnection::query(std::string sql, std::vector<std::string> params, bool script) {
  while (busy_ && connected()) {
    idle_.reset();
    co_await idle_.wait_for(kQueryTimeout);
  }
  if (!connected()) co_return make_error_code(asio::error::not_connected);
  busy_ = true;
  struct Done {
    PgConnection* self;
    ~Done() {
      self->busy_ = false;
      self->idle_.set();
    }
  } done{this};
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  int sent = script ? PQsendQuery(conn_, sql.c_str())
                    : PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                        nullptr, nullptr, 0);
  if (!sent) {
    fail("send");
    co_return make_error_code(asio::error::not_connected);
  }
  int flushed;
  while ((flushed = PQflush(conn_)) == 1)
    if (!co_await wait_socket(true, kQueryTimeout)) break;
  if (flushed != 0) {
    fail("flush");
    co_return make_error_code(asio::error::not_connected);
  }
  PgResult last;
  bool sql_error = false;
  for (;;) {
    while (PQisBusy(conn_)) {
      if (!co_await wait_socket(false, kQueryTimeout) || !PQconsumeInput(conn_)) {
        fail("read");
        co_return make_error_code(asio::error::not_connected);
      }
    }
    pg_result* r = PQgetResult(conn_);
    if (!r) break;
    auto status = PQresultStatus(r);
    if (status == PGRES_FATAL_ERROR && !sql_error) {
      sql_error = true;
      error_text_ = one_line(PQresultErrorMessage(r));
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      sqlstate_ = state ? state : "";
    }
    last = PgResult(r);
  }
  drain_notifications();
  if (PQstatus(conn_) != CONNECTION_OK) {
    fail("query");
    co_return make_error_code(asio::error::not_connected);
  }
  if (sql_error) co_return make_error_code(Errc::transport_failure);
  co_return last;
}

Task<Result<bool>> PgConnection::wait_notification(Duration timeout) {
  if (!connected()) co_return Result<bool>(boost::system::in_place_error, make_error_code(asio::error::not_connected));
  if (std::exchange(notified_, false)) co_return Result<bool>(boost::system::in_place_value, true);
  bool readable = co_await wait_socket(false, timeout);
  if (failed_) co_return Result<bool>(boost::system::in_place_error, make_error_code(asio::error::not_connected));
  if (readable) {
    if (!PQconsumeInput(conn_)) {
      fail("listen");
      co_return Result<bool>(boost::system::in_place_error, make_error_code(asio::error::not_connected));
    }
    drain_notifications();
  }
  co_return Result<bool>(boost::system::in_place_value, std::exchange(notified_, false));
}

}  // namespace herald
