#pragma once
// What the Redis transport stores in Redis, encoded and decoded: stream entries (an update
// under field "u") and presence records (JSON). Pure functions, tested and fuzzed on bytes.
#include <optional>
#include <string>
#include <string_view>

#include "model/update.hpp"
#include "transport/redis/redis_value.hpp"
#include "transport/transport.hpp"

namespace herald {

/// "<seq>-<n>" -> seq; 0 when malformed.
Seq seq_of_entry_id(std::string_view id);

/// One stream entry [id, [field, value, ...]] as a Stored; nullopt when it is not ours.
std::optional<Stored> decode_entry(const RedisValue& entry);

/// A presence record (JSON); invalid UTF-8 in a topic is written as U+FFFD.
std::string encode_presence(const SubscriberInfo& s);
/// The inverse; nullopt when the record is not one.
std::optional<SubscriberInfo> decode_presence(const std::string& text);

}  // namespace herald
