#pragma once
// Parses Redis replies (RESP2) out of the bytes a connection reads, with hiredis's reader,
// into RedisValue trees. Separate from the connection so it can be tested and fuzzed on
// bytes alone.
#include <memory>
#include <string_view>

#include "transport/redis/redis_value.hpp"

namespace herald {

/// Not thread-safe; one per connection. After an error the reader is unusable (the stream
/// is out of step) and the connection must close.
class RedisReplyReader {
 public:
  RedisReplyReader();
  ~RedisReplyReader();
  RedisReplyReader(const RedisReplyReader&) = delete;
  RedisReplyReader& operator=(const RedisReplyReader&) = delete;

  /// Appends bytes read from the connection. False when the reader fails (out of memory).
  bool feed(std::string_view bytes);

  enum class Next { reply, incomplete, error };
  /// The next complete reply into `out` (reply), none yet (incomplete), or a protocol error.
  Next next(RedisValue& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald
