// LMDB transport: an append-only log keyed by seq plus an id -> seq index, so finding a
// Last-Event-ID costs one B-tree lookup whatever the history size.
//
// Writes go through one writer thread that takes every pending publish at once and
// commits them in a single transaction (group commit): durability costs one fsync per
// batch, not per update. Only after the commit are the listeners told (in seq order) and
// the publishers answered, so an update acknowledged with 200 survives kill -9.
// Retention (size, max_age, and a byte budget of half the map) is applied in the same
// transaction, deterministically; LMDB reuses the freed pages, so the file stops growing
// once retention is reached, and a publish never fails because the store is full: the
// oldest updates give way. Subscription events (presence) are kept under a bound of their
// own (`events_size`): connection churn cannot crowd updates out of the history. Removing
// old events leaves holes in the seqs; `trimmed_` (persisted) is the seq up to which
// retention removed everything, which is what a reader that started earlier missed.
// Reads (find, read_after) use short read transactions on the caller's thread.
#include "transport/lmdb/lmdb_transport.hpp"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include <boost/asio/async_result.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/config_error.hpp"
#include "core/duration.hpp"
#include "core/log_throttle.hpp"
#include "core/logging.hpp"
#include "transport/update_codec.hpp"
#include "transport/local_parts.hpp"

namespace herald {
namespace asio = boost::asio;
namespace {

struct Options {
  std::string path;
  std::size_t size = 0;
  Duration max_age = Duration::zero();
  std::size_t map_size = std::size_t(4) << 30;
  bool sync = true;
  std::size_t max_batch = 1024;
  std::size_t events_size = 1000;  ///< subscription events kept in history
};

constexpr std::size_t kPage = 4096;

/// What a record costs in the store, roughly: the log entry (large values take whole
/// overflow pages), its id index entry (random keys fill pages about half), headers.
std::size_t record_cost(std::size_t record_size, std::size_t id_key_size) {
  std::size_t log = record_size > kPage / 2 ? (record_size + 16 + kPage - 1) / kPage * kPage : record_size + 16;
  return log + 2 * (id_key_size + 24);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

MDB_val val(std::string_view s) { return {s.size(), const_cast<char*>(s.data())}; }
MDB_val val(const Seq& seq) { return {sizeof(Seq), const_cast<Seq*>(&seq)}; }
Seq seq_of(const MDB_val& v) {
  Seq s = 0;
  std::memcpy(&s, v.mv_data, std::min(v.mv_size, sizeof(Seq)));
  return s;
}
std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

/// A publish waiting for its commit; completes the awaiting coroutine on its own executor.
struct Completion {
  virtual ~Completion() = default;
  virtual void complete(boost::system::error_code ec, Seq seq) = 0;
};
template <class Handler>
struct CompletionFor final : Completion {
  explicit CompletionFor(Handler h) : handler(std::move(h)) {}
  void complete(boost::system::error_code ec, Seq seq) override {
    auto executor = asio::get_associated_executor(handler);
    asio::post(executor, [h = std::move(handler), ec, seq]() mutable { std::move(h)(ec, seq); });
  }
  Handler handler;
};

class ReadTxn {
 public:
  explicit ReadTxn(MDB_env* env) { rc_ = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_); }
  ~ReadTxn() {
    if (txn_) mdb_txn_abort(txn_);
  }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  bool ok() const { return rc_ == 0; }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
  int rc_ = 0;
};

class LmdbLog final : public Log {
 public:
  explicit LmdbLog(Options o) : options_(std::move(o)) {
    open();
    writer_ = std::thread([this] { write_loop(); });
  }

