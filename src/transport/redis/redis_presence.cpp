#include "transport/redis/redis_presence.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "core/logging.hpp"
#include "transport/local_presence.hpp"
#include "transport/node_info.hpp"
#include "transport/redis/redis_codec.hpp"
#include "transport/redis/redis_scripts.hpp"

namespace herald {
namespace asio = boost::asio;
namespace {
using Args = RedisCore::Args;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

class RedisPresence final : public PresenceRegistry {
 public:
  explicit RedisPresence(std::shared_ptr<RedisCore> core)
      : core_(std::move(core)),
        prefix_(core_->prefix()),
        started_at_(now_ms()),
        heartbeat_(redis_scripts::kHeartbeat),
        reap_(redis_scripts::kReap),
        presence_(redis_scripts::kPresence),
        nodes_(redis_scripts::kNodes),
        reset_(redis_scripts::kReset) {
    asio::co_spawn(core_->io(), beat_loop(), asio::detached);
  }
  /// Without close(), stops the heartbeat here (blocking, bounded; not on the core's thread).
  ~RedisPresence() override {
    if (!closing_.exchange(true)) asio::post(core_->io(), [this] { timer_.cancel(); });
    done_.wait_blocking(std::chrono::seconds(5));
  }

  Task<Result<void>> announce(SubscriberInfo subscriber, bool online) override {
    if (closing_) co_return make_error_code(Errc::closed);
    std::string id = subscriber.id;
    std::string record = encode_presence(subscriber);
    own_.announce(std::move(subscriber), online);
    Args args{"HDEL", subs_key(), std::move(id)};
    if (online) {
      args[0] = "HSET";
      args.push_back(std::move(record));
    }
    auto reply = co_await core_->call(std::move(args));
    if (!reply) co_return make_error_code(Errc::transport_failure);
    co_return Result<void>{};
  }

  Task<Result<std::vector<SubscriberInfo>>> list() override {
    if (closing_) co_return make_error_code(Errc::closed);
    Args args{prefix_ + "nodes", prefix_, std::to_string(ttl_ms())};
    auto reply = co_await core_->eval(presence_, 1, std::move(args));
    if (!reply) co_return make_error_code(Errc::transport_failure);
    std::vector<SubscriberInfo> out;
    for (const auto& record : reply->elements)
      if (auto s = decode_presence(record.str)) out.push_back(std::move(*s));
    co_return out;
  }

  void watch(PresenceListener& listener) override { listener_ = &listener; }
  std::string node_id() const override { return core_->node_id(); }

  Task<Result<std::vector<NodeInfo>>> nodes() override {
    if (closing_) co_return make_error_code(Errc::closed);
    Args args{prefix_ + "nodes", prefix_, std::to_string(ttl_ms())};
    auto reply = co_await core_->eval(nodes_, 1, std::move(args));
    if (!reply) co_return make_error_code(Errc::transport_failure);
    std::vector<NodeInfo> out;
    const auto& e = reply->elements;
    if (e.empty()) co_return make_error_code(Errc::transport_failure);
    std::int64_t now = e[0].as_integer().value_or(0);
    for (std::size_t i = 1; i + 2 < e.size(); i += 3) {
      NodeInfo n;
      n.id = e[i].str;
      n.last_heartbeat_ms = std::strtoll(e[i + 1].str.c_str(), nullptr, 10);
      n.state = node_state(now - n.last_heartbeat_ms, ttl_ms());
      auto info = nlohmann::json::parse(e[i + 2].str, nullptr, false);
      if (info.is_object()) {
        n.address = info.value("address", "");
        n.host = info.value("host", "");
        n.pid = info.value("pid", 0L);
        n.started_at_ms = info.value("started_at_ms", std::int64_t(0));
        n.subscribers = info.value("subscribers", std::uint64_t(0));
        n.delivered = info.value("delivered", std::uint64_t(0));
        n.draining = info.value("draining", false);
      }
      out.push_back(std::move(n));
    }
    std::sort(out.begin(), out.end(), [](const NodeInfo& a, const NodeInfo& b) { return a.id < b.id; });
    co_return out;
  }

  void describe_node(std::string address) override {
    asio::post(core_->io(), [this, a = std::move(address)]() mutable { address_ = std::move(a); });
  }
  void report(std::uint64_t delivered, bool draining) override { report_.set(delivered, draining); }

  Task<Result<void>> reset() override {
    if (closing_) co_return make_error_code(Errc::closed);
    Args args{prefix_ + "nodes", prefix_};
    auto reply = co_await core_->eval(reset_, 1, std::move(args));
    if (!reply) co_return make_error_code(Errc::transport_failure);
    logger("redis")->warn("redis_presence_reset nodes={}", reply->as_integer().value_or(0));
    co_return Result<void>{};
  }

  std::vector<ClusterJob> jobs() override {
    return {reap_job(core_->options().presence_ttl, [this] { return reap(); })};
  }

