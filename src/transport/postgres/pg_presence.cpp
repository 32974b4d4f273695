#include "transport/postgres/pg_presence.hpp"

#include <unistd.h>

#include <algorithm>
#include <map>

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
#include "transport/postgres/pg_text.hpp"

namespace herald {
namespace asio = boost::asio;
namespace {

std::string hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

std::string topics_json(const std::vector<std::string>& topics) {
  return nlohmann::json(topics).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

SubscriberInfo decode(const PgResult& r, int row, int first_col) {
  SubscriberInfo s;
  s.id = r.text(row, first_col);
  auto topics = nlohmann::json::parse(r.text(row, first_col + 1), nullptr, false);
  if (topics.is_array())
    for (auto& t : topics)
      if (t.is_string()) s.topics.push_back(t.get<std::string>());
  s.payload_json = r.text(row, first_col + 2);
  return s;
}

class PgPresence final : public PresenceRegistry {
 public:
  explicit PgPresence(std::shared_ptr<PgCore> core)
      : core_(std::move(core)), t_(core_->t()), ttl_ms_(std::to_string(ttl().count())) {
    asio::co_spawn(core_->io(), beat_loop(), asio::detached);
  }
  ~PgPresence() override {
    if (!closing_.exchange(true)) asio::post(core_->io(), [this] { timer_.cancel(); });
    done_.wait_blocking(std::chrono::seconds(5));
  }

  Task<Result<void>> announce(SubscriberInfo subscriber, bool online) override {
    if (closing_) co_return make_error_code(Errc::closed);
    auto params = row_params(subscriber);
    own_.announce(std::move(subscriber), online);
    // (Two statements, not `online ? co_await a : co_await b`: g++ 12 destroys the result of
    // a conditional co_await twice.)
    std::string sql = online ? upsert_sql() : "DELETE FROM " + t_ + "subscribers WHERE node = $1 AND id = $2";
    if (!online) params.resize(2);
    auto r = co_await core_->call(std::move(sql), std::move(params));
    if (!r) co_return make_error_code(Errc::transport_failure);
    co_return Result<void>{};
  }

  Task<Result<std::vector<SubscriberInfo>>> list() override {
    if (closing_) co_return make_error_code(Errc::closed);
    auto r = co_await core_->call("SELECT s.id, s.topics, s.payload FROM " + t_ + "subscribers s JOIN " + t_ +
                                      "nodes n ON n.node = s.node WHERE n.seen_at > now() - interval '1 millisecond' "
                                      "* $1 ORDER BY s.node, s.position", pg_text::params(ttl_ms_));
    if (!r) co_return make_error_code(Errc::transport_failure);
    std::vector<SubscriberInfo> out;
    for (int row = 0; row < r->rows(); ++row) out.push_back(decode(*r, row, 0));
    co_return out;
  }

  void watch(PresenceListener& listener) override { listener_ = &listener; }
  std::string node_id() const override { return core_->node_id(); }

  Task<Result<std::vector<NodeInfo>>> nodes() override {
    if (closing_) co_return make_error_code(Errc::closed);
    // Nodes heard from within twice the TTL: dead ones stay listed until reaped.
    std::string sql = "SELECT node, address, info::text, (extract(epoch FROM started_at) * 1000)::bigint, "
                      "(extract(epoch FROM seen_at) * 1000)::bigint, (extract(epoch FROM now() - seen_at) * 1000)::"
                      "bigint FROM " + t_ + "nodes WHERE seen_at > now() - interval '2 millisecond' * $1 ORDER BY node";
    auto r = co_await core_->call(std::move(sql), pg_text::params(ttl_ms_));
    if (!r) co_return make_error_code(Errc::transport_failure);
    std::vector<NodeInfo> out;
    for (int row = 0; row < r->rows(); ++row) {
      NodeInfo n;
      n.id = r->text(row, 0);
      n.address = r->text(row, 1);
      auto info = nlohmann::json::parse(r->text(row, 2), nullptr, false);
      if (info.is_object()) {
        n.host = info.value("host", "");
        n.pid = info.value("pid", 0L);
        n.subscribers = info.value("subscribers", std::uint64_t(0));
        n.delivered = info.value("delivered", std::uint64_t(0));
        n.draining = info.value("draining", false);
      }
      n.started_at_ms = r->integer(row, 3);
      n.last_heartbeat_ms = r->integer(row, 4);
      n.state = node_state(r->integer(row, 5), ttl().count());
      out.push_back(std::move(n));
    }
    co_return out;
  }

  void describe_node(std::string address) override {
    asio::post(core_->io(), [this, a = std::move(address)]() mutable { address_ = std::move(a); });
  }
  void report(std::uint64_t delivered, bool draining) override { report_.set(delivered, draining); }

  /// Both tables emptied in one statement (one transaction).
  Task<Result<void>> reset() override {
    if (closing_) co_return make_error_code(Errc::closed);
    auto r = co_await core_->call("WITH s AS (DELETE FROM " + t_ + "subscribers) DELETE FROM " + t_ + "nodes");
    if (!r) co_return make_error_code(Errc::transport_failure);
    logger("postgres")->warn("pg_presence_reset");
    co_return Result<void>{};
  }

  std::vector<ClusterJob> jobs() override {
    return {reap_job(core_->options().presence_ttl, [this] { return reap(); })};
  }

  /// Ends the heartbeat (awaited, bounded) and withdraws this node at once (best effort).
  Task<void> close() override {
    if (closing_.exchange(true)) co_return;
    asio::post(core_->io(), [this] { timer_.cancel(); });
    co_await done_.wait_for(std::chrono::seconds(5));
  }

  AsyncEvent first_beat_;  ///< set after the first heartbeat attempt (or at close)

 private:
  std::chrono::milliseconds ttl() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(core_->options().presence_ttl);
  }
  std::vector<std::string> row_params(const SubscriberInfo& s) const {
    return {core_->node_id(), s.id, topics_json(s.topics), pg_text::storable(s.payload_json) ? s.payload_json : ""};
  }
  std::string upsert_sql() const {
    return "INSERT INTO " + t_ + "subscribers (node, id, topics, payload) VALUES ($1, $2, $3, $4) ON CONFLICT "
           "(node, id) DO UPDATE SET topics = EXCLUDED.topics, payload = EXCLUDED.payload";
  }

  Task<void> beat_loop() {
    while (!closing_) {
      // (Not core_->wait_up: close() must be able to wake this loop, and only timer_ is its own.)
      if (core_->up() && !closing_) co_await beat();
      first_beat_.set();
      if (closing_) break;
      timer_.expires_after(core_->options().presence_ttl / 3);
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (core_->up()) {
      co_await core_->call("DELETE FROM " + t_ + "subscribers WHERE node = $1", pg_text::params(core_->node_id()));
      co_await core_->call("DELETE FROM " + t_ + "nodes WHERE node = $1", pg_text::params(core_->node_id()));
    }
    first_beat_.set();
    done_.set();
  }

  /// This node's rows may be gone (another node reaped it during a silence): write them again.
  Task<void> resync() {
    co_await core_->call("DELETE FROM " + t_ + "subscribers WHERE node = $1", pg_text::params(core_->node_id()));
    for (auto& s : own_.list()) co_await core_->call(upsert_sql(), row_params(s));
  }

  Task<void> beat() {
    nlohmann::json info{{"pid", ::getpid()},
                        {"host", hostname()},
                        {"subscribers", own_.size()},
                        {"delivered", report_.delivered.load()},
                        {"draining", report_.draining.load()}};
    auto r = co_await core_->call("INSERT INTO " + t_ + "nodes (node, address, info) VALUES ($1, $2, $3::jsonb) ON "
                                  "CONFLICT (node) DO UPDATE SET seen_at = now(), address = EXCLUDED.address, info = "
                                  "EXCLUDED.info RETURNING (xmax = 0)", pg_text::params(core_->node_id(), address_, info.dump()));
    if (!r || r->rows() != 1) co_return;
    if (r->boolean(0, 0) && registered_) {
      logger("postgres")->warn("pg_presence_restored node={}", core_->node_id());
      co_await resync();
    }
    registered_ = true;
  }

  /// One round of the "reap" cluster job (on the holder of its lease): removes every node
  /// silent for the TTL with its subscribers, in one statement: the node whose DELETE takes
  /// the rows reports them, so even two overlapping holders report each dead node once.
  Task<void> reap() {
    if (closing_ || !core_->up()) co_return;
    auto lost = co_await core_->call("WITH dead AS (DELETE FROM " + t_ + "nodes WHERE seen_at < now() - interval "
                                     "'1 millisecond' * $1 RETURNING node) DELETE FROM " + t_ +
                                         "subscribers s USING dead WHERE s.node = dead.node RETURNING s.node, s.id, "
                                         "s.topics, s.payload, s.position", pg_text::params(ttl_ms_));
    if (!lost || lost->rows() == 0) co_return;
    std::map<std::string, std::vector<std::pair<std::int64_t, SubscriberInfo>>> by_node;
    for (int row = 0; row < lost->rows(); ++row)
      by_node[lost->text(row, 0)].emplace_back(lost->integer(row, 4), decode(*lost, row, 1));
    for (auto& [node, subscribers] : by_node) {
      std::sort(subscribers.begin(), subscribers.end(), [](auto& a, auto& b) { return a.first < b.first; });
      std::vector<SubscriberInfo> out;
      for (auto& [position, s] : subscribers) out.push_back(std::move(s));
      logger("postgres")->warn("pg_node_reaped node={} subscribers={}", node, out.size());
      if (listener_ && !closing_) listener_->on_subscribers_lost(std::move(out));
    }
  }

  std::shared_ptr<PgCore> core_;
  std::string t_;
  std::string ttl_ms_;
  asio::steady_timer timer_{core_->io()};
  std::atomic<bool> closing_{false};
  AsyncEvent done_;
  PresenceListener* listener_ = nullptr;
  std::string address_;      ///< loop thread only
  bool registered_ = false;  ///< loop thread only
  LocalPresence own_;
  node_info::SelfReport report_;
};

}  // namespace

std::unique_ptr<PresenceRegistry> make_pg_presence(std::shared_ptr<PgCore> core) {
  bool up = core->up();
  auto timeout = core->options().connect_timeout;
  auto presence = std::make_unique<PgPresence>(std::move(core));
  if (up) presence->first_beat_.wait_blocking(timeout);
  return presence;
}

}  // namespace herald
