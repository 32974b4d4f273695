// Redis transport: a Redis stream is the cluster's log and its bus.
//
// Publishing runs one Lua script (redis_scripts.hpp) that takes the next seq (INCR), appends
// the update to the stream under the entry id "<seq>-0", indexes its event id, and trims the
// index with the stream: one atomic step, so one order holds everywhere. Subscription events
// are bounded apart (events_size), so presence churn never pushes updates out.
// Every node reads the stream from the last seq it delivered (XREAD BLOCK on a connection of
// its own) and hands entries to the hub in seq order. After a disconnect it reconnects with
// backoff and resumes from that seq; since seqs are dense (but for subscription events that
// gave way to newer ones, recorded in P:gone), any other hole means entries were trimmed
// before this node read them, and the hub disconnects its subscribers rather than skip.
//
// Presence: each node keeps its subscribers in a hash of its own and heartbeats into a
// sorted set (Redis server time, so node clocks do not matter). A node silent for longer than
// presence_ttl is reaped by a script that returns its subscribers to exactly one caller,
// which publishes their "inactive" events (Listener::on_subscribers_lost).
//
// Threads: the transport runs its own event loop thread. Commands may be issued from any
// thread (RedisConnection posts them), and complete on the caller's executor.
#include "transport/redis/redis_transport.hpp"

#include <unistd.h>

#include <openssl/evp.h>

#include <charconv>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/logging.hpp"
#include "core/uuid.hpp"
#include "transport/local_presence.hpp"
#include "transport/redis/redis_codec.hpp"
#include "transport/redis/redis_connection.hpp"
#include "transport/redis/redis_options.hpp"
#include "transport/redis/redis_scripts.hpp"
#include "transport/update_codec.hpp"

namespace herald {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
namespace {

using Args = std::vector<std::string>;
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(2);

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string sha1_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

struct Script {
  explicit Script(const char* t) : text(t), sha(sha1_hex(t)) {}
  std::string text;
  std::string sha;
};

class RedisTransport final : public Transport {
 public:
  explicit RedisTransport(RedisOptions options)
      : options_(std::move(options)),
        prefix_(options_.stream + ":"),
        node_id_(make_urn_uuid_v4().substr(9)),
        started_at_(now_ms()),
        publish_(redis_scripts::kPublish),
        heartbeat_(redis_scripts::kHeartbeat),
        reap_(redis_scripts::kReap),
        presence_(redis_scripts::kPresence) {
    thread_ = std::thread([this] { io_.run(); });
  }

  ~RedisTransport() override { stop(); }

  /// The first connection, awaited: credentials or a database Redis refuses are a
  /// configuration error.
  void start() {
    auto first = asio::co_spawn(io_, first_connect(), asio::use_future).get();
    if (!first && first.error() == make_error_code(Errc::unauthorized))
      throw ConfigError("invalid transport_url: Redis refused the connection (" + auth_error_ + ")");
    started_ = true;
    asio::co_spawn(io_, supervise(), asio::detached);
  }

