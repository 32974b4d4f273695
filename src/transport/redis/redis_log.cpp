#include "transport/redis/redis_log.hpp"

#include <chrono>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/logging.hpp"
#include "transport/redis/redis_codec.hpp"
#include "transport/redis/redis_scripts.hpp"
#include "transport/update_codec.hpp"

namespace herald {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
namespace {
using Args = RedisCore::Args;
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(2);
constexpr const char* kReadCount = "1000";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class RedisLog final : public Log {
 public:
  explicit RedisLog(std::shared_ptr<RedisCore> core)
      : core_(std::move(core)), prefix_(core_->prefix()), publish_(redis_scripts::kPublish) {
    bus_done_.set();
  }
  /// Without close(), ends the bus here (blocking, bounded; not on the core's thread).
  ~RedisLog() override {
    if (!closing_.exchange(true))
      asio::post(core_->io(), [this] {
        retry_.cancel();
        if (bus_connection_) bus_connection_->close();
      });
    bus_done_.wait_blocking(std::chrono::seconds(5));
  }

  LogCapabilities capabilities() const override { return {.resolves_ids = true, .multi_node = true}; }

  /// While Redis is unreachable a publish waits for the connection (connect_timeout at most),
  /// so a Redis restart or failover costs publishers latency, not errors. Only a publish that
  /// was never sent is retried: one whose connection failed after sending may have been
  /// applied, and is reported as failed rather than risk a duplicate.
  Task<Result<Seq>> publish(UpdatePtr update) override {
    const auto& o = core_->options();
    Args args{o.stream, prefix_ + "seq", prefix_ + "ids", prefix_ + "events", prefix_ + "gone",
              encode_stored_update(*update, now_ms()), update->id, std::to_string(o.max_len_approx),
              update->subscription_event ? "1" : "0", std::to_string(o.events_size)};
    auto deadline = Clock::now() + o.connect_timeout;
    for (;;) {
      if (closing_) co_return make_error_code(Errc::closed);
      // Either connection seen down means Redis is: wait, rather than send on a connection
      // whose failure this node has not noticed yet (the outcome would be unknown).
      auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
      if (left <= Duration::zero()) co_return make_error_code(Errc::transport_failure);
      if (!co_await core_->wait_up(left)) continue;
      if (listening_ && !bus_up_.is_set()) {
        co_await bus_up_.wait_for(left);
        continue;
      }
      Args attempt = args;
      auto reply = co_await core_->eval(publish_, 5, std::move(attempt));
      if (!reply && reply.error() == boost::asio::error::not_connected) continue;  // never sent
      if (!reply) co_return reply.error();
      auto seq = reply->as_integer();
      if (!seq || *seq <= 0) co_return make_error_code(Errc::transport_failure);
      co_return Seq(*seq);
    }
  }

  Task<Result<void>> listen(LogListener& listener, FlowGate& gate) override {
    if (closing_) co_return make_error_code(Errc::closed);
    listener_ = &listener;
    gate_ = &gate;
    listening_ = true;
    // The position to deliver from: the newest seq now, so updates published from here on
    // reach the listener. When Redis is not reachable yet, the bus takes it on connecting.
    if (auto h = co_await head()) start_position_ = *h;
    bus_done_.reset();
    asio::co_spawn(core_->io(), bus(), asio::detached);
    co_return Result<void>{};
  }

  Task<Result<Seq>> find(std::string id) override {
    Args args{"ZSCORE", prefix_ + "ids", std::move(id)};
    auto reply = co_await call(std::move(args));
    if (!reply) co_return reply.error();
    auto seq = reply->as_integer();
    if (reply->is_nil() || !seq) co_return make_error_code(Errc::not_found);
    co_return Seq(*seq);
  }

  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) override {
    if (limit == 0) {
      // Nothing to read, but a reader before a trim is still told.
      auto first = co_await earliest();
      if (!first) co_return first.error();
      if (after < *first && !co_await hole_is_events(after, *first + 1)) co_return make_error_code(Errc::not_found);
      co_return std::vector<Stored>{};
    }
    Args args{"XRANGE", core_->options().stream, std::to_string(after + 1) + "-0", "+", "COUNT", std::to_string(limit)};
    auto reply = co_await call(std::move(args));
    if (!reply) co_return reply.error();
    std::vector<Stored> out;
    for (const auto& entry : reply->elements) {
      auto stored = decode_entry(entry);
      if (!stored) continue;
      if (out.empty() && stored->seq != after + 1 && !co_await hole_is_events(after, stored->seq))
        co_return make_error_code(Errc::not_found);
      out.push_back(std::move(*stored));
    }
    if (out.empty()) {
      // Nothing past `after` is retained: fine when `after` is the head, a trim otherwise.
      auto h = co_await head();
      if (!h) co_return h.error();
      if (after < *h && !co_await hole_is_events(after, *h + 1)) co_return make_error_code(Errc::not_found);
    }
    co_return out;
  }

