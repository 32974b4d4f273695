#include "transport/postgres/pg_core.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "core/config_error.hpp"
#include "core/logging.hpp"
#include "core/uuid.hpp"
#include "transport/postgres/pg_schema.hpp"

namespace herald {
namespace asio = boost::asio;
namespace {
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(2);
}  // namespace

PgCore::PgCore(PgOptions options)
    : options_(std::move(options)), prefix_(options_.table + "_"), node_id_(make_urn_uuid_v4().substr(9)) {
  thread_ = std::thread([this] { io_.run(); });
}

PgCore::~PgCore() {
  closing_ = true;
  asio::post(io_, [this] {
    wake_.cancel();
    if (auto c = current()) c->close();
  });
  asio::post(io_, [this] { io_.stop(); });
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

void PgCore::start() {
  auto first = asio::co_spawn(io_, connect(), asio::use_future).get();
  if (!first && first.error() == make_error_code(Errc::unauthorized))
    throw ConfigError("invalid transport_url: PostgreSQL refused the connection (" + refusal_ + ")");
  if (!first && first.error() == make_error_code(Errc::invalid_argument))
    throw ConfigError("invalid transport_url: the PostgreSQL schema could not be created (" + refusal_ + ")");
  supervising_ = true;
  asio::co_spawn(io_, supervise(), asio::detached);
}

Task<bool> PgCore::wait_up(Duration timeout) {
  if (up()) co_return true;
  if (closing_) co_return false;
  bool set = co_await up_.wait_for(timeout);
  co_return set && up();
}

std::shared_ptr<PgConnection> PgCore::current() const {
  std::lock_guard lock(mutex_);
  return command_;
}

Task<Result<PgResult>> PgCore::call(std::string sql, std::vector<std::string> params, bool script) {
  if (closing_) co_return make_error_code(Errc::closed);
  // The connection lives on the loop: run there, complete on the caller's executor.
  auto r = co_await asio::co_spawn(io_, call_here(std::move(sql), std::move(params), script),
                                   asio::use_awaitable);
  co_return r;
}

Task<Result<PgResult>> PgCore::call_here(std::string sql, std::vector<std::string> params, bool script) {
  auto c = current();
  if (!c || !c->connected()) co_return make_error_code(Errc::transport_failure);
  auto r = co_await c->query(std::move(sql), std::move(params), script);
  if (!r && r.error() == make_error_code(Errc::transport_failure))
    logger("postgres")->error("pg_statement_failed sqlstate={} error=\"{}\"", c->sqlstate(), c->error_text());
  if (!r) co_return make_error_code(Errc::transport_failure);
  co_return r;
}

Task<std::shared_ptr<PgConnection>> PgCore::open(const char* role, const PgPairs& conninfo) {
  auto c = std::make_shared<PgConnection>(io_, conninfo);
  auto r = co_await c->connect(options_.connect_timeout);
  if (!r) {
    bool refused = r.error() == make_error_code(Errc::unauthorized);
    if (refused) refusal_ = c->error_text();
    // A refusal at start becomes the one-line configuration error instead.
    if (!refused || supervising_) report_down(role, c->error_text());
    co_return nullptr;
  }
  co_return c;
}

void PgCore::report_down(const char* role, const std::string& detail) {
  if (!outages_.down(role)) return;
  logger("postgres")->error("pg_unavailable role={} server={} error=\"{}\"", role, options_.host_for_logs, detail);
}

void PgCore::report_up(const char* role) {
  if (outages_.up(role)) logger("postgres")->info("pg_reconnected role={}", role);
}

/// Opens the command connection and migrates the schema (loop thread).
Task<Result<void>> PgCore::connect() {
  refusal_.clear();
  auto fresh = co_await open("command", options_.conninfo);
  if (!fresh) co_return make_error_code(refusal_.empty() ? Errc::transport_failure : Errc::unauthorized);
  auto migrated = co_await fresh->query(pg_schema::migration(options_.table), {}, true);
  if (!migrated) {
    if (!fresh->connected()) co_return make_error_code(Errc::transport_failure);
    refusal_ = fresh->error_text();
    logger("postgres")->error("pg_migration_failed sqlstate={} error=\"{}\"", fresh->sqlstate(), refusal_);
    co_return make_error_code(Errc::invalid_argument);
  }
  fresh->on_fail([this] {
    up_flag_ = false;
    up_.reset();
    wake_.cancel();
  });
  {
    std::lock_guard lock(mutex_);
    command_ = fresh;
  }
  ++generation_;
  up_flag_ = true;
  up_.set();
  report_up("command");
  logger("postgres")->info("pg_connected role=command server={} table={} node={}", options_.host_for_logs,
                           options_.table, node_id_);
  co_return Result<void>{};
}

Task<void> PgCore::supervise() {
  auto backoff = Duration(kMinBackoff);
  while (!closing_) {
    if (auto c = current(); !c || !c->connected()) {
      up_flag_ = false;
      if (!co_await connect()) {
        if (closing_) break;
        wake_.expires_after(backoff);
        co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
        backoff = std::min<Duration>(backoff * 2, kMaxBackoff);
        continue;
      }
      backoff = kMinBackoff;
    }
    if (closing_) break;
    wake_.expires_after(std::chrono::hours(1));
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  supervisor_done_.set();
}

Task<void> PgCore::close() {
  if (closing_.exchange(true)) co_return;
  asio::post(io_, [this] {
    wake_.cancel();
    if (auto c = current()) c->close();
  });
  if (supervising_) co_await supervisor_done_.wait_for(std::chrono::seconds(5));
  up_flag_ = false;
  up_.set();
}

}  // namespace herald
