#include "transport/redis/redis_reply_reader.hpp"

#include <hiredis/hiredis.h>

#include <charconv>

namespace herald {
std::optional<std::int64_t> RedisValue::as_integer() const {
  if (type == Type::integer) return integer;
  if (type != Type::string && type != Type::status) return std::nullopt;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(str.data(), str.data() + str.size(), n);
  if (ec != std::errc() || end != str.data() + str.size()) return std::nullopt;
  return n;
}

namespace {

RedisValue convert(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_STRING: v.type = RedisValue::Type::string; v.str.assign(r->str, r->len); break;
    case REDIS_REPLY_STATUS: v.type = RedisValue::Type::status; v.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ERROR: v.type = RedisValue::Type::error; v.str.assign(r->str, r->len); break;
    case REDIS_REPLY_INTEGER: v.type = RedisValue::Type::integer; v.integer = r->integer; break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::array;
      v.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default: v.type = RedisValue::Type::nil; break;
  }
  return v;
}

}  // namespace

struct RedisReplyReader::Impl {
  redisReader* reader = redisReaderCreate();
  ~Impl() {
    if (reader) redisReaderFree(reader);
  }
};

RedisReplyReader::RedisReplyReader() : impl_(std::make_unique<Impl>()) {}
RedisReplyReader::~RedisReplyReader() = default;

bool RedisReplyReader::feed(std::string_view bytes) {
  return impl_->reader && redisReaderFeed(impl_->reader, bytes.data(), bytes.size()) == REDIS_OK;
}

RedisReplyReader::Next RedisReplyReader::next(RedisValue& out) {
  if (!impl_->reader) return Next::error;
  void* raw = nullptr;
  if (redisReaderGetReply(impl_->reader, &raw) != REDIS_OK) return Next::error;
  if (!raw) return Next::incomplete;
  auto* reply = static_cast<redisReply*>(raw);
  out = convert(reply);
  freeReplyObject(reply);
  return Next::reply;
}

}  // namespace herald
