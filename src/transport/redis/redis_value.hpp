#pragma once
// A Redis reply, copied out of hiredis's reply tree (which is freed at once).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herald {

struct RedisValue {
  enum class Type { nil, integer, string, status, error, array };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string str;  ///< string, status and error replies
  std::vector<RedisValue> elements;

  bool is_error() const { return type == Type::error; }
  bool is_nil() const { return type == Type::nil; }
  /// An integer reply, or a string reply holding an integer.
  std::optional<std::int64_t> as_integer() const;
};

}  // namespace herald
