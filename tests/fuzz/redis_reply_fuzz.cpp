// Fuzzes what Herald reads from Redis: the reply parser fed in two pieces, then each reply
// as a stream entry and as a presence record. A hostile or broken server must not crash it.
#include <cstdint>
#include <cstdlib>

#include "transport/redis/redis_codec.hpp"
#include "transport/redis/redis_reply_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  RedisReplyReader reader;
  std::size_t half = in.size() / 2;
  for (auto part : {in.substr(0, half), in.substr(half)}) {
    if (!reader.feed(part)) return 0;
    for (int i = 0; i < 1000; ++i) {
      RedisValue v;
      auto next = reader.next(v);
      if (next == RedisReplyReader::Next::error) return 0;
      if (next == RedisReplyReader::Next::incomplete) break;
      (void)decode_entry(v);
      if (v.type == RedisValue::Type::array)
        for (const auto& e : v.elements) (void)decode_entry(e);
      if (auto p = decode_presence(v.str)) {
        auto again = decode_presence(encode_presence(*p));
        if (!again || again->id != p->id || again->topics.size() != p->topics.size()) std::abort();
      }
    }
  }
  return 0;
}
