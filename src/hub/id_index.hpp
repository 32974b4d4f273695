#pragma once
// The id -> seq index the hub keeps for a log that cannot resolve event ids itself (a Kafka
// or Pulsar topic has no secondary index). Each node keeps its own, in an embedded LMDB store,
// from the records it consumes: a lookup is one B-tree search (O(log n)), and the store is
// durable, so a restart catches up from where it stopped rather than from the log's start.
#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "model/update.hpp"

struct MDB_env;

namespace herald {

class IdIndex {
 public:
  /// Opens (creating) the index in directory `path`. Throws ConfigError naming the path.
  explicit IdIndex(const std::string& path);
  ~IdIndex();
  IdIndex(const IdIndex&) = delete;
  IdIndex& operator=(const IdIndex&) = delete;

  /// Records that `id` names `seq` (the newest seq wins: recording an older seq for an id
  /// does not replace a newer one, so catch-up and live records may interleave). When
  /// `advance` is set, the index also counts everything up to `seq` as indexed. Any thread.
  /// Returns false when the store failed (logged, rate-limited).
  bool record(std::string_view id, Seq seq, bool advance);
  /// Everything up to `seq` is indexed (after a catch-up). Any thread.
  void advance_to(Seq seq);
  /// The seq of the newest record with `id`; nullopt when unknown. Any thread.
  std::optional<Seq> find(std::string_view id) const;
  /// The last seq up to which every record was indexed (0 for a new index).
  Seq indexed_through() const { return through_.load(); }
  /// Drops the entries of seqs at or below `seq` (retention removed their records). Any thread.
  void forget_through(Seq seq);

 private:
  MDB_env* env_ = nullptr;
  unsigned ids_ = 0, seqs_ = 0, meta_ = 0;
  std::atomic<Seq> through_{0};
};

}  // namespace herald