  /// While Redis is unreachable a publish waits for the connection (connect_timeout at
  /// most), so a Redis restart or failover costs publishers latency, not errors. Only a
  /// publish that was never sent is retried: one whose connection failed after sending may
  /// have been applied, and is reported as failed rather than risk a duplicate.
  Task<Result<Seq>> publish(UpdatePtr update) override {
    std::string id = update->id;
    Args args{options_.stream, prefix_ + "seq", prefix_ + "ids", prefix_ + "events", prefix_ + "gone",
              encode_stored_update(*update, now_ms()), std::move(id), std::to_string(options_.max_len_approx),
              update->subscription_event ? "1" : "0", std::to_string(options_.events_size)};
    auto deadline = Clock::now() + options_.connect_timeout;
    Result<RedisValue> reply = make_error_code(Errc::transport_failure);
    for (;;) {
      // Either connection seen down means Redis is: wait, rather than send on a connection
      // whose failure this node has not noticed yet (the outcome would be unknown).
      if (command_up_ && (!listening_ || bus_up_)) {
        Args attempt = args;
        reply = co_await eval(publish_, 5, std::move(attempt));
        if (reply || reply.error() != boost::asio::error::not_connected) break;
      }
      if (closing_ || Clock::now() >= deadline) co_return make_error_code(Errc::transport_failure);
      auto executor = co_await asio::this_coro::executor;
      asio::steady_timer retry(executor, std::chrono::milliseconds(20));
      co_await retry.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (!reply) co_return reply.error();
    auto seq = reply->as_integer();
    if (!seq || *seq <= 0) co_return make_error_code(Errc::transport_failure);
    co_return Seq(*seq);
  }

  Task<Result<void>> listen(Listener& listener) override {
    listener_ = &listener;
    listening_ = true;
    // The position to deliver from: the newest seq now, so updates published from here on
    // reach the listener. When Redis is not reachable yet, the bus takes it on connecting.
    auto head_now = co_await head();
    if (head_now) start_position_ = *head_now;
    asio::co_spawn(io_, bus(), asio::detached);
    co_return Result<void>{};
  }

  Task<Result<Seq>> find(std::string last_event_id) override {
    if (last_event_id == "earliest") co_return Seq(0);
    Args args{"ZSCORE", prefix_ + "ids", std::move(last_event_id)};
    auto reply = co_await call(std::move(args));
    if (!reply) co_return reply.error();
    auto seq = reply->as_integer();
    if (reply->is_nil() || !seq) co_return make_error_code(Errc::not_found);
    co_return Seq(*seq);
  }

  /// True when every seq strictly between `after` and `next` is a subscription event that
  /// gave way to newer ones (P:gone): such a hole is not a gap. False on any doubt.
  Task<bool> hole_is_events(Seq after, Seq next) {
    Args args{"ZCOUNT", prefix_ + "gone", "(" + std::to_string(after), "(" + std::to_string(next)};
    auto reply = co_await call(std::move(args));
    co_return reply && reply->as_integer() && Seq(*reply->as_integer()) == next - after - 1;
  }

  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) override {
    Args args{"XRANGE", options_.stream, std::to_string(after + 1) + "-0", "+", "COUNT", std::to_string(limit)};
    auto reply = co_await call(std::move(args));
    if (!reply) co_return reply.error();
    std::vector<Stored> out;
    for (const auto& entry : reply->elements) {
      auto stored = decode_entry(entry);
      if (!stored) continue;
      // Seqs are dense but for events that gave way: any other hole right after `after`
      // means what followed it was trimmed.
      if (out.empty() && after > 0 && stored->seq != after + 1 && !co_await hole_is_events(after, stored->seq))
        co_return make_error_code(Errc::not_found);
      out.push_back(std::move(*stored));
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

  Task<Result<std::string>> last_event_id() override {
    Args args{"XREVRANGE", options_.stream, "+", "-", "COUNT", "1"};
    auto reply = co_await call(std::move(args));
    if (!reply) co_return reply.error();
    if (reply->elements.empty()) co_return std::string("earliest");
    auto stored = decode_entry(reply->elements.front());
    if (!stored) co_return std::string("earliest");
    co_return stored->update->id;
  }

  Task<Result<void>> announce(SubscriberInfo subscriber, bool online) override {
    std::string id = subscriber.id;
    std::string record = encode_presence(subscriber);
    own_.announce(std::move(subscriber), online);
    Args args{"HDEL", subs_key(), std::move(id)};
    if (online) {
      args[0] = "HSET";
      args.push_back(std::move(record));
    }
    auto reply = co_await call(std::move(args));
    if (!reply) co_return reply.error();
    co_return Result<void>{};
  }

  Task<Result<std::vector<SubscriberInfo>>> presence() override {
    Args args{prefix_ + "nodes", prefix_, std::to_string(ttl_ms())};
    auto reply = co_await eval(presence_, 1, std::move(args));
    if (!reply) co_return make_error_code(Errc::transport_failure);
    std::vector<SubscriberInfo> out;
    for (const auto& record : reply->elements)
      if (auto s = decode_presence(record.str)) out.push_back(std::move(*s));
    co_return out;
  }

  void describe_node(std::string address) override {
    asio::post(io_, [this, a = std::move(address)]() mutable { address_ = std::move(a); });
  }

  bool healthy() const override { return command_up_.load() && bus_up_.load(); }

  Task<void> close() override {
    if (!closing_.exchange(true) && started_) {
      // The supervisor leaves the registry as it ends (after any heartbeat in flight, which
      // would otherwise register the node again); wait for that, boundedly.
      asio::post(io_, [this] { wake_.cancel(); });
      left_.get_future().wait_for(std::chrono::seconds(2));
    }
    stop();
    co_return;
  }

 private:
  std::string subs_key() const { return prefix_ + "subs:" + node_id_; }
  std::int64_t ttl_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(options_.presence_ttl).count();
  }

  void stop() {
    closing_ = true;
    std::call_once(stopped_, [this] {
      asio::post(io_, [this] {
        wake_.cancel();
        if (auto c = current()) c->close();
        if (bus_connection_) bus_connection_->close();
      });
      // Let the loops see their connections fail, then stop the loop.
      asio::post(io_, [this] { io_.stop(); });
      work_.reset();
      if (thread_.joinable()) thread_.join();
    });
  }

  std::shared_ptr<RedisConnection> current() const {
    std::lock_guard lock(mutex_);
    return command_;
  }

  /// A command on the command connection; an error reply is a transport failure (logged).
  Task<Result<RedisValue>> call(std::vector<std::string> args) {
    auto c = current();
    if (!c || !c->connected()) co_return make_error_code(Errc::transport_failure);
    std::string name = args.front();
    auto reply = co_await c->command(std::move(args));
    if (!reply) co_return make_error_code(Errc::transport_failure);
    if (reply->is_error()) {
      logger("redis")->error("redis_command_failed command={} error=\"{}\"", name, reply->str);
      co_return make_error_code(Errc::transport_failure);
    }
    co_return reply;
  }

  /// Runs a script by its digest, sending its text only when Redis does not have it yet.
  /// `keys_then_args`: the script's KEYS (the first `keys`), then its ARGV.
  /// Errors: not_connected when nothing was sent (no connection), transport_failure otherwise.
  Task<Result<RedisValue>> eval(const Script& script, std::size_t keys, Args keys_then_args) {
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

  /// Connects and registers the node, so it is listed from the moment it starts.
  Task<Result<void>> first_connect() {
    auto r = co_await connect_command();
    if (r) co_await beat();
    co_return r;
  }

  /// Opens a new command connection (transport thread).
  Task<Result<void>> connect_command() {
    auto fresh = std::make_shared<RedisConnection>(io_, options_);
    auto r = co_await fresh->connect();
    if (!r) {
      if (r.error() == make_error_code(Errc::unauthorized)) auth_error_ = fresh->error_text();
      report_down("command", r.error(), fresh->error_text());
      co_return r;
    }
    fresh->on_fail([this] { wake_.cancel(); });
    {
      std::lock_guard lock(mutex_);
      command_ = fresh;
    }
    command_up_ = true;
    logger("redis")->info("redis_connected role=command host={} port={} node={}", options_.host, options_.port,
                          node_id_);
    co_return Result<void>{};
  }

  void report_down(const char* role, boost::system::error_code ec, const std::string& detail) {
    // Refused credentials at start become the one-line configuration error instead.
    if (!started_ && ec == make_error_code(Errc::unauthorized)) return;
    // Logged once per outage, not once per retry.
    auto& reported = std::string_view(role) == "bus" ? bus_down_reported_ : command_down_reported_;
    if (reported) return;
    reported = true;
    logger("redis")->error("redis_unavailable role={} host={} port={} error=\"{}\"", role, options_.host,
                           options_.port, detail.empty() ? ec.message() : detail);
  }

  /// Keeps the command connection up, heartbeats, and reaps dead nodes (transport thread).
  Task<void> supervise() {
    auto backoff = Duration(kMinBackoff);
    Clock::time_point next_beat{};
    while (!closing_) {
      auto c = current();
      if (!c || !c->connected()) {
        command_up_ = false;
        auto r = co_await connect_command();
        if (!r) {
          co_await pause(backoff);
          backoff = std::min<Duration>(backoff * 2, kMaxBackoff);
          continue;
        }
        command_down_reported_ = false;
        backoff = kMinBackoff;
        co_await resync_presence();
        next_beat = {};
      }
      if (Clock::now() >= next_beat) {
        co_await beat();
        next_beat = Clock::now() + options_.presence_ttl / 3;
      }
      if (closing_) break;  // close() sets it before it cancels wake_
      wake_.expires_at(next_beat);
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    // Leave the registry at once rather than after presence_ttl (best effort).
    if (auto c = current(); c && c->connected()) {
      Args del{"DEL", subs_key(), prefix_ + "node:" + node_id_};
      co_await call(std::move(del));
      Args zrem{"ZREM", prefix_ + "nodes", node_id_};
      co_await call(std::move(zrem));
    }
    left_.set_value();
  }

  Task<void> pause(Duration d) {
    if (closing_) co_return;
    wake_.expires_after(d);
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  /// After a reconnect Redis may have lost this node's records (restart without
  /// persistence): write them again from the node's own list.
  Task<void> resync_presence() {
    auto own = own_.list();
    Args del{"DEL", subs_key()};
    co_await call(std::move(del));
    for (auto& s : own) {
      std::string id = s.id;
      Args hset{"HSET", subs_key(), std::move(id), encode_presence(s)};
      co_await call(std::move(hset));
    }
  }

  Task<void> beat() {
    nlohmann::json info{{"id", node_id_},       {"address", address_}, {"pid", ::getpid()}, {"host", hostname()},
                        {"started_at_ms", started_at_}, {"subscribers", own_.size()}};
    Args beat_args{prefix_ + "nodes", prefix_ + "node:" + node_id_, node_id_, info.dump(),
                   std::to_string(ttl_ms() * 2)};
    auto r = co_await eval(heartbeat_, 2, std::move(beat_args));
    if (!r) co_return;
    if (r->as_integer().value_or(0) == 1 && registered_) {
      // Another node reaped this one during a silence (e.g. a Redis outage longer than
      // presence_ttl) and dropped its subscribers: write them again.
      logger("redis")->warn("redis_presence_restored node={}", node_id_);
      co_await resync_presence();
    }
    registered_ = true;
    Args reap_args{prefix_ + "nodes", prefix_, std::to_string(ttl_ms())};
    auto lost = co_await eval(reap_, 1, std::move(reap_args));
    if (!lost || lost->elements.empty()) co_return;
    std::vector<SubscriberInfo> subscribers;
    for (const auto& record : lost->elements)
      if (auto s = decode_presence(record.str)) subscribers.push_back(std::move(*s));
    logger("redis")->warn("redis_node_reaped subscribers={}", subscribers.size());
    if (auto* l = listener_.load(); l && !subscribers.empty()) l->on_subscribers_lost(std::move(subscribers));
  }

  static std::string hostname() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
  }

  /// Reads the stream and hands entries to the listener in seq order (transport thread).
  Task<void> bus() {
    auto backoff = Duration(kMinBackoff);
    std::optional<Seq> position = start_position_;
    asio::steady_timer retry(io_);
    while (!closing_) {
      if (!bus_connection_ || !bus_connection_->connected()) {
        bus_up_ = false;
        bus_connection_ = std::make_shared<RedisConnection>(io_, options_);
        auto r = co_await bus_connection_->connect();
        Result<RedisValue> head_reply = make_error_code(Errc::transport_failure);
        Args get{"GET", prefix_ + "seq"};
        if (r) head_reply = co_await bus_connection_->command(std::move(get));
        if (!r || !head_reply || head_reply->is_error()) {
          report_down("bus", r ? make_error_code(Errc::transport_failure) : r.error(), bus_connection_->error_text());
          if (closing_) break;
          retry.expires_after(backoff);
          co_await retry.async_wait(asio::as_tuple(asio::use_awaitable));
          backoff = std::min<Duration>(backoff * 2, kMaxBackoff);
          continue;
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
        if (bus_down_reported_) logger("redis")->info("redis_reconnected role=bus resume_after={}", *position);
        bus_down_reported_ = false;
        backoff = kMinBackoff;
        bus_up_ = true;
      }
      Args xread{"XREAD", "COUNT", "1000", "BLOCK", "1000", "STREAMS", options_.stream,
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
      for (const auto& entry : stream_reply.elements[1].elements) {
        Seq seq = entry.elements.empty() ? 0 : seq_of_entry_id(entry.elements[0].str);
        if (seq <= *position) continue;
        if (*position > 0 && seq != *position + 1 && !co_await hole_is_events(*position, seq)) {
          logger("redis")->error("redis_gap after={} next={} note=\"updates were trimmed before this node read them\"",
                                 *position, seq);
          if (auto* l = listener_.load()) l->on_gap();
        }
        position = seq;
        auto stored = decode_entry(entry);
        if (!stored) {
          logger("redis")->error("redis_bad_entry seq={}", seq);
          continue;
        }
        if (auto* l = listener_.load()) l->on_update(std::move(*stored));
      }
    }
    bus_up_ = false;
  }

  RedisOptions options_;
  std::string prefix_;
  std::string node_id_;
  std::int64_t started_at_;
  Script publish_, heartbeat_, reap_, presence_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};  ///< until stop()
  asio::steady_timer wake_{io_};
  std::thread thread_;
  std::once_flag stopped_;
  mutable std::mutex mutex_;
  std::shared_ptr<RedisConnection> command_;  ///< guarded by mutex_
  std::shared_ptr<RedisConnection> bus_connection_;  ///< transport thread only
  std::atomic<Listener*> listener_{nullptr};
  std::optional<Seq> start_position_;
  std::atomic<bool> command_up_{false}, bus_up_{false}, closing_{false}, listening_{false};
  bool command_down_reported_ = false, bus_down_reported_ = false;  ///< transport thread only
  bool registered_ = false;  ///< transport thread only: the first heartbeat is in
  std::atomic<bool> started_{false};  ///< start() succeeded: supervise() runs and will fulfil left_
  std::promise<void> left_;   ///< fulfilled by supervise() once it has left the registry
  std::string auth_error_;
  std::string address_;  ///< transport thread only: host:port this node serves HTTP on
  LocalPresence own_;
};

}  // namespace

std::unique_ptr<Transport> make_redis_transport(const boost::urls::url_view& url) {
  auto transport = std::make_unique<RedisTransport>(parse_redis_url(url));
  transport->start();
  return transport;
}

}  // namespace herald