  ~LmdbLog() override {
    stop_writer();
    if (env_) mdb_env_close(env_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  LogCapabilities capabilities() const override { return {.resolves_ids = true, .multi_node = false}; }

  /// Flow control holds the publisher (the writer hands records to the listeners itself).
  Task<Result<Seq>> publish(UpdatePtr update) override {
    std::vector<FlowGate*> gates;
    {
      std::lock_guard lock(listeners_mutex_);
      gates = gates_;
    }
    for (auto* gate : gates) co_await gate->wait();
    if (closed_) co_return make_error_code(Errc::closed);
    auto initiate = [this, update](auto handler) mutable {
      using H = decltype(handler);
      enqueue(std::move(update), std::make_unique<CompletionFor<H>>(std::move(handler)));
    };
    constexpr auto token = asio::as_tuple(asio::use_awaitable);
    auto [ec, seq] = co_await asio::async_initiate<decltype(token), void(boost::system::error_code, Seq)>(initiate, token);
    if (ec) co_return ec;
    co_return seq;
  }

  Task<Result<void>> listen(LogListener& listener, FlowGate& gate) override {
    if (closed_) co_return make_error_code(Errc::closed);
    std::lock_guard lock(listeners_mutex_);
    listeners_.push_back(&listener);
    gates_.push_back(&gate);
    co_return Result<void>{};
  }

  Task<Result<Seq>> find(std::string id) override {
    if (closed_) co_return make_error_code(Errc::closed);
    co_return find_now(id);
  }

  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) override {
    if (closed_) co_return make_error_code(Errc::closed);
    co_return read_after_now(after, limit);
  }

  Task<Result<Seq>> head() override {
    if (closed_) co_return make_error_code(Errc::closed);
    co_return last_seq_.load();
  }

  Task<Result<Seq>> earliest() override {
    if (closed_) co_return make_error_code(Errc::closed);
    co_return trimmed_.load();
  }

  Task<Result<std::string>> last_event_id() override {
    if (closed_) co_return make_error_code(Errc::closed);
    std::lock_guard lock(state_mutex_);
    co_return last_id_;
  }

  bool healthy() const override { return !failed_.load(); }

  Task<void> close() override {
    closed_ = true;
    stop_writer();
    std::lock_guard lock(listeners_mutex_);
    listeners_.clear();
    gates_.clear();
    co_return;
  }

 private:
  struct Pending {
    UpdatePtr update;
    std::unique_ptr<Completion> done;
  };

  [[noreturn]] void fail(const std::string& what, int rc) {
    throw ConfigError("invalid transport_url: " + what + " (" + options_.path + "): " + mdb_strerror(rc));
  }

  void open() {
    std::error_code fec;
    bool existed = std::filesystem::exists(options_.path, fec);
    std::filesystem::create_directories(options_.path, fec);
    try {
      open_store();
    } catch (...) {
      // A store that could not be opened leaves no directory behind that was not there.
      if (env_) mdb_env_close(env_);
      env_ = nullptr;
      if (lock_fd_ >= 0) ::close(lock_fd_);
      lock_fd_ = -1;
      if (!existed) std::filesystem::remove_all(options_.path, fec);
      throw;
    }
  }

  void open_store() {
    std::error_code fec;
    if (!std::filesystem::is_directory(options_.path))
      throw ConfigError("invalid transport_url: " + options_.path +
                        " is not a directory (a Bolt file? Herald's LMDB store is a directory)");
    std::filesystem::permissions(options_.path, std::filesystem::perms::owner_all, fec);
    // One owner: a second Herald on the same store fails at start.
    std::string lock_path = options_.path + "/herald.lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw ConfigError("invalid transport_url: cannot create " + lock_path + ": " + std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
      throw ConfigError("invalid transport_url: " + options_.path + " is in use by another Herald process");
    int rc;
    if ((rc = mdb_env_create(&env_))) fail("cannot create the LMDB environment", rc);
    mdb_env_set_maxdbs(env_, 5);
    mdb_env_set_maxreaders(env_, 512);
    if ((rc = mdb_env_set_mapsize(env_, options_.map_size))) fail("bad map_size", rc);
    unsigned flags = MDB_NOTLS | (options_.sync ? 0 : MDB_NOSYNC);
    if ((rc = mdb_env_open(env_, options_.path.c_str(), flags, 0600))) fail("cannot open the LMDB store", rc);
    MDB_txn* txn = nullptr;
    if ((rc = mdb_txn_begin(env_, nullptr, 0, &txn))) fail("cannot begin a transaction", rc);
    if ((rc = mdb_dbi_open(txn, "log", MDB_CREATE | MDB_INTEGERKEY, &log_)) ||
        (rc = mdb_dbi_open(txn, "ids", MDB_CREATE, &ids_)) ||
        (rc = mdb_dbi_open(txn, "events", MDB_CREATE | MDB_INTEGERKEY, &events_)) ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta_))) {
      mdb_txn_abort(txn);
      fail("cannot open the LMDB databases", rc);
    }
    rc = recover(txn);
    if (rc == 0) rc = mdb_txn_commit(txn);
    else mdb_txn_abort(txn);
    if (rc) fail("cannot recover the store", rc);
    logger("transport")->info("lmdb_opened path={} updates={} subscription_events={} bytes={} budget={} last_seq={}",
                              options_.path, updates_, events_count_, bytes_, budget(), last_seq_.load());
  }

