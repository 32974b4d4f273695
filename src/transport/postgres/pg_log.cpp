#include "transport/postgres/pg_log.hpp"

#include <chrono>
#include <deque>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "core/logging.hpp"
#include "transport/postgres/pg_text.hpp"

namespace herald {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
namespace {
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(2);
constexpr std::size_t kReadCount = 1000;

/// A publish waiting for its batch's COMMIT.
struct Pending {
  UpdatePtr update;
  Clock::time_point deadline;
  Result<Seq> result = make_error_code(Errc::transport_failure);
  AsyncEvent done;
};
using PendingPtr = std::shared_ptr<Pending>;

/// The page query: the head row, then up to $2 records after max($1, trimmed). (`LIMIT 1`
/// on the one-row head table: without statistics the planner guessed 1,810 rows, costed the
/// page far above jit_above_cost and JIT-compiled every read, 10 to 60 ms each.)
std::string page_sql(const std::string& t) {
  return "SELECT h.seq, h.trimmed, u.seq, u.id, array_to_json(u.topics)::text, u.data, u.private, "
         "coalesce(u.type, ''), coalesce(u.retry, 0), u.subscription_event, u.control FROM (SELECT seq, trimmed "
         "FROM " + t + "head LIMIT 1) h LEFT JOIN LATERAL (SELECT * FROM " + t +
         "updates WHERE seq > greatest($1::bigint, h.trimmed) ORDER BY seq LIMIT $2) u ON true ORDER BY u.seq";
}

struct Page {
  Seq head = 0, trimmed = 0;
  std::vector<Stored> records;
};

Page decode_page(const PgResult& r) {
  Page page;
  for (int row = 0; row < r.rows(); ++row) {
    page.head = Seq(r.integer(row, 0));
    page.trimmed = Seq(r.integer(row, 1));
    if (r.null(row, 2)) continue;
    auto u = std::make_shared<Update>();
    u->id = r.text(row, 3);
    auto topics = nlohmann::json::parse(r.text(row, 4), nullptr, false);
    if (topics.is_array())
      for (auto& t : topics)
        if (t.is_string()) u->topics.push_back(t.get<std::string>());
    u->data = r.text(row, 5);
    u->is_private = r.boolean(row, 6);
    u->type = r.text(row, 7);
    u->retry = std::uint64_t(r.integer(row, 8));
    u->subscription_event = r.boolean(row, 9);
    u->control = r.boolean(row, 10);
    page.records.push_back({Seq(r.integer(row, 2)), std::move(u)});
  }
  return page;
}

bool storable(const Update& u) {
  if (!pg_text::storable(u.id) || !pg_text::storable(u.data) || !pg_text::storable(u.type)) return false;
  for (const auto& t : u.topics)
    if (!pg_text::storable(t)) return false;
  return true;
}

class PgLog final : public Log {
 public:
  explicit PgLog(std::shared_ptr<PgCore> core) : core_(std::move(core)), t_(core_->t()) {
    bus_done_.set();
    committer_done_.reset();
    asio::co_spawn(core_->io(), committer(), asio::detached);
  }
  /// Without close(), ends the loops here (blocking, bounded; not on the core's thread).
  ~PgLog() override {
    stop();
    bus_done_.wait_blocking(std::chrono::seconds(5));
    committer_done_.wait_blocking(std::chrono::seconds(5));
  }

  LogCapabilities capabilities() const override { return {.resolves_ids = true, .multi_node = true}; }

  /// Waits (connect_timeout at most) while PostgreSQL is unreachable. A batch whose
  /// connection failed after it was sent may have committed: its publishes are reported as
  /// failed rather than risk a duplicate.
  Task<Result<Seq>> publish(UpdatePtr update) override {
    if (!storable(*update)) co_return make_error_code(Errc::invalid_argument);
    auto p = std::make_shared<Pending>();
    p->update = std::move(update);
    p->deadline = Clock::now() + core_->options().connect_timeout;
    {
      std::lock_guard lock(mutex_);
      if (closing_) co_return make_error_code(Errc::closed);
      queue_.push_back(p);
    }
    work_.set();
    while (!co_await p->done.wait_for(std::chrono::seconds(3600))) {
    }
    co_return p->result;
  }

  Task<Result<void>> listen(LogListener& listener, FlowGate& gate) override {
    if (closing_) co_return make_error_code(Errc::closed);
    listener_ = &listener;
    gate_ = &gate;
    listening_ = true;
    if (auto h = co_await head()) start_position_ = *h;
    bus_done_.reset();
    asio::co_spawn(core_->io(), bus(), asio::detached);
    co_return Result<void>{};
  }

