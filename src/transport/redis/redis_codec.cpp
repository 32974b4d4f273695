#include "transport/redis/redis_codec.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "transport/update_codec.hpp"

namespace herald {

/// "<seq>-<n>" -> seq; 0 when malformed.
Seq seq_of_entry_id(std::string_view id) {
  Seq seq = 0;
  auto dash = id.find('-');
  std::from_chars(id.data(), id.data() + (dash == std::string_view::npos ? id.size() : dash), seq);
  return seq;
}

/// One stream entry [id, [field, value, ...]] as a Stored; nullopt when it is not ours.
std::optional<Stored> decode_entry(const RedisValue& entry) {
  if (entry.type != RedisValue::Type::array || entry.elements.size() != 2) return std::nullopt;
  Seq seq = seq_of_entry_id(entry.elements[0].str);
  const auto& fields = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str != "u") continue;
    auto decoded = decode_stored_update(fields[i + 1].str);
    if (!decoded || seq == 0) return std::nullopt;
    return Stored{seq, std::move(decoded->update)};
  }
  return std::nullopt;
}

std::string encode_presence(const SubscriberInfo& s) {
  nlohmann::json j{{"id", s.id}, {"topics", s.topics}, {"payload", s.payload_json}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // a topic may be invalid UTF-8
}

std::optional<SubscriberInfo> decode_presence(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) return std::nullopt;
  SubscriberInfo s;
  s.id = j["id"].get<std::string>();
  if (j.contains("topics") && j["topics"].is_array())
    for (const auto& t : j["topics"])
      if (t.is_string()) s.topics.push_back(t.get<std::string>());
  if (j.contains("payload") && j["payload"].is_string()) s.payload_json = j["payload"].get<std::string>();
  return s;
}

}  // namespace herald