  /// Ends the heartbeat (awaited, bounded) and leaves the registry at once, rather than after
  /// presence_ttl (best effort).
  Task<void> close() override {
    if (closing_.exchange(true)) co_return;
    asio::post(core_->io(), [this] { timer_.cancel(); });
    co_await done_.wait_for(std::chrono::seconds(5));
  }

 private:
  std::string subs_key() const { return prefix_ + "subs:" + core_->node_id(); }
  std::int64_t ttl_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(core_->options().presence_ttl).count();
  }

  /// Heartbeats every presence_ttl/3 while the connection is up; after a reconnection writes
  /// this node's records again first (loop thread).
  Task<void> beat_loop() {
    std::uint64_t synced = core_->generation();
    while (!closing_) {
      // (Not core_->wait_up: close() and the destructor must be able to wake this loop, and
      // only timer_ is its own; a wait on the core outlived the destructor's bounded wait.)
      if (core_->up() && !closing_) {
        if (core_->generation() != synced) {
          synced = core_->generation();
          co_await resync();
        }
        co_await beat();
      }
      first_beat_.set();
      if (closing_) break;
      timer_.expires_after(core_->options().presence_ttl / 3);
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (core_->up()) {
      Args del{"DEL", subs_key(), prefix_ + "node:" + core_->node_id()};
      co_await core_->call(std::move(del));
      Args zrem{"ZREM", prefix_ + "nodes", core_->node_id()};
      co_await core_->call(std::move(zrem));
    }
    first_beat_.set();
    done_.set();
  }

  /// Redis may have lost this node's records (restart without persistence, or another node
  /// reaped this one during a silence): write them again from the node's own list.
  Task<void> resync() {
    auto own = own_.list();
    Args del{"DEL", subs_key()};
    co_await core_->call(std::move(del));
    for (auto& s : own) {
      std::string id = s.id;
      Args hset{"HSET", subs_key(), std::move(id), encode_presence(s)};
      co_await core_->call(std::move(hset));
    }
  }

  Task<void> beat() {
    nlohmann::json info{{"id", core_->node_id()}, {"address", address_},        {"pid", ::getpid()},
                        {"host", hostname()},     {"started_at_ms", started_at_}, {"subscribers", own_.size()},
                        {"delivered", report_.delivered.load()}, {"draining", report_.draining.load()}};
    Args beat_args{prefix_ + "nodes", prefix_ + "node:" + core_->node_id(), core_->node_id(), info.dump(),
                   std::to_string(ttl_ms() * 2)};
    auto r = co_await core_->eval(heartbeat_, 2, std::move(beat_args));
    if (!r) co_return;
    if (r->as_integer().value_or(0) == 1 && registered_) {
      logger("redis")->warn("redis_presence_restored node={}", core_->node_id());
      co_await resync();
    }
    registered_ = true;
  }

  /// One round of the "reap" cluster job (on the holder of its lease): removes the nodes
  /// silent for presence_ttl in one script, which hands their subscribers to this caller
  /// only (so even two overlapping holders report each dead node once).
  Task<void> reap() {
    if (closing_ || !core_->up()) co_return;
    Args reap_args{prefix_ + "nodes", prefix_, std::to_string(ttl_ms())};
    auto lost = co_await core_->eval(reap_, 1, std::move(reap_args));
    if (!lost || lost->elements.empty()) co_return;
    std::vector<SubscriberInfo> subscribers;
    for (const auto& record : lost->elements)
      if (auto s = decode_presence(record.str)) subscribers.push_back(std::move(*s));
    logger("redis")->warn("redis_node_reaped subscribers={}", subscribers.size());
    if (listener_ && !subscribers.empty() && !closing_) listener_->on_subscribers_lost(std::move(subscribers));
  }

  std::shared_ptr<RedisCore> core_;
  std::string prefix_;
  std::int64_t started_at_;
  RedisScript heartbeat_, reap_, presence_, nodes_, reset_;
  asio::steady_timer timer_{core_->io()};
  std::atomic<bool> closing_{false};
  AsyncEvent done_;

 public:
  AsyncEvent first_beat_;  ///< set after the first heartbeat attempt (or at close)

 private:
  PresenceListener* listener_ = nullptr;
  std::string address_;      ///< loop thread only: host:port this node serves HTTP on
  bool registered_ = false;  ///< loop thread only: the first heartbeat is in
  LocalPresence own_;
  node_info::SelfReport report_;
};

}  // namespace

std::unique_ptr<PresenceRegistry> make_redis_presence(std::shared_ptr<RedisCore> core) {
  bool up = core->up();
  auto timeout = core->options().connect_timeout;
  auto presence = std::make_unique<RedisPresence>(std::move(core));
  // Listed from the moment it starts: the first heartbeat is in before the transport is handed
  // over (bounded; an unreachable Redis registers the node once it comes back).
  if (up) presence->first_beat_.wait_blocking(timeout);
  return presence;
}

}  // namespace herald