  Task<Result<Seq>> head() override {
    Args args{"GET", prefix_ + "seq"};
    auto reply = co_await call(std::move(args));
    if (!reply) co_return reply.error();
    if (reply->is_nil()) co_return Seq(0);
    auto seq = reply->as_integer();
    if (!seq) co_return make_error_code(Errc::transport_failure);
    co_return Seq(*seq);
  }

  Task<Result<Seq>> earliest() override {
    Args args{"XRANGE", core_->options().stream, "-", "+", "COUNT", "1"};
    auto reply = co_await call(std::move(args));
    if (!reply) co_return reply.error();
    if (!reply->elements.empty()) {
      auto stored = decode_entry(reply->elements.front());
      if (stored) co_return stored->seq - 1;
    }
    co_return co_await head();  // nothing retained: everything up to the head is gone
  }

  Task<Result<std::string>> last_event_id() override {
    Args args{"XREVRANGE", core_->options().stream, "+", "-", "COUNT", "1"};
    auto reply = co_await call(std::move(args));
    if (!reply) co_return reply.error();
    if (reply->elements.empty()) co_return std::string("earliest");
    auto stored = decode_entry(reply->elements.front());
    if (!stored) co_return std::string("earliest");
    co_return stored->update->id;
  }

  bool healthy() const override { return core_->up() && (!listening_ || bus_up_.is_set()); }

  /// Ends the bus (awaited, bounded): no listener call after this returns.
  Task<void> close() override {
    if (closing_.exchange(true)) co_return;
    asio::post(core_->io(), [this] {
      retry_.cancel();
      if (bus_connection_) bus_connection_->close();
    });
    co_await bus_done_.wait_for(std::chrono::seconds(5));
    listener_ = nullptr;
  }

 private:
  Task<Result<RedisValue>> call(Args args) {
    if (closing_) co_return make_error_code(Errc::closed);
    auto reply = co_await core_->call(std::move(args));
    if (!reply && reply.error() == boost::asio::error::not_connected) co_return make_error_code(Errc::transport_failure);
    co_return reply;
  }

  /// True when every seq strictly between `after` and `next` is a subscription event that
  /// gave way to newer ones (P:gone): such a hole is not a gap. False on any doubt.
  Task<bool> hole_is_events(Seq after, Seq next) {
    if (next <= after + 1) co_return true;
    Args args{"ZCOUNT", prefix_ + "gone", "(" + std::to_string(after), "(" + std::to_string(next)};
    auto reply = co_await call(std::move(args));
    co_return reply && reply->as_integer() && Seq(*reply->as_integer()) == next - after - 1;
  }

