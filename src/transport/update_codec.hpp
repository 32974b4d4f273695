#pragma once
// The stored form of an update in a transport log (LMDB record, Redis stream entry): a
// small length-prefixed binary record (little-endian), with the time it was stored (for
// max_age retention).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/update.hpp"

namespace herald {

std::string encode_stored_update(const Update& update, std::int64_t stored_at_ms);

struct DecodedUpdate {
  UpdatePtr update;
  std::int64_t stored_at_ms = 0;
};
/// nullopt when the record is corrupt (never trusted blindly: a bad record is skipped, not a crash).
std::optional<DecodedUpdate> decode_stored_update(std::string_view record);

/// The key of an event id in the id index: the id itself, or a SHA-256 digest for ids longer
/// than LMDB's key limit allows.
std::string id_index_key(std::string_view id);

}  // namespace herald
