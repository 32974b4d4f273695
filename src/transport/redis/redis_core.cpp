#include "transport/redis/redis_core.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "core/config_error.hpp"
#include "core/logging.hpp"
#include "core/uuid.hpp"

namespace herald {
namespace asio = boost::asio;
namespace {
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(2);
}  // namespace

RedisCore::RedisCore(RedisOptions options)
    : options_(std::move(options)), prefix_(options_.stream + ":"), node_id_(make_urn_uuid_v4().substr(9)) {
  thread_ = std::thread([this] { io_.run(); });
}

RedisCore::~RedisCore() {
  closing_ = true;
  asio::post(io_, [this] {
    wake_.cancel();
    if (auto c = current()) c->close();
  });
  asio::post(io_, [this] { io_.stop(); });  // after the connection saw its close
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

void RedisCore::start() {
  auto first = asio::co_spawn(io_, connect(), asio::use_future).get();
  if (!first && first.error() == make_error_code(Errc::unauthorized))
    throw ConfigError("invalid transport_url: Redis refused the connection (" + auth_error_ + ")");
  supervising_ = true;
  asio::co_spawn(io_, supervise(), asio::detached);
}

Task<bool> RedisCore::wait_up(Duration timeout) {
  if (up()) co_return true;
  if (closing_) co_return false;
  bool set = co_await up_.wait_for(timeout);
  co_return set && up();
}

std::shared_ptr<RedisConnection> RedisCore::current() const {
  std::lock_guard lock(mutex_);
  return command_;
}

Task<Result<RedisValue>> RedisCore::call(Args args) {
  auto c = current();
  if (!c || !c->connected()) co_return boost::asio::error::not_connected;
  std::string name = args.front();
  auto reply = co_await c->command(std::move(args));
  if (!reply && reply.error() == boost::asio::error::not_connected) co_return reply.error();
  if (!reply) co_return make_error_code(Errc::transport_failure);
  if (reply->is_error()) {
    logger("redis")->error("redis_command_failed command={} error=\"{}\"", name, reply->str);
    co_return make_error_code(Errc::transport_failure);
  }
  co_return reply;
}

Task<Result<RedisValue>> RedisCore::eval(const RedisScript& script, std::size_t keys, Args keys_then_args) {
  auto c = current();
  if (!c || !c->connected()) co_return boost::asio::error::not_connected;
  Args command{"EVALSHA", script.sha, std::to_string(keys)};
  command.insert(command.end(), std::make_move_iterator(keys_then_args.begin()),
                 std::make_move_iterator(keys_then_args.end()));
  auto reply = co_await c->command(command);
  if (reply && reply->is_error() && reply->str.starts_with("NOSCRIPT")) {
    command[0] = "EVAL";
    command[1] = script.text;
    reply = co_await c->command(std::move(command));
  }
  if (!reply && reply.error() == boost::asio::error::not_connected) co_return reply.error();
  if (!reply) co_return make_error_code(Errc::transport_failure);
  if (reply->is_error()) {
    logger("redis")->error("redis_script_failed error=\"{}\"", reply->str);
    co_return make_error_code(Errc::transport_failure);
  }
  co_return reply;
}

void RedisCore::report_down(const char* role, boost::system::error_code ec, const std::string& detail) {
  // Refused credentials at start become the one-line configuration error instead.
  if (state_.load() == State::starting && ec == make_error_code(Errc::unauthorized)) return;
  if (!outages_.down(role)) return;
  logger("redis")->error("redis_unavailable role={} host={} port={} error=\"{}\"", role, options_.host, options_.port,
                         detail.empty() ? ec.message() : detail);
}

void RedisCore::report_up(const char* role, const std::string& detail) {
  if (outages_.up(role)) logger("redis")->info("redis_reconnected role={} {}", role, detail);
}

/// Opens a new command connection (loop thread).
Task<Result<void>> RedisCore::connect() {
  auto fresh = std::make_shared<RedisConnection>(io_, options_);
  auto r = co_await fresh->connect();
  if (!r) {
    if (r.error() == make_error_code(Errc::unauthorized)) auth_error_ = fresh->error_text();
    report_down("command", r.error(), fresh->error_text());
    if (state_.load() != State::starting) state_ = State::down;
    co_return r;
  }
  fresh->on_fail([this] {
    if (!closing_) state_ = State::down;
    up_.reset();
    wake_.cancel();
  });
  {
    std::lock_guard lock(mutex_);
    command_ = fresh;
  }
  ++generation_;
  state_ = State::up;
  up_.set();
  report_up("command", "");
  logger("redis")->info("redis_connected role=command host={} port={} node={}", options_.host, options_.port, node_id_);
  co_return Result<void>{};
}

/// Keeps the command connection up (loop thread).
Task<void> RedisCore::supervise() {
  auto backoff = Duration(kMinBackoff);
  while (!closing_) {
    if (auto c = current(); !c || !c->connected()) {
      if (state_.load() == State::starting) state_ = State::down;
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
    wake_.expires_after(std::chrono::hours(1));  // until the connection fails (on_fail) or close()
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  supervisor_done_.set();
}

Task<void> RedisCore::close() {
  if (closing_.exchange(true)) co_return;
  asio::post(io_, [this] {
    wake_.cancel();
    if (auto c = current()) c->close();
  });
  if (supervising_) co_await supervisor_done_.wait_for(std::chrono::seconds(5));
  state_ = State::closed;
  up_.set();  // waiters see up() false and give up
}

}  // namespace herald
