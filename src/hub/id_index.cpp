#include "hub/id_index.hpp"

#include <lmdb.h>

#include <cstring>
#include <filesystem>

#include "core/config_error.hpp"
#include "core/log_throttle.hpp"
#include "core/logging.hpp"
#include "transport/update_codec.hpp"

namespace herald {
namespace {
// Keys of `seqs` are big-endian, so the B-tree order is the seq order (for forget_through).
std::string be(Seq seq) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8) out[i] = static_cast<char>(seq & 0xff);
  return out;
}
Seq seq_of(const MDB_val& v) {
  Seq s = 0;
  if (v.mv_size == sizeof(Seq)) std::memcpy(&s, v.mv_data, sizeof(Seq));
  return s;
}
MDB_val val(std::string_view s) { return {s.size(), const_cast<char*>(s.data())}; }
MDB_val val(const Seq& s) { return {sizeof(Seq), const_cast<Seq*>(&s)}; }

void report(const char* what, int rc) {
  static LogThrottle throttle;
  std::uint64_t suppressed = 0;
  if (throttle.allow(suppressed))
    logger("id_index")->error("id_index_failed step={} error=\"{}\" suppressed_since_last={}", what, mdb_strerror(rc),
                              suppressed);
}
}  // namespace

IdIndex::IdIndex(const std::string& path) {
  auto fail = [&](const char* what, int rc) {
    if (env_) mdb_env_close(env_);
    env_ = nullptr;
    throw ConfigError("invalid id index (" + path + "): " + what + ": " + mdb_strerror(rc));
  };
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  int rc = mdb_env_create(&env_);
  if (rc == 0) rc = mdb_env_set_maxdbs(env_, 3);
  if (rc == 0) rc = mdb_env_set_mapsize(env_, std::size_t(1) << 34);  // sparse; 16 GiB of address space
  // The index can always be rebuilt from the log: no fsync per record (a crash loses at most
  // the newest entries together with the `through` mark that covers them).
  if (rc == 0) rc = mdb_env_open(env_, path.c_str(), MDB_NOSYNC | MDB_NOMETASYNC, 0640);
  if (rc != 0) fail("cannot open", rc);
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, "ids", MDB_CREATE, &ids_);
  if (rc == 0) rc = mdb_dbi_open(txn, "seqs", MDB_CREATE, &seqs_);
  if (rc == 0) rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta_);
  MDB_val k = val(std::string_view("through")), v;
  if (rc == 0 && mdb_get(txn, meta_, &k, &v) == 0) through_ = seq_of(v);
  if (rc == 0) rc = mdb_txn_commit(txn);
  else if (txn) mdb_txn_abort(txn);
  if (rc != 0) fail("cannot open its databases", rc);
}

IdIndex::~IdIndex() {
  if (env_) mdb_env_close(env_);
}

bool IdIndex::record(std::string_view id, Seq seq, bool advance) {
  if (id.empty()) {  // LMDB takes no empty key, and no Last-Event-ID is empty
    if (advance) advance_to(seq);
    return true;
  }
  std::string key = id_index_key(id);
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  MDB_val k = val(key), v;
  bool newer = true;
  if (rc == 0 && mdb_get(txn, ids_, &k, &v) == 0) newer = seq_of(v) < seq;
  if (rc == 0 && newer) {
    MDB_val sv = val(seq);
    rc = mdb_put(txn, ids_, &k, &sv, 0);
    std::string skey = be(seq);
    MDB_val sk = val(skey);
    if (rc == 0) rc = mdb_put(txn, seqs_, &sk, &k, 0);
  }
  Seq through = through_.load();
  if (rc == 0 && advance && seq > through) {
    MDB_val mk = val(std::string_view("through")), mv = val(seq);
    rc = mdb_put(txn, meta_, &mk, &mv, 0);
  }
  if (rc == 0) rc = mdb_txn_commit(txn);
  else if (txn) mdb_txn_abort(txn);
  if (rc != 0) {
    report("record", rc);
    return false;
  }
  if (advance && seq > through) through_ = seq;
  return true;
}

void IdIndex::advance_to(Seq seq) {
  if (seq <= through_.load()) return;
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  MDB_val mk = val(std::string_view("through")), mv = val(seq);
  if (rc == 0) rc = mdb_put(txn, meta_, &mk, &mv, 0);
  if (rc == 0) rc = mdb_txn_commit(txn);
  else if (txn) mdb_txn_abort(txn);
  if (rc != 0) return report("advance", rc);
  through_ = seq;
}

std::optional<Seq> IdIndex::find(std::string_view id) const {
  if (id.empty()) return std::nullopt;
  std::string key = id_index_key(id);
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) {
    report("find", rc);
    return std::nullopt;
  }
  MDB_val k = val(key), v;
  std::optional<Seq> out;
  if (mdb_get(txn, ids_, &k, &v) == 0) out = seq_of(v);
  mdb_txn_abort(txn);
  return out;
}

void IdIndex::forget_through(Seq seq) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  MDB_cursor* cur = nullptr;
  if (rc == 0) rc = mdb_cursor_open(txn, seqs_, &cur);
  std::string limit = be(seq);
  MDB_val k, v;
  while (rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
    if (std::string_view(static_cast<const char*>(k.mv_data), k.mv_size) > limit) break;
    // The id's entry goes only when it still names this seq (not a newer record of the id).
    std::string skey(static_cast<const char*>(k.mv_data), k.mv_size);
    std::string id_key(static_cast<const char*>(v.mv_data), v.mv_size);
    MDB_val ik = val(id_key), idv;
    if (mdb_get(txn, ids_, &ik, &idv) == 0 && be(seq_of(idv)) == skey) mdb_del(txn, ids_, &ik, nullptr);
    rc = mdb_cursor_del(cur, 0);
  }
  if (cur) mdb_cursor_close(cur);
  if (rc == MDB_NOTFOUND) rc = 0;
  if (rc == 0) rc = mdb_txn_commit(txn);
  else if (txn) mdb_txn_abort(txn);
  if (rc != 0) report("forget", rc);
}

}  // namespace herald