  /// Opens the bus connection and settles the position (loop thread). False: retry later.
  Task<bool> connect_bus(std::optional<Seq>& position) {
    bus_up_.reset();
    bus_connection_ = std::make_shared<RedisConnection>(core_->io(), core_->options());
    auto r = co_await bus_connection_->connect();
    Result<RedisValue> head_reply = make_error_code(Errc::transport_failure);
    Args get{"GET", prefix_ + "seq"};
    if (r) head_reply = co_await bus_connection_->command(std::move(get));
    if (!r || !head_reply || head_reply->is_error()) {
      core_->report_down("bus", r ? make_error_code(Errc::transport_failure) : r.error(), bus_connection_->error_text());
      if (auto* l = listener_.load(); l && !closing_) l->on_error(r ? make_error_code(Errc::transport_failure) : r.error());
      co_return false;
    }
    Seq head = Seq(head_reply->as_integer().value_or(0));
    if (!position) {
      position = head;
    } else if (head < *position) {
      // The stream is older than what this node delivered: Redis lost its data.
      logger("redis")->error("redis_stream_reset delivered={} head={}", *position, head);
      if (auto* l = listener_.load()) l->on_gap();
      position = 0;
    }
    core_->report_up("bus", "resume_after=" + std::to_string(*position));
    bus_up_.set();
    co_return true;
  }

  /// Reads the stream and hands entries to the listener in seq order (loop thread).
  Task<void> bus() {
    auto backoff = Duration(kMinBackoff);
    std::optional<Seq> position = start_position_;
    while (!closing_) {
      if (!bus_connection_ || !bus_connection_->connected()) {
        if (!co_await connect_bus(position)) {
          if (closing_) break;
          retry_.expires_after(backoff);
          co_await retry_.async_wait(asio::as_tuple(asio::use_awaitable));
          backoff = std::min<Duration>(backoff * 2, kMaxBackoff);
          continue;
        }
        backoff = kMinBackoff;
      }
      co_await gate_->wait();  // the shards are behind: stop reading until they catch up
      if (closing_) break;
      Args xread{"XREAD", "COUNT", kReadCount, "BLOCK", "1000", "STREAMS", core_->options().stream,
                 std::to_string(*position) + "-0"};
      auto reply = co_await bus_connection_->command(std::move(xread));
      if (!reply) continue;  // the connection failed: reconnect and resume from position
      if (reply->is_error()) {
        logger("redis")->error("redis_read_failed error=\"{}\"", reply->str);
        bus_connection_->close();
        continue;
      }
      if (reply->is_nil() || reply->elements.empty()) continue;
      const RedisValue& stream_reply = reply->elements.front();  // [stream name, entries]
      if (stream_reply.elements.size() != 2) continue;
      for (const auto& entry : stream_reply.elements[1].elements) co_await deliver(entry, *position);
    }
    bus_up_.reset();
    bus_done_.set();
  }

  Task<void> deliver(const RedisValue& entry, Seq& position) {
    Seq seq = entry.elements.empty() ? 0 : seq_of_entry_id(entry.elements[0].str);
    if (seq <= position || closing_) co_return;
    if (position > 0 && seq != position + 1 && !co_await hole_is_events(position, seq)) {
      logger("redis")->error("redis_gap after={} next={} note=\"updates were trimmed before this node read them\"",
                             position, seq);
      if (auto* l = listener_.load()) l->on_gap();
    }
    position = seq;
    auto stored = decode_entry(entry);
    if (!stored) {
      logger("redis")->error("redis_bad_entry seq={}", seq);
      co_return;
    }
    if (auto* l = listener_.load(); l && !closing_) l->on_update(std::move(*stored));
  }

  std::shared_ptr<RedisCore> core_;
  std::string prefix_;
  RedisScript publish_;
  std::atomic<LogListener*> listener_{nullptr};
  FlowGate* gate_ = nullptr;
  std::optional<Seq> start_position_;
  std::atomic<bool> listening_{false}, closing_{false};
  AsyncEvent bus_up_, bus_done_;
  std::shared_ptr<RedisConnection> bus_connection_;  ///< loop thread only
  asio::steady_timer retry_{core_->io()};
};

}  // namespace

std::unique_ptr<Log> make_redis_log(std::shared_ptr<RedisCore> core) { return std::make_unique<RedisLog>(std::move(core)); }

}  // namespace herald