  Task<Result<Seq>> find(std::string id) override {
    if (!pg_text::storable(id)) co_return make_error_code(Errc::not_found);
    auto r = co_await call("SELECT max(seq) FROM " + t_ + "updates WHERE id = $1", pg_text::params(std::move(id)));
    if (!r) co_return r.error();
    if (r->rows() == 0 || r->null(0, 0)) co_return make_error_code(Errc::not_found);
    co_return Seq(r->integer(0, 0));
  }

  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) override {
    auto r = co_await call(page_sql(t_), pg_text::params(std::to_string(after), std::to_string(limit)));
    if (!r) co_return r.error();
    auto page = decode_page(*r);
    if (after < page.trimmed) co_return make_error_code(Errc::not_found);
    co_return std::move(page.records);
  }

  Task<Result<Seq>> head() override { co_return co_await head_value("seq"); }
  Task<Result<Seq>> earliest() override { co_return co_await head_value("trimmed"); }

  Task<Result<std::string>> last_event_id() override {
    auto r = co_await call("SELECT id FROM " + t_ + "updates ORDER BY seq DESC LIMIT 1", std::vector<std::string>());
    if (!r) co_return r.error();
    if (r->rows() == 0) co_return std::string("earliest");
    co_return r->text(0, 0);
  }

  bool healthy() const override { return !closing_ && core_->up() && (!listening_ || bus_up_.is_set()); }

  Task<void> close() override {
    if (closing_) co_return;
    stop();
    co_await bus_done_.wait_for(std::chrono::seconds(5));
    co_await committer_done_.wait_for(std::chrono::seconds(5));
    listener_ = nullptr;
  }

