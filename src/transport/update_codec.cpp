#include "transport/update_codec.hpp"

#include <cstring>
#include <memory>

#include <openssl/sha.h>

namespace herald {
namespace {
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kMaxPlainIdKey = 400;  // LMDB's default key limit is 511 bytes

template <class T>
void put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}
void put_string(std::string& out, std::string_view s) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

struct Reader {
  std::string_view in;
  template <class T>
  bool get(T& v) {
    if (in.size() < sizeof(T)) return false;
    std::memcpy(&v, in.data(), sizeof(T));
    in.remove_prefix(sizeof(T));
    return true;
  }
  bool get_string(std::string& s) {
    std::uint32_t n = 0;
    if (!get(n) || in.size() < n) return false;
    s.assign(in.data(), n);
    in.remove_prefix(n);
    return true;
  }
};
}  // namespace

std::string encode_stored_update(const Update& u, std::int64_t stored_at_ms) {
  std::string out;
  out.reserve(32 + u.id.size() + u.type.size() + u.data.size() + u.topics.size() * 64);
  put<std::uint8_t>(out, kVersion);
  put<std::int64_t>(out, stored_at_ms);
  // Flags: bit 0 private, bit 1 subscription event, bit 2 control record (older records only
  // ever hold bit 0).
  put<std::uint8_t>(out, static_cast<std::uint8_t>((u.is_private ? 1 : 0) | (u.subscription_event ? 2 : 0) |
                                                   (u.control ? 4 : 0)));
  put<std::uint64_t>(out, u.retry);
  put_string(out, u.id);
  put_string(out, u.type);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(u.topics.size()));
  for (const auto& t : u.topics) put_string(out, t);
  put_string(out, u.data);
  return out;
}

std::optional<DecodedUpdate> decode_stored_update(std::string_view record) {
  Reader r{record};
  std::uint8_t version = 0, is_private = 0;
  std::uint32_t topics = 0;
  auto u = std::make_shared<Update>();
  DecodedUpdate out;
  if (!r.get(version) || version != kVersion || !r.get(out.stored_at_ms) || !r.get(is_private) || !r.get(u->retry) ||
      !r.get_string(u->id) || !r.get_string(u->type) || !r.get(topics) || topics > r.in.size() / 4)
    return std::nullopt;
  u->is_private = (is_private & 1) != 0;
  u->subscription_event = (is_private & 2) != 0;
  u->control = (is_private & 4) != 0;
  u->topics.resize(topics);
  for (auto& t : u->topics)
    if (!r.get_string(t)) return std::nullopt;
  if (!r.get_string(u->data) || !r.in.empty()) return std::nullopt;
  out.update = std::move(u);
  return out;
}

std::string id_index_key(std::string_view id) {
  if (id.size() <= kMaxPlainIdKey) return std::string(id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  return "\x01sha256:" + std::string(reinterpret_cast<char*>(digest), sizeof digest);
}

}  // namespace herald