  /// The byte budget of the history: half the map (the other half is room for LMDB's
  /// copy-on-write pages and page fill).
  std::size_t budget() const { return options_.map_size / 2; }

  /// Recovers the positions and counters (a store written before they were kept is scanned once).
  int recover(MDB_txn* txn) {
    MDB_cursor* cur = nullptr;
    int rc = mdb_cursor_open(txn, log_, &cur);
    if (rc) return rc;
    MDB_val k, v;
    Seq first = 0;
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0) {
      last_seq_ = seq_of(k);
      if (auto d = decode_stored_update(view(v))) last_id_ = d->update->id;
      if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0) first = seq_of(k);
    }
    MDB_stat st;
    mdb_stat(txn, events_, &st);
    events_count_ = st.ms_entries;
    mdb_stat(txn, log_, &st);
    updates_ = st.ms_entries - std::min<std::size_t>(st.ms_entries, events_count_);
    auto trimmed = meta_get(txn, "trimmed");
    trimmed_ = trimmed ? *trimmed : (first ? first - 1 : 0);
    if (last_seq_ < trimmed_) last_seq_ = trimmed_.load();  // everything was trimmed
    if (auto bytes = meta_get(txn, "bytes")) {
      bytes_ = *bytes;
    } else {
      bytes_ = 0;
      for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        auto d = decode_stored_update(view(v));
        bytes_ += record_cost(v.mv_size, d ? id_index_key(d->update->id).size() : 0);
      }
    }
    mdb_cursor_close(cur);
    return 0;
  }

  std::optional<std::uint64_t> meta_get(MDB_txn* txn, std::string_view key) {
    MDB_val k = val(key), v;
    if (mdb_get(txn, meta_, &k, &v) != 0 || v.mv_size != sizeof(std::uint64_t)) return std::nullopt;
    return seq_of(v);
  }
  int meta_put(MDB_txn* txn, std::string_view key, std::uint64_t value) {
    MDB_val k = val(key), v = val(value);
    return mdb_put(txn, meta_, &k, &v, 0);
  }

  void enqueue(UpdatePtr update, std::unique_ptr<Completion> done) {
    {
      std::lock_guard lock(queue_mutex_);
      if (!stopping_) {
        queue_.push_back({std::move(update), std::move(done)});
        queue_cv_.notify_one();
        return;
      }
    }
    done->complete(make_error_code(Errc::closed), 0);
  }

  void stop_writer() {
    {
      std::lock_guard lock(queue_mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    queue_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  void write_loop() {
    std::vector<Pending> batch;
    for (;;) {
      {
        std::unique_lock lock(queue_mutex_);
        queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) return;
        // A batch is one transaction: bounded in count and (roughly) in bytes.
        std::size_t n = 0, bytes = 0;
        while (n < queue_.size() && n < options_.max_batch && (n == 0 || bytes < budget() / 8))
          bytes += queue_[n++].update->data.size();
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + long(n)));
        queue_.erase(queue_.begin(), queue_.begin() + long(n));
      }
      commit(batch);
      batch.clear();
    }
  }

  /// The counters a transaction changes, applied to the members once it commits.
  struct Counters {
    Seq trimmed;
    std::size_t bytes, updates, events;
  };

  /// Appends the batch and applies retention in one transaction. A full map (MDB_MAP_FULL:
  /// the byte estimate was too low for this store) lowers the budget by a quarter and tries
  /// once more, so history gives way rather than the publish failing.
  void commit(std::vector<Pending>& batch) {
    std::int64_t stamp = now_ms();
    std::vector<std::string> records;
    records.reserve(batch.size());
    for (auto& p : batch) records.push_back(encode_stored_update(*p.update, stamp));
    std::vector<Stored> stored;
    Counters c{};
    int rc = try_commit(batch, records, stamp, budget(), stored, c);
    if (rc == MDB_MAP_FULL) rc = try_commit(batch, records, stamp, std::min(budget(), bytes_) / 4 * 3, stored, c);
    if (rc != 0) {
      failed_ = rc != MDB_MAP_FULL;
      std::uint64_t suppressed = 0;
      if (commit_log_.allow(suppressed))
        logger("transport")->error("lmdb_commit_failed updates={} error=\"{}\" suppressed_since_last={}{}", batch.size(),
                                   mdb_strerror(rc), suppressed,
                                   rc == MDB_MAP_FULL ? " hint=\"an update larger than the store? raise map_size\"" : "");
      for (auto& p : batch) p.done->complete(make_error_code(Errc::transport_failure), 0);
      return;
    }
    failed_ = false;
    last_seq_ = stored.back().seq;
    trimmed_ = c.trimmed;
    bytes_ = c.bytes;
    updates_ = c.updates;
    events_count_ = c.events;
    {
      std::lock_guard lock(state_mutex_);
      last_id_ = stored.back().update->id;
    }
    {
      std::lock_guard lock(listeners_mutex_);
      for (const auto& s : stored)
        for (auto* l : listeners_) l->on_update(s);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done->complete({}, stored[i].seq);
  }

  /// One attempt: retention first (room for the batch within `budget`), then the appends,
  /// then the counters; the transaction is aborted on any error.
  int try_commit(std::vector<Pending>& batch, const std::vector<std::string>& records, std::int64_t stamp,
                 std::size_t budget, std::vector<Stored>& stored, Counters& c) {
    c = {trimmed_.load(), bytes_, updates_, events_count_};
    stored.clear();
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc) return rc;
    // Room for the batch first (a store full from an earlier run must give way before the
    // appends can fit), then the bounds again with the batch in.
    std::size_t incoming = 0;
    for (std::size_t i = 0; i < batch.size(); ++i)
      incoming += record_cost(records[i].size(), id_index_key(batch[i].update->id).size());
    rc = apply_retention(txn, stamp, budget > incoming ? budget - incoming : 0, c);
    Seq seq = last_seq_.load();
    for (std::size_t i = 0; rc == 0 && i < batch.size(); ++i) {
      const Update& u = *batch[i].update;
      Seq next = seq + 1;
      MDB_val k = val(next), v = val(records[i]);
      rc = mdb_put(txn, log_, &k, &v, MDB_APPEND);
      std::string key = id_index_key(u.id);
      if (rc == 0 && !u.id.empty()) {
        MDB_val ik = val(key), iv = val(next);
        rc = mdb_put(txn, ids_, &ik, &iv, 0);  // a duplicate id now points to its newest update
      }
      if (rc == 0 && u.subscription_event) {
        MDB_val ek = val(next), ev{0, nullptr};
        rc = mdb_put(txn, events_, &ek, &ev, MDB_APPEND);
      }
      if (rc != 0) break;
      seq = next;
      c.bytes += record_cost(records[i].size(), key.size());
      ++(u.subscription_event ? c.events : c.updates);
      stored.push_back({next, batch[i].update});
    }
    if (rc == 0) rc = apply_retention(txn, stamp, budget, c);
    if (rc == 0) rc = trim_events(txn, c);
    if (rc == 0) rc = meta_put(txn, "bytes", c.bytes);
    if (rc == 0) rc = meta_put(txn, "trimmed", c.trimmed);
    if (rc == 0) return mdb_txn_commit(txn);
    mdb_txn_abort(txn);
    return rc;
  }

  /// Deletes the record at `seq` (log, id index, events index) and counts it out.
  int remove_record(MDB_txn* txn, Seq seq, std::string_view record, Counters& c) {
    auto decoded = decode_stored_update(record);
    std::string key = decoded ? id_index_key(decoded->update->id) : std::string();
    if (decoded && !decoded->update->id.empty()) {
      MDB_val ik = val(key), iv;
      if (mdb_get(txn, ids_, &ik, &iv) == 0 && seq_of(iv) == seq) mdb_del(txn, ids_, &ik, nullptr);
    }
    c.bytes -= std::min(c.bytes, record_cost(record.size(), key.size()));
    if (decoded && decoded->update->subscription_event) {
      MDB_val ek = val(seq);
      mdb_del(txn, events_, &ek, nullptr);
      if (c.events > 0) --c.events;
    } else if (c.updates > 0) {
      --c.updates;
    }
    MDB_val k = val(seq);
    return mdb_del(txn, log_, &k, nullptr);
  }

  /// Deletes from the front: beyond `size` updates, older than `max_age`, and beyond the
  /// byte budget. Everything up to the last deleted seq is then `trimmed`.
  int apply_retention(MDB_txn* txn, std::int64_t now, std::size_t budget, Counters& c) {
    std::int64_t cutoff = options_.max_age == Duration::zero()
                              ? INT64_MIN
                              : now - std::chrono::duration_cast<std::chrono::milliseconds>(options_.max_age).count();
    MDB_cursor* cur = nullptr;
    int rc = mdb_cursor_open(txn, log_, &cur);
    MDB_val k, v;
    while (rc == 0) {
      rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
      if (rc != 0) break;
      bool over_size = options_.size > 0 && c.updates > options_.size;
      bool over_budget = c.bytes > budget;
      auto decoded = decode_stored_update(view(v));
      bool too_old = decoded && decoded->stored_at_ms < cutoff;
      if (!over_size && !too_old && !over_budget) break;
      Seq seq = seq_of(k);  // copied: k points into a page the deletion may reuse
      std::string record(view(v));
      rc = remove_record(txn, seq, record, c);
      c.trimmed = std::max(c.trimmed, seq);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
  }

  /// Keeps the newest `events_size` subscription events (the oldest leave holes in the seqs,
  /// not a trim: the updates around them are all there).
  int trim_events(MDB_txn* txn, Counters& c) {
    MDB_cursor* cur = nullptr;
    int rc = mdb_cursor_open(txn, events_, &cur);
    MDB_val k, v;
    while (rc == 0 && c.events > options_.events_size) {
      rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
      if (rc != 0) break;
      Seq seq = seq_of(k);
      MDB_val lk = val(seq), lv;
      if (mdb_get(txn, log_, &lk, &lv) == 0) {
        std::string record(view(lv));
        rc = remove_record(txn, seq, record, c);
      } else {
        rc = mdb_cursor_del(cur, 0);  // an index entry without its record
        --c.events;
      }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
  }

  Result<Seq> find_now(const std::string& id) {
    ReadTxn txn(env_);
    if (!txn.ok()) return Errc::transport_failure;
    std::string key = id_index_key(id);
    MDB_val k = val(key), v;
    if (mdb_get(txn.get(), ids_, &k, &v) != 0) return Errc::not_found;
    return seq_of(v);
  }

  Result<std::vector<Stored>> read_after_now(Seq after, std::size_t limit) {
    std::vector<Stored> out;
    ReadTxn txn(env_);
    if (!txn.ok()) return Errc::transport_failure;
    MDB_cursor* cur = nullptr;
    if (mdb_cursor_open(txn.get(), log_, &cur) != 0) return Errc::transport_failure;
    // Retention removed everything up to trimmed_: a reader from before it missed some.
    // (Holes past it are subscription events given way to newer ones, not a trim.)
    if (after < trimmed_.load()) {
      mdb_cursor_close(cur);
      return Errc::not_found;
    }
    Seq start = after + 1;
    MDB_val k = val(start), v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && out.size() < limit) {
      if (auto d = decode_stored_update(view(v))) out.push_back({seq_of(k), std::move(d->update)});
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return out;
  }

  const Options options_;
  MDB_env* env_ = nullptr;
  MDB_dbi log_ = 0, ids_ = 0, events_ = 0, meta_ = 0;
  int lock_fd_ = -1;
  std::atomic<Seq> last_seq_{0};
  std::atomic<Seq> trimmed_{0};  ///< retention removed every seq up to this one
  // Writer thread only (and open()):
  std::size_t bytes_ = 0;         ///< record_cost of everything stored
  std::size_t updates_ = 0;       ///< stored updates (not subscription events)
  std::size_t events_count_ = 0;  ///< stored subscription events
  LogThrottle commit_log_;
  std::atomic<bool> failed_{false};
  std::mutex state_mutex_;
  std::string last_id_ = "earliest";
  std::mutex listeners_mutex_;
  std::vector<LogListener*> listeners_;
  std::vector<FlowGate*> gates_;
  std::atomic<bool> closed_{false};
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<Pending> queue_;
  bool stopping_ = false;
  std::thread writer_;
};

std::size_t parse_count(const std::string& key, const std::string& v) {
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
    throw ConfigError("invalid transport_url: " + key + " must be a non-negative integer");
  return static_cast<std::size_t>(std::stoull(v));
}

}  // namespace