 private:
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (closing_.exchange(true)) return;
    }
    work_.set();
    asio::post(core_->io(), [this] {
      timer_.cancel();
      commit_timer_.cancel();
      if (bus_connection_) bus_connection_->close();
      if (publish_connection_) publish_connection_->close();
    });
  }

  Task<Result<PgResult>> call(std::string sql, std::vector<std::string> params) {
    if (closing_) co_return make_error_code(Errc::closed);
    co_return co_await core_->call(std::move(sql), std::move(params));
  }

  Task<Result<Seq>> head_value(const char* column) {
    auto r = co_await call(std::string("SELECT ") + column + " FROM " + t_ + "head", std::vector<std::string>());
    if (!r) co_return r.error();
    co_return Seq(r->rows() ? r->integer(0, 0) : 0);
  }

  // --- publishing (loop thread) ---

  std::vector<PendingPtr> take_batch() {
    std::lock_guard lock(mutex_);
    std::vector<PendingPtr> batch;
    while (!queue_.empty() && batch.size() < core_->options().batch_max) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (queue_.empty()) work_.reset();
    return batch;
  }

  /// Fails the queued publishes whose deadline passed (PostgreSQL stayed unreachable).
  void expire(Clock::time_point now, Errc why) {
    std::vector<PendingPtr> expired;
    {
      std::lock_guard lock(mutex_);
      std::erase_if(queue_, [&](const PendingPtr& p) {
        if (p->deadline > now && why != Errc::closed) return false;
        expired.push_back(p);
        return true;
      });
    }
    for (auto& p : expired) {
      p->result = make_error_code(why);
      p->done.set();
    }
  }

  std::vector<std::string> batch_params(const std::vector<PendingPtr>& batch) const {
    pg_text::ArrayLiteral ids, topics, data, priv, types, retries, events, controls;
    for (const auto& p : batch) {
      const Update& u = *p->update;
      ids.add(std::string_view(u.id));
      topics.add(std::string_view(nlohmann::json(u.topics).dump()));
      data.add(std::string_view(u.data));
      priv.add(u.is_private);
      types.add(std::string_view(u.type));
      retries.add(u.retry);
      events.add(u.subscription_event);
      controls.add(u.control);
    }
    const auto& o = core_->options();
    return {ids.str(), topics.str(), data.str(), priv.str(), types.str(), retries.str(), events.str(),
            controls.str(), std::to_string(o.size), std::to_string(o.events_size)};
  }

  /// Appends a batch; answers each publish with its seq once COMMIT is in. When the
  /// connection fails with the batch sent, the outcome is unknown: after reconnecting, the
  /// batch is looked up (its ids, in order, after the newest seq this node knew before) and
  /// sent again only if it is not there, so a publish is never lost to a broken connection
  /// nor appended twice. Gives up (transport_failure) after connect_timeout.
  Task<void> commit(std::vector<PendingPtr> batch) {
    auto params = batch_params(batch);
    std::string ids = params[0];
    const std::string sql = "SELECT " + t_ + "publish($1, $2, $3, $4, $5, $6::bigint[], $7, $8, $9, $10)";
    auto deadline = Clock::now() + core_->options().connect_timeout;
    Result<Seq> first = make_error_code(Errc::transport_failure);
    for (bool sent_before = false;;) {
      if (sent_before) {
        auto found = co_await find_batch(ids, batch.size(), deadline);
        if (!found) break;  // could not reconnect in time: unknown, reported as failed
        if (*found) {
          first = **found;
          break;
        }
      }
      auto r = co_await publish_connection_->query(sql, params);
      if (r && r->rows() == 1) {
        first = Seq(r->integer(0, 0));
        break;
      }
      if (publish_connection_->connected()) {
        logger("postgres")->error("pg_publish_failed sqlstate={} error=\"{}\"", publish_connection_->sqlstate(),
                                  publish_connection_->error_text());
        break;
      }
      logger("postgres")->warn("pg_publish_interrupted updates={} error=\"{}\" note=\"looking the batch up after "
                               "reconnecting\"", batch.size(), publish_connection_->error_text());
      sent_before = true;
    }
    if (first) known_head_ = std::max(known_head_, *first + batch.size() - 1);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i]->result = first ? Result<Seq>(*first + i) : Result<Seq>(first.error());
      batch[i]->done.set();
    }
  }

  /// After a broken connection: reconnects (until `deadline`) and looks for the batch whose
  /// ids are `ids` (an array literal), in order. The first seq when it committed, nullopt when
  /// it did not; an error when PostgreSQL could not be asked in time.
  Task<Result<std::optional<Seq>>> find_batch(const std::string& ids, std::size_t n, Clock::time_point deadline) {
    auto backoff = Duration(kMinBackoff);
    while (!closing_ && Clock::now() < deadline) {
      if (!publish_connection_ || !publish_connection_->connected())
        publish_connection_ = co_await core_->open("publish", core_->options().conninfo);
      if (publish_connection_ && publish_connection_->connected()) {
        auto r = co_await publish_connection_->query(
            "SELECT u.seq FROM " + t_ + "updates u WHERE u.id = ($1::text[])[1] AND u.seq > $2 AND (SELECT "
            "array_agg(v.id ORDER BY v.seq) FROM " + t_ + "updates v WHERE v.seq >= u.seq AND v.seq < u.seq + $3) "
            "= $1::text[] ORDER BY u.seq LIMIT 1",
            pg_text::params(ids, std::to_string(known_head_), std::to_string(n)));
        if (r) {
          core_->report_up("publish");
          if (r->rows() == 0) co_return std::optional<Seq>{};
          logger("postgres")->info("pg_publish_recovered first_seq={} updates={}", r->integer(0, 0), n);
          co_return std::optional<Seq>(Seq(r->integer(0, 0)));
        }
        if (publish_connection_->connected()) break;  // an SQL error: nothing to learn
      }
      commit_timer_.expires_after(backoff);
      co_await commit_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min<Duration>(backoff * 2, kMaxBackoff);
    }
    co_return make_error_code(Errc::transport_failure);
  }

  Task<void> committer() {
    auto backoff = Duration(kMinBackoff);
    while (!closing_) {
      if (!work_.is_set()) {
        co_await work_.wait_for(std::chrono::seconds(1));
        continue;
      }
      if (!publish_connection_ || !publish_connection_->connected()) {
        publish_connection_ = co_await core_->open("publish", core_->options().conninfo);
        if (!publish_connection_) {
          expire(Clock::now(), Errc::transport_failure);
          if (closing_) break;
          commit_timer_.expires_after(backoff);
          co_await commit_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
          backoff = std::min<Duration>(backoff * 2, kMaxBackoff);
          continue;
        }
        core_->report_up("publish");
        backoff = kMinBackoff;
      }
      if (!core_->up() || !publish_connection_->alive()) {
        // PostgreSQL went away (the command connection saw it, or this one is closed at the
        // far end): do not send on a connection whose failure is not noticed yet, whose
        // outcome would be unknown; reconnect first, within the publishes' deadline.
        publish_connection_->close();
        expire(Clock::now(), Errc::transport_failure);
        co_await core_->wait_up(std::chrono::milliseconds(200));
        continue;
      }
      auto batch = take_batch();
      if (!batch.empty()) co_await commit(std::move(batch));
    }
    expire(Clock::now(), Errc::closed);
    committer_done_.set();
  }

  // --- delivery (loop thread) ---

  Task<bool> connect_bus() {
    bus_up_.reset();
    bus_connection_ = co_await core_->open("bus", core_->options().listen_conninfo);
    if (bus_connection_) {
      auto r = co_await bus_connection_->query("LISTEN " + t_ + "updates");
      if (r) {
        core_->report_up("bus");
        bus_up_.set();
        co_return true;
      }
      core_->report_down("bus", bus_connection_->error_text());
    }
    if (auto* l = listener_.load(); l && !closing_) l->on_error(make_error_code(Errc::transport_failure));
    co_return false;
  }

  /// Reads and delivers one page; false when the connection failed.
  Task<std::optional<std::size_t>> read_page(std::optional<Seq>& position) {
    auto r = co_await bus_connection_->query(page_sql(t_), pg_text::params(std::to_string(position.value_or(0)),
                                                            std::to_string(kReadCount)));
    if (!r) {
      if (bus_connection_->connected()) {
        logger("postgres")->error("pg_read_failed sqlstate={} error=\"{}\"", bus_connection_->sqlstate(),
                                  bus_connection_->error_text());
        bus_connection_->close();
      }
      co_return std::nullopt;
    }
    auto page = decode_page(*r);
    if (!position) position = page.head;  // listen() ran while PostgreSQL was unreachable
    if (page.head < *position) {
      logger("postgres")->error("pg_log_reset delivered={} head={}", *position, page.head);
      if (auto* l = listener_.load()) l->on_gap();
      position = 0;
      co_return std::size_t(0);
    }
    if (*position < page.trimmed) {
      logger("postgres")->error("pg_gap after={} trimmed={} note=\"updates were removed before this node read them\"",
                                *position, page.trimmed);
      if (auto* l = listener_.load()) l->on_gap();
      position = page.trimmed;
    }
    for (auto& s : page.records) {
      if (s.seq <= *position || closing_) continue;
      position = s.seq;
      if (auto* l = listener_.load(); l && !closing_) l->on_update(std::move(s));
    }
    co_return page.records.size();
  }

  Task<void> bus() {
    auto backoff = Duration(kMinBackoff);
    std::optional<Seq> position = start_position_;
    while (!closing_) {
      if (!bus_connection_ || !bus_connection_->connected()) {
        if (!co_await connect_bus()) {
          if (closing_) break;
          timer_.expires_after(backoff);
          co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
          backoff = std::min<Duration>(backoff * 2, kMaxBackoff);
          continue;
        }
        backoff = kMinBackoff;
      }
      auto read = co_await read_page(position);
      if (!read) continue;
      // After delivering, while the shards are behind: stop reading until they catch up. The
      // read that follows a wake-up is the one in flight (as an XREAD BLOCK or a fetch would
      // be): it delivers one page even when the gate closed meanwhile, then waits here.
      if (*read > 0) co_await gate_->wait();
      if (closing_ || *read >= kReadCount) continue;
      co_await bus_connection_->wait_notification(core_->options().poll_interval);
    }
    bus_up_.reset();
    bus_done_.set();
  }

  // --- retention by age: the "retention" cluster job, on the holder of its lease ---

  std::vector<ClusterJob> jobs() override {
    const auto& o = core_->options();
    if (o.max_age <= Duration::zero()) return {};
    return {ClusterJob{"retention", std::min<Duration>(std::chrono::seconds(1), o.max_age), o.presence_ttl,
                       [this] { return retain(); }}};
  }

  /// Removes the updates older than max_age (never subscription events: they have a bound of
  /// their own) and moves the trim point past them, under the head row's lock.
  Task<void> retain() {
    if (closing_ || !core_->up()) co_return;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(core_->options().max_age).count();
    co_await core_->call("SELECT 1 FROM " + t_ + "head FOR UPDATE; WITH gone AS (DELETE FROM " + t_ +
                             "updates WHERE NOT subscription_event AND published_at < clock_timestamp() - "
                             "interval '1 millisecond' * " + std::to_string(ms) + " RETURNING seq) UPDATE " +
                             t_ + "head SET trimmed = greatest(trimmed, (SELECT max(seq) FROM gone)) "
                             "WHERE EXISTS (SELECT 1 FROM gone)",
                         {}, true);
  }

  std::shared_ptr<PgCore> core_;
  std::string t_;
  std::mutex mutex_;
  std::deque<PendingPtr> queue_;  ///< guarded by mutex_
  AsyncEvent work_;               ///< set while queue_ holds publishes
  std::atomic<LogListener*> listener_{nullptr};
  FlowGate* gate_ = nullptr;
  std::optional<Seq> start_position_;
  Seq known_head_ = 0;  ///< loop thread only: the newest seq this node's commits returned
  std::atomic<bool> listening_{false}, closing_{false};
  AsyncEvent bus_up_, bus_done_, committer_done_;
  std::shared_ptr<PgConnection> bus_connection_, publish_connection_;  ///< loop thread only
  asio::steady_timer timer_{core_->io()};
  asio::steady_timer commit_timer_{core_->io()};
};

}  // namespace

std::unique_ptr<Log> make_pg_log(std::shared_ptr<PgCore> core) { return std::make_unique<PgLog>(std::move(core)); }

}  // namespace herald