Transport make_lmdb_transport(const boost::urls::url_view& url, bool bolt_alias) {
  Options o;
  o.path = std::string(url.host()) + std::string(url.path());
  if (o.path.empty()) throw ConfigError("invalid transport_url: missing the store path (lmdb:///abs/dir or lmdb://dir)");
  for (auto param : url.params()) {
    const std::string& k = param.key;
    const std::string& v = param.value;
    if (k == "size") o.size = parse_count(k, v);
    else if (k == "map_size") o.map_size = parse_count(k, v);
    else if (k == "events_size") o.events_size = parse_count(k, v);
    else if (k == "max_batch") o.max_batch = std::max<std::size_t>(1, parse_count(k, v));
    else if (k == "max_age") {
      auto d = parse_duration(v);
      if (!d) throw ConfigError("invalid transport_url: max_age must be a duration such as 24h");
      o.max_age = *d;
    } else if (k == "sync") {
      if (v != "full" && v != "none") throw ConfigError("invalid transport_url: sync must be full or none");
      o.sync = v == "full";
    } else if (bolt_alias && (k == "bucket_name" || k == "cleanup_frequency")) {
      // Bolt parameters: accepted; retention here is deterministic (size, max_age).
    } else {
      throw ConfigError("invalid transport_url: unknown parameter \"" + k + "\" for lmdb://");
    }
  }
  if (o.map_size < (std::size_t(1) << 20)) throw ConfigError("invalid transport_url: map_size must be at least 1 MiB");
  // The map is reserved address space: beyond 16 TiB mdb_env_open fails on every machine.
  if (o.map_size > (std::size_t(1) << 44)) throw ConfigError("invalid transport_url: map_size must be at most 16 TiB");
  if (bolt_alias)
    logger("transport")->warn("bolt_alias path={} note=\"bolt:// opens an LMDB store at this path; the Bolt file format is not read\"",
                              o.path);
  auto presence = std::make_unique<LocalPresenceRegistry>();
  auto leases = std::make_unique<LocalLeases>(presence->node_id());
  return {std::make_unique<LmdbLog>(std::move(o)), std::move(presence), std::move(leases), {}};
}

}  // namespace herald
